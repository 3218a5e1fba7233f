/** API entry point: builds the real services, listens, closes gracefully on SIGTERM/SIGINT. */
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';
import { buildApp } from './app.ts';
import { createRealServices } from './real-services.ts';

export async function run(cfg: Config = loadConfig()): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL, 'api');
  const ep = resolveEndpoints(cfg);
  const { readAuditFromChain } = await import('./audit-reader.ts');
  const audit = await readAuditFromChain(cfg, ep.chain.rpcUrl, logger).catch((err: Error) => {
    logger.warn({ err: err.message }, 'ledger unavailable: /v1/alerts/:id/audit will answer 404');
    return undefined;
  });
  const real = await createRealServices(cfg, ep, audit);
  const app = await buildApp({ cfg, services: real.services, logger });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await app.close();
    await real.close();
    audit?.close();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void close().then(() => process.exit(0)));
  await app.listen({ host: cfg.API_HOST, port: cfg.API_PORT });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
