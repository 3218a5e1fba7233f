/**
 * What both workers build the same way: config, logger, Temporal connection,
 * /metrics server, rule and policy files, graceful shutdown.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { register, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { parseAlertRules, type AlertRule } from '../lib/alerts/rules.ts';
import { parseEscalationPolicies, type EscalationPolicies } from '../lib/alerts/policy.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WORKFLOWS_PATH = resolve(REPO_ROOT, 'workflows/index.ts');

export async function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

/** Serves prom-client's default registry on /metrics (port 0 = off). */
export function serveMetrics(port: number, logger: Logger, host = '127.0.0.1'): Server | undefined {
  if (!port) return undefined;
  collectDefaultMetrics();
  const srv = createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': register.contentType });
    res.end(await register.metrics());
  });
  srv.on('error', (err) => logger.warn({ err }, 'metrics server failed; continuing without /metrics'));
  srv.listen(port, host, () => logger.info({ host, port }, 'worker /metrics listening'));
  return srv;
}

export function loadRules(cfg: Config): AlertRule[] {
  const file = cfg.ALERT_RULES_FILE ?? resolve(REPO_ROOT, 'infra/config/alert-rules.example.json');
  return parseAlertRules(JSON.parse(readFileSync(file, 'utf8')));
}

export function loadPolicies(cfg: Config): EscalationPolicies {
  const file = cfg.ESCALATION_POLICY_FILE ?? resolve(REPO_ROOT, 'infra/config/escalation-policy.example.json');
  return parseEscalationPolicies(JSON.parse(readFileSync(file, 'utf8')));
}

/** SIGINT/SIGTERM → `shutdown()` once; a second signal exits at once. */
export function onShutdownSignal(shutdown: () => void): void {
  let signalled = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      if (signalled) process.exit(130);
      signalled = true;
      shutdown();
    });
}

/** Entry-point boilerplate: run when executed directly, exit 0 on a clean stop, 1 with the message on failure. */
export function runMain(metaUrl: string, run: () => Promise<void>): void {
  if (metaUrl !== `file://${process.argv[1]}`) return;
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
