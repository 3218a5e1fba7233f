/**
 * HTTP face of the witness: `POST /add-checkpoint` with `{note, entries}` → 200 and the
 * cosignature line (text/plain), or 409 `{reason, message, current}` when the checkpoint is
 * not a consistent successor (rollback, fork, inconsistent), 403 for an unknown log key,
 * 400 for a malformed request, 413 above the body limit. `GET /healthz`, `GET /key`.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../logger.ts';
import { WITNESS_REFUSAL, WitnessRefusal, type Witness } from './witness.ts';

/** A request carries at most MAX_ENTRIES_PER_REQUEST entries of ~400 bytes. */
export const WITNESS_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export function createWitnessServer(witness: Witness, verifierKey: string, logger: Logger): Server {
  const counts = { cosigned: 0, refused: 0 };
  return createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method === 'GET' && req.url === '/healthz') return send(200, JSON.stringify({ ok: true, ...counts }));
    if (req.method === 'GET' && req.url === '/key') return send(200, `${verifierKey}\n`, 'text/plain');
    if (req.method !== 'POST' || req.url !== '/add-checkpoint') return send(404, JSON.stringify({ error: 'not_found' }));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > WITNESS_BODY_LIMIT_BYTES) {
        send(413, JSON.stringify({ reason: WITNESS_REFUSAL.badRequest, message: `body above ${WITNESS_BODY_LIMIT_BYTES} bytes` }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Parameters<Witness['addCheckpoint']>[0];
          const line = await witness.addCheckpoint(body);
          counts.cosigned++;
          send(200, line, 'text/plain; charset=utf-8');
        } catch (err) {
          counts.refused++;
          if (err instanceof WitnessRefusal) {
            logger.warn({ reason: err.reason, err: err.message }, 'checkpoint refused');
            const status = err.reason === WITNESS_REFUSAL.unknownLog ? 403 : err.reason === WITNESS_REFUSAL.badRequest ? 400 : 409;
            return send(status, JSON.stringify({ reason: err.reason, message: err.message, current: err.current ?? null }));
          }
          if (err instanceof SyntaxError) return send(400, JSON.stringify({ reason: WITNESS_REFUSAL.badRequest, message: `invalid JSON: ${err.message}` }));
          logger.error({ err: (err as Error).message }, 'witness failed');
          send(500, JSON.stringify({ reason: 'internal', message: 'witness error' }));
        }
      })();
    });
  });
}
