/**
 * A real Kubernetes API server for tests: etcd 3.6 + kube-apiserver 1.34 on
 * free loopback ports, data and keys in a temp dir, serving ~2 s after start.
 * Built from the Go module proxy by infra/scripts/build-kube.sh (cached).
 *
 * What it is, and is not: the full API with RBAC authorization, an admin
 * bearer token (group system:masters, from a token-auth file) and
 * service-account signing keys, so TokenRequest tokens authenticate and RBAC
 * decides what they may do. There is no kubelet, scheduler or
 * controller-manager, so objects stay exactly as written:
 * - Nodes and Pods are created through the API; a Pod bound to a node
 *   (`spec.nodeName`) that is deleted or evicted keeps a `deletionTimestamp`
 *   until someone deletes it with `gracePeriodSeconds: 0` (the kubelet's job);
 * - a PodDisruptionBudget's `status` (disruptionsAllowed, observedGeneration)
 *   is never computed — the Eviction API answers 429 until a test writes it
 *   through the `status` subresource, as the disruption controller would;
 * - no controller creates the `default` ServiceAccount of a namespace, so the
 *   ServiceAccount admission plugin (which would refuse every Pod without it)
 *   is disabled; create ServiceAccounts yourself when a test needs one.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, cacheDir, type BinarySource } from './binaries.ts';
import { installKube } from './installers.ts';
import { freePort, httpOk, managed, spawnServer, waitUntilReady, type ManagedServer } from './process.ts';

export interface KubeServer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Admin bearer token (user `admin`, group `system:masters`). */
  token: string;
  /** The apiserver's serving certificate and the CA that signed it (PEM), for TLS verification. */
  caPem: string;
  /** A kubeconfig file pointing at this server with the admin token (what `KUBECONFIG` names). */
  kubeconfigPath: string;
  /** Temp dir holding etcd data, keys, certs, logs and the kubeconfig. */
  dir: string;
  /** Stops kube-apiserver then etcd and waits for both to exit; removes `dir` when startKube created it. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKubeOptions {
  /** Where data, keys, certs and logs go (kept on stop). Default: a new temp dir, removed on stop. */
  dir?: string;
  /** Explicit binaries (config KUBE_APISERVER_BIN / ETCD_BIN); default: the build cache. */
  apiserverBin?: string;
  etcdBin?: string;
  /** Binary cache (config TELEMETRY_CACHE_DIR); default ~/.cache/telemetry-stack. */
  cache?: string;
  /** Build missing binaries with infra/scripts/build-kube.sh (~7 min cold). Default true. */
  install?: boolean;
  onProgress?: (msg: string) => void;
}

/** Service range the apiserver allocates ClusterIPs from; an allocation range only, no traffic goes there. */
const SERVICE_CIDR = '10.0.0.0/24';
/** The issuer in-cluster tokens carry; also the default audience TokenRequest tokens get. */
const SA_ISSUER = 'https://kubernetes.default.svc';
const ETCD_READY_MS = 30_000;
const APISERVER_READY_MS = 60_000;

export class KubeRequestError extends Error {
  override name = 'KubeRequestError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The API's Status object (or raw text) — its `reason` says why. */
    readonly body: unknown,
    options?: { cause?: unknown },
  ) {
    const msg = typeof body === 'object' && body && 'message' in body ? String((body as { message: unknown }).message) : String(body);
    super(`${method} ${path} → ${status}: ${msg}`, options);
  }
}

export interface KubeBins {
  apiserver: { path: string; source: BinarySource };
  etcd: { path: string; source: BinarySource };
}

/** kube-apiserver and etcd: configured path → the build cache → built by build-kube.sh when `install`. */
export async function resolveKubeBins(opts: {
  apiserverBin?: string;
  etcdBin?: string;
  cache: string;
  install: boolean;
  onProgress?: (msg: string) => void;
}): Promise<KubeBins> {
  const hint = 'Build both with `bash infra/scripts/build-kube.sh` (Go module proxy, ~7 min on 2 cores) or set KUBE_APISERVER_BIN / ETCD_BIN.';
  // skipPath: a kube-apiserver or etcd on PATH is usually some other version; these are pinned.
  const find = () => ({
    apiserver: findBinary({
      label: 'kube-apiserver (Kubernetes 1.34)',
      name: 'kube-apiserver',
      configured: opts.apiserverBin,
      envVar: 'KUBE_APISERVER_BIN',
      cached: [join(opts.cache, 'bin', 'kube-apiserver')],
      hint,
      skipPath: true,
    }),
    etcd: findBinary({
      label: 'etcd (3.6)',
      name: 'etcd',
      configured: opts.etcdBin,
      envVar: 'ETCD_BIN',
      cached: [join(opts.cache, 'bin', 'etcd')],
      hint,
      skipPath: true,
    }),
  });
  try {
    return find();
  } catch (err) {
    if (!opts.install || (opts.apiserverBin && opts.etcdBin)) throw err;
    await installKube(opts.cache, opts.onProgress);
    const found = find();
    return { apiserver: { ...found.apiserver, source: 'installed' }, etcd: { ...found.etcd, source: 'installed' } };
  }
}

