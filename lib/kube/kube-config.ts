/**
 * Where the Kubernetes credentials come from: a kubeconfig file (its current context, or a
 * named one), or the in-cluster service account the kubelet mounts into every pod. Only bearer
 * tokens are supported (service-account tokens, `token`/`tokenFile` users); client
 * certificates and exec plugins are refused with a clear error instead of half-working.
 *
 * Values come from lib/config.ts (KUBECONFIG, KUBE_CONTEXT, KUBE_IN_CLUSTER,
 * KUBERNETES_SERVICE_HOST/PORT); this module reads only the files they name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeConfigError } from './kube-errors.ts';
import type { KubeCredentials } from './kube-client.ts';

/** The service-account mount of every pod (token, ca.crt, namespace). */
export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Re-read token files this often: projected tokens rotate (the kubelet refreshes them at 80 % of their life). */
export const TOKEN_REREAD_MS = 60_000;

export interface KubeConfigInput {
  /** KUBECONFIG path (first of a `:` list). */
  kubeconfig?: string;
  /** Context to use instead of `current-context`. */
  context?: string;
  /** auto: in-cluster when no kubeconfig and the service account is mounted; on: in-cluster only; off: kubeconfig only. */
  inCluster: 'auto' | 'on' | 'off';
  serviceHost?: string;
  servicePort?: number;
  /** Test hook: where the service account is mounted. */
  inClusterDir?: string;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: {
    name: string;
    cluster: {
      server: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }[];
  users?: {
    name: string;
    user: {
      token?: string;
      tokenFile?: string;
      'client-certificate-data'?: string;
      'client-certificate'?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }[];
}

/** True when kube credentials can be resolved from this input (remediation is possible). */
export function kubeConfigured(input: KubeConfigInput): boolean {
  if (input.inCluster !== 'on' && input.kubeconfig) return true;
  if (input.inCluster === 'off') return false;
  return Boolean(input.serviceHost) && existsSync(`${input.inClusterDir ?? IN_CLUSTER_DIR}/token`);
}

/**
 * A credentials provider for KubeClient: files are re-read at most every TOKEN_REREAD_MS.
 * Throws KubeConfigError at once when the configuration cannot work (so a worker fails at start).
 */
export function kubeCredentialsProvider(input: KubeConfigInput, nowMs: () => number = Date.now): () => KubeCredentials {
  let cached: KubeCredentials | undefined;
  let at = 0;
  const load = (): KubeCredentials =>
    input.inCluster !== 'on' && input.kubeconfig ? fromKubeconfig(input.kubeconfig.split(':')[0]!, input.context) : fromInCluster(input);
  cached = load();
  at = nowMs();
  return () => {
    if (nowMs() - at >= TOKEN_REREAD_MS) {
      try {
        cached = load();
        at = nowMs();
      } catch {
        // Keep the last good credentials: a rotation caught mid-write must not fail a drain.
      }
    }
    return cached!;
  };
}

function read(path: string, what: string, source: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read ${what} ${path}`, source, { cause: err });
  }
}

export function fromInCluster(input: Pick<KubeConfigInput, 'serviceHost' | 'servicePort' | 'inClusterDir'>): KubeCredentials {
  const source = 'in-cluster service account';
  const dir = input.inClusterDir ?? IN_CLUSTER_DIR;
  if (!input.serviceHost) throw new KubeConfigError('KUBERNETES_SERVICE_HOST is not set (not running in a pod?)', source);
  const host = input.serviceHost.includes(':') ? `[${input.serviceHost}]` : input.serviceHost; // IPv6 service IPs
  return {
    server: `https://${host}:${input.servicePort ?? 443}`,
    token: read(`${dir}/token`, 'token', source).trim(),
    caPem: read(`${dir}/ca.crt`, 'CA bundle', source),
    source,
  };
}

export function fromKubeconfig(path: string, contextName?: string): KubeCredentials {
  const text = read(path, 'kubeconfig', `kubeconfig ${path}`);
  let doc: KubeconfigFile;
  try {
    doc = parseYaml(text) as KubeconfigFile;
  } catch (err) {
    throw new KubeConfigError('not valid YAML', `kubeconfig ${path}`, { cause: err });
  }
  const name = contextName ?? doc?.['current-context'];
  const source = `kubeconfig ${path} context ${name ?? '?'}`;
  if (!name) throw new KubeConfigError('no current-context (set KUBE_CONTEXT)', source);
  const ctx = doc.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new KubeConfigError(`context "${name}" not found`, source);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new KubeConfigError(`cluster "${ctx.cluster}" not found or has no server`, source);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user;
  if (!user) throw new KubeConfigError(`user "${ctx.user}" not found`, source);
  // Relative paths in a kubeconfig are relative to the file itself (kubectl's rule).
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p));
  let token = user.token;
  if (!token && user.tokenFile) token = read(rel(user.tokenFile), 'tokenFile', source).trim();
  if (!token) {
    const kind = user.exec
      ? 'exec plugins'
      : user['auth-provider']
        ? 'auth providers'
        : user['client-certificate-data'] || user['client-certificate']
          ? 'client certificates'
          : 'no credentials';
    throw new KubeConfigError(`user "${ctx.user}" has no bearer token (${kind} are not supported: use a service-account token)`, source);
  }
  if (cluster['insecure-skip-tls-verify']) throw new KubeConfigError('insecure-skip-tls-verify is refused: give the cluster CA', source);
  let caPem: string | undefined;
  if (cluster['certificate-authority-data']) caPem = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  else if (cluster['certificate-authority']) caPem = read(rel(cluster['certificate-authority']), 'certificate-authority', source);
  return { server: cluster.server.replace(/\/+$/, ''), token, caPem, source };
}
