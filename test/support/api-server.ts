/** The real API (real services over a test stack) listening on a free port. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createRealServices } from '../../api/real-services.ts';
import { resolveEndpoints } from '../../infra/stack/endpoints.ts';
import type { Config } from '../../lib/config.ts';

export async function startApi(cfg: Config): Promise<{ url: string; app: FastifyInstance; close(): Promise<void> }> {
  const real = await createRealServices(cfg, resolveEndpoints(cfg));
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
    },
  };
}
