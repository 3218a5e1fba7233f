/**
 * Fuzzes the live API from its own OpenAPI document with schemathesis
 * (PyPI): an isolated stack (Temporal, JetStream, InfluxDB on free ports),
 * the real API in this process with an admin key and a Slack signing secret,
 * then `schemathesis run <api>/docs/json` with every check (exceptions, each
 * with its reason, in infra/fuzz/schemathesis.toml) — zero 5xx, every
 * status and body as documented, auth not ignored, no request slower than
 * the bound. Used by `npm test` (bounded) and `telemetry-stack fuzz api`.
 *
 * /v1/stream is left out: an SSE response never ends, which schemathesis
 * can only report as a timeout (the stream has its own tests).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../api/app.ts';
import { createRealServices } from '../../api/real-services.ts';
import { loadConfig } from '../../lib/config.ts';
import { cacheDir } from '../stack/binaries.ts';
import { resolveEndpoints } from '../stack/endpoints.ts';
import { resolveSchemathesis } from '../stack/installers.ts';
import { isolatedProcessEnv, startIsolatedStack } from '../stack/isolated-stack.ts';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(fileURLToPath(import.meta.url), '../../..');

export interface ApiFuzzInput {
  /** Time budget of the schemathesis run, seconds. */
  maxTimeS: number;
  /** Cases per operation and phase (schemathesis --max-examples). */
  maxExamples?: number;
  seed?: number;
  /** Where the JUnit report goes (kept for a failed run). */
  reportDir: string;
  onProgress?: (line: string) => void;
}

export interface ApiFuzzFailure {
  operation: string;
  message: string;
}

export interface ApiFuzzResult {
  passed: boolean;
  /** Test cases schemathesis generated (its summary line). */
  generated: number;
  operations: number;
  failures: ApiFuzzFailure[];
  /** Status codes seen, with counts (from the NDJSON event log). */
  statuses: Record<string, number>;
  exitCode: number;
  durationS: number;
  output: string;
}

export async function runApiFuzz(input: ApiFuzzInput): Promise<ApiFuzzResult> {
  const say = input.onProgress ?? (() => {});
  const key = randomBytes(24).toString('hex');
  const stack = await startIsolatedStack({
    components: ['temporal', 'nats', 'influxdb'],
    tempPrefix: 'telemetry-fuzz-',
    env: {
      API_KEYS: `fuzz-admin=${key}:admin`,
      SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
      // The fuzzer is one client sending thousands of requests: limits are tested elsewhere.
      RATE_LIMIT_PER_MIN: '1000000',
      RATE_LIMIT_ANON_PER_MIN: '1000000',
      RATE_LIMIT_SLACK_PER_MIN: '1000000',
      ACK_ANSWER_TIMEOUT_MS: '1000',
      HEALTH_BACKEND: 'off',
      // No chain: the API reads the ledger only for audits (404 without one); nothing listens here.
      CHAIN_RPC_URL: 'http://127.0.0.1:9',
      // The documented timestamp range (1970 … 2259) must be accepted: the "now + 1 day" default moves with the clock.
      INGEST_MAX_FUTURE_S: '3153600000',
      ONCALL_SCHEDULES_FILE: join(REPO_ROOT, 'infra/config/oncall-schedules.example.json'),
    },
  });
  const t0 = performance.now();
  try {
    const cfg = loadConfig({ ...isolatedProcessEnv(), ...stack.env });
    const real = await createRealServices(cfg, resolveEndpoints(cfg));
    const app = await buildApp({ cfg, services: real.services, logger: false, heartbeatMs: 1_000 });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const bin = await resolveSchemathesis(cacheDir(cfg.TELEMETRY_CACHE_DIR));
      mkdirSync(input.reportDir, { recursive: true });
      const junit = join(input.reportDir, 'junit.xml');
      const ndjson = join(input.reportDir, 'events.ndjson');
      const args = [
        '--no-color',
        '--config-file',
        join(REPO_ROOT, 'infra/fuzz/schemathesis.toml'),
        'run',
        `${url}/docs/json`,
        '--header',
        `X-API-Key: ${key}`,
        '--exclude-path',
        '/v1/stream',
        // Remediation needs a Kubernetes API server (its own tests start one); without one it answers 503 by design.
        '--exclude-path-regex',
        '^/v1/(nodes|remediations)',
        '--max-time',
        String(input.maxTimeS),
        '--max-examples',
        String(input.maxExamples ?? 50),
        '--request-timeout',
        '10',
        '--max-response-time',
        '10',
        // One worker: hypothesis' caches are not thread-safe (a 2-worker run raised an internal KeyError).
        '--workers',
        '1',
        '--report',
        'junit,ndjson',
        '--report-junit-path',
        junit,
        '--report-ndjson-path',
        ndjson,
        '--output-truncate',
        'true',
        ...(input.seed !== undefined ? ['--seed', String(input.seed)] : []),
      ];
      say(
        `schemathesis ${args
          .filter((a) => a !== key)
          .join(' ')
          .replace(key, '***')}`,
      );
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          bin,
          args,
          {
            // Its example database (.schemathesis/) goes beside the report, not into the checkout.
            cwd: input.reportDir,
            maxBuffer: 64 * 1024 * 1024,
            timeout: (input.maxTimeS + 120) * 1_000,
            env: { ...process.env, NO_COLOR: '1' },
          },
          (err, stdout, stderr) => {
            const c = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
            resolve({ code: c, output: `${stdout}${stderr}` });
          },
        );
      });
      const report = existsSync(junit) ? parseJunit(readFileSync(junit, 'utf8')) : { operations: 0, failures: [] };
      const generated = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
      const statuses = existsSync(ndjson) ? statusCounts(readFileSync(ndjson, 'utf8')) : {};
      return {
        passed: code === 0 && report.failures.length === 0,
        generated,
        ...report,
        statuses,
        exitCode: code,
        durationS: Math.round((performance.now() - t0) / 100) / 10,
        output: output.replaceAll(key, '***'),
      };
    } finally {
      await app.close();
      await real.close();
    }
  } finally {
    await stack.stop();
  }
}

/** Operations and failures from schemathesis' JUnit XML (one testcase per operation). */
export function parseJunit(xml: string): { operations: number; failures: ApiFuzzFailure[] } {
  const failures: ApiFuzzFailure[] = [];
  let operations = 0;
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    operations++;
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    const body = m[3] ?? '';
    for (const f of body.matchAll(
      /<(failure|error)\b[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/\1>|<(failure|error)\b[^>]*?message="([^"]*)"[^>]*\/>/g,
    )) {
      failures.push({ operation: unescapeXml(name), message: unescapeXml((f[3] || f[2] || f[5] || '').trim()).slice(0, 2_000) });
    }
  }
  return { operations, failures };
}

/** Status codes of every response recorded in the NDJSON event log. */
export function statusCounts(ndjson: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ndjson.matchAll(/"status_code":\s*(\d{3})/g)) out[m[1]!] = (out[m[1]!] ?? 0) + 1;
  return out;
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