/** Starts etcd + kube-apiserver on free loopback ports and resolves once /readyz answers ok over verified TLS. */
export async function startKube(opts: StartKubeOptions = {}): Promise<KubeServer> {
  const cache = opts.cache ?? cacheDir();
  const bins = await resolveKubeBins({
    apiserverBin: opts.apiserverBin,
    etcdBin: opts.etcdBin,
    cache,
    install: opts.install ?? true,
    onProgress: opts.onProgress,
  });
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'telemetry-kube-'));
  mkdirSync(dir, { recursive: true });
  const servers: ManagedServer[] = [];
  const stopAll = async () => {
    // Reverse order: the apiserver first, so it never logs a storm of etcd errors while stopping.
    for (const s of [...servers].reverse()) await s.stop();
    servers.length = 0;
  };
  // A test that forgets stop() or throws past it must not leave servers behind.
  const killOnExit = () => {
    for (const s of servers) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', killOnExit);
  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const etcd = spawnServer({
      name: 'etcd',
      bin: bins.etcd.path,
      args: [
        '--name', 'default',
        '--data-dir', join(dir, 'etcd'),
        '--listen-client-urls', etcdUrl,
        '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `default=${peerUrl}`,
        // Throw-away test data: skipping fsync keeps etcd from waiting on a disk shared by parallel test runs.
        '--unsafe-no-fsync',
        '--log-level', 'warn',
      ],
      logFile: etcdLog,
    });
    servers.push(managed('etcd', etcd));
    await waitUntilReady('etcd', () => httpOk(`${etcdUrl}/health`), { timeoutMs: ETCD_READY_MS, child: etcd, logFile: etcdLog });

    const token = randomBytes(24).toString('hex');
    // token,user,uid,"groups": system:masters passes every RBAC check (the cluster-admin binding).
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.key'), sa.privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), sa.publicKey);
    const certDir = join(dir, 'certs');
    const apiLog = join(dir, 'kube-apiserver.log');
    const apiserver = spawnServer({
      name: 'kube-apiserver',
      bin: bins.apiserver.path,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        // Without it the apiserver advertises the host's default-route address; loopback only here.
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // No --tls-cert-file: the apiserver writes a self-signed CA + serving cert (SAN 127.0.0.1) here.
        `--cert-dir=${certDir}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=${SA_ISSUER}`,
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--allow-privileged=true',
        // See the header: no controller creates `default` ServiceAccounts.
        '--disable-admission-plugins=ServiceAccount',
        // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation refuses.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ],
      logFile: apiLog,
    });
    servers.push(managed('kube-apiserver', apiserver));
    const url = `https://127.0.0.1:${apiPort}`;
    const certFile = join(certDir, 'apiserver.crt');
    let caPem = '';
    // Probing with the CA (not with verification off) also proves caPem is what clients need.
    await waitUntilReady(
      'kube-apiserver',
      async () => {
        if (!caPem) {
          if (!existsSync(certFile)) return false;
          caPem = readFileSync(certFile, 'utf8');
        }
        const r = await kubeRequest({ url, token, caPem }, 'GET', '/readyz', { raw: true });
        return r.status === 200;
      },
      { timeoutMs: APISERVER_READY_MS, child: apiserver, logFile: apiLog, intervalMs: 100 },
    );
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(url, caPem, token), { mode: 0o600 });
    let stopping: Promise<void> | undefined;
    return {
      url,
      token,
      caPem,
      kubeconfigPath,
      dir,
      stop: () => {
        stopping ??= (async () => {
          await stopAll();
          process.removeListener('exit', killOnExit);
          if (ownDir) rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    process.removeListener('exit', killOnExit);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function kubeconfig(url: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: telemetry-test',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: telemetry-test',
    '  context:',
    '    cluster: telemetry-test',
    '    user: admin',
    'current-context: telemetry-test',
    '',
  ].join('\n');
}

export interface KubeEndpoint {
  url: string;
  token: string;
  caPem: string;
}

export interface KubeResponse {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: unknown;
}

export interface KubeRequestOptions {
  /** JSON-serialised unless a string. */
  body?: unknown;
  /** Default application/json; e.g. application/apply-patch+yaml, application/merge-patch+json. */
  contentType?: string;
  /** Bearer token instead of the endpoint's (e.g. a ServiceAccount's). */
  token?: string;
  /** Resolve with any status instead of throwing KubeRequestError on ≥ 400. */
  raw?: boolean;
  timeoutMs?: number;
}

/**
 * One request to the API server over TLS verified against `caPem`. A test-side
 * helper for the harness and the chart tests (the application's own client is
 * lib/kube). Throws KubeRequestError with the API's Status on ≥ 400 unless `raw`.
 */
export function kubeRequest(kube: KubeEndpoint, method: string, path: string, opts: KubeRequestOptions = {}): Promise<KubeResponse> {
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const target = new URL(path, kube.url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        ca: kube.caPem,
        headers: {
          authorization: `Bearer ${opts.token ?? kube.token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              body = JSON.parse(text);
            } catch {
              /* keep the text */
            }
          }
          const status = res.statusCode ?? 0;
          if (status >= 400 && !opts.raw) reject(new KubeRequestError(method, target.pathname + target.search, status, body));
          else resolve({ status, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A bearer token for ServiceAccount `namespace/name` through the TokenRequest
 * API (what the kubelet mounts into a pod). The ServiceAccount must exist.
 */
export async function serviceAccountToken(
  kube: KubeEndpoint,
  namespace: string,
  name: string,
  opts: { expirationSeconds?: number; audiences?: string[] } = {},
): Promise<string> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
  const r = await kubeRequest(kube, 'POST', path, {
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      // The API's minimum is 600 s.
      spec: { expirationSeconds: opts.expirationSeconds ?? 3_600, ...(opts.audiences ? { audiences: opts.audiences } : {}) },
    },
  });
  const token = (r.body as { status?: { token?: string } }).status?.token;
  if (!token) throw new KubeRequestError('POST', path, r.status, `TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}
