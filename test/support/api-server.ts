/** The real API as api/server.ts builds it (real services + the chain audit reader when a ledger exists), on a free port. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { readAuditFromChain } from '../../api/audit-reader.ts';
import { createRealServices } from '../../api/real-services.ts';
import { resolveEndpoints } from '../../infra/stack/endpoints.ts';
import type { Config } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';

export async function startApi(
  cfg: Config,
  opts: { requireAudit?: boolean } = {},
): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const ep = resolveEndpoints(cfg);
  const audit = await readAuditFromChain(cfg, ep.chain.rpcUrl, createLogger('silent', 'test-api')).catch(() => undefined);
  if (opts.requireAudit && !audit) throw new Error('audit reader unavailable (no ledger.json or no key)');
  const real = await createRealServices(cfg, ep, audit);
  const app = await buildApp({ cfg, services: real.services, heartbeatMs: 1_000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    async close() {
      await app.close();
      await real.close();
      audit?.close();
    },
  };
}
