import { pino, type Logger } from 'pino';

/** Structured JSON logs (pino). Pretty output is left to `pino-pretty` at the terminal. */
export function createLogger(level = 'info', name = 'telemetry-stack'): Logger {
  return pino({ name, level, redact: ['token', '*.token', 'authorization', '*.authorization'] });
}
export type { Logger };
