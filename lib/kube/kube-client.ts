/**
 * A focused Kubernetes REST client: bearer token + cluster CA over node:https, for the handful
 * of calls remediation needs (nodes, nodes/status, pods, pods/eviction).
 *
 * Why not `@kubernetes/client-node`: it pulls 16 runtime packages (undici 8, ws, openid-client,
 * tar-fs, socks…) for a generated surface of hundreds of APIs, while we send six request
 * shapes; a small client keeps every request visible and unit-testable (`buildKubeRequest`).
 *
 * Credentials are re-read through `credentials()` on every request (the caller caches), because
 * in-cluster service-account tokens are projected and rotated by the kubelet (about hourly).
 */
import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubeApiError, type KubeStatus } from './kube-errors.ts';

/** Where the API server is and how we prove who we are. */
export interface KubeCredentials {
  /** `https://host:port` (no trailing slash). */
  server: string;
  /** Bearer token (service-account or user token). */
  token: string;
  /** PEM bundle of the cluster CA; absent → the system trust store. */
  caPem?: string;
  /** Where these came from, for error messages (`kubeconfig ~/.kube/config context x`, `in-cluster`). */
  source: string;
}

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** API path, e.g. `/api/v1/nodes/n1`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** For PATCH: which patch semantics (default merge). */
  patch?: PatchType;
}

export interface BuiltRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** Pure: the exact HTTP request a KubeRequest becomes (tested without a server). */
export function buildKubeRequest(creds: Pick<KubeCredentials, 'server' | 'token'>, req: KubeRequest): BuiltRequest {
  if (!req.path.startsWith('/')) throw new TypeError(`kube path must start with "/": ${req.path}`);
  const url = new URL(creds.server.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${creds.token}` };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] = req.method === 'PATCH' ? PATCH_CONTENT_TYPE[req.patch ?? 'merge'] : 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return { url, method: req.method, headers, body };
}

/** Path segments are names the API validated (DNS-1123), but never trust input: encode. */
const seg = (s: string): string => encodeURIComponent(s);

export interface KubeClientOptions {
  /** Current credentials (called per request; cache inside). */
  credentials: () => KubeCredentials;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/** Minimal typed views of the objects we touch (the API returns more; we keep what we read). */
export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
}
export interface KubeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}
export interface KubeNodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}
export interface KubeNode {
  metadata: KubeObjectMeta;
  spec?: { unschedulable?: boolean; taints?: KubeTaint[] };
  status?: { conditions?: KubeNodeCondition[] };
}
export interface KubePod {
  metadata: KubeObjectMeta;
  spec?: { nodeName?: string };
  status?: { phase?: string };
}
export interface KubeList<T> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string; remainingItemCount?: number };
}

export class KubeClient {
  private readonly agents = new Map<string, Agent>();
  private readonly timeoutMs: number;
  constructor(private readonly opts: KubeClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** One keep-alive agent per CA bundle (a rotated CA gets a new agent). */
  private agentFor(caPem: string | undefined): Agent {
    const key = caPem ?? '';
    let a = this.agents.get(key);
    if (!a) {
      a = new Agent({ keepAlive: true, maxSockets: 8, ...(caPem ? { ca: caPem } : {}) });
      this.agents.set(key, a);
    }
    return a;
  }

  /** Sends one request; answers ≥ 400 and network failures become KubeApiError. */
  async request<T>(req: KubeRequest): Promise<T> {
    const creds = this.opts.credentials();
    const built = buildKubeRequest(creds, req);
    const isHttps = built.url.protocol === 'https:';
    return await new Promise<T>((resolve, reject) => {
      const send = isHttps ? httpsRequest : httpRequest;
      const r = send(
        built.url,
        {
          method: built.method,
          headers: built.headers,
          timeout: this.timeoutMs,
          ...(isHttps ? { agent: this.agentFor(creds.caPem) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new KubeApiError(req.method, req.path, 0, undefined, { cause: err })));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            if (status >= 200 && status < 300) return resolve(json as T);
            const ra = Number(res.headers['retry-after']);
            reject(
              new KubeApiError(req.method, req.path, status, (json as KubeStatus | undefined) ?? { message: text.slice(0, 500) }, {
                retryAfterS: Number.isFinite(ra) ? ra : undefined,
              }),
            );
          });
        },
      );
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on('error', (err) => reject(new KubeApiError(req.method, req.path, 0, undefined, { cause: err })));
      // Headers and body in one write: split writes meet Nagle + delayed ACK (~40 ms per request).
      r.end(built.body);
    });
  }

  getNode(name: string): Promise<KubeNode> {
    return this.request({ method: 'GET', path: `/api/v1/nodes/${seg(name)}` });
  }

  /** All nodes matching a label selector, following `continue` pages of `pageSize`. */
  async listNodes(opts: { labelSelector?: string; pageSize?: number } = {}): Promise<KubeNode[]> {
    const out: KubeNode[] = [];
    let cont: string | undefined;
    do {
      const page = await this.request<KubeList<KubeNode>>({
        method: 'GET',
        path: '/api/v1/nodes',
        query: { labelSelector: opts.labelSelector, limit: opts.pageSize ?? 500, continue: cont },
      });
      out.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /**
   * Number of nodes without transferring them: a one-item page plus the server's
   * `remainingItemCount` (exact for an unfiltered list read from etcd).
   */
  async countNodes(): Promise<number> {
    const page = await this.request<KubeList<KubeNode>>({
      method: 'GET',
      path: '/api/v1/nodes',
      query: { limit: 1 },
    });
    return page.items.length + (page.metadata?.remainingItemCount ?? 0);
  }

  patchNode(name: string, body: unknown, patch: PatchType = 'merge'): Promise<KubeNode> {
    return this.request({ method: 'PATCH', path: `/api/v1/nodes/${seg(name)}`, body, patch });
  }

  /** The status subresource (conditions live there; a patch of the node itself ignores status). */
  patchNodeStatus(name: string, body: unknown, patch: PatchType = 'strategic'): Promise<KubeNode> {
    return this.request({ method: 'PATCH', path: `/api/v1/nodes/${seg(name)}/status`, body, patch });
  }

  /** Pods bound to a node, in every namespace (field selector `spec.nodeName`). */
  async listPodsOnNode(node: string, pageSize = 500): Promise<KubePod[]> {
    const out: KubePod[] = [];
    let cont: string | undefined;
    do {
      const page = await this.request<KubeList<KubePod>>({
        method: 'GET',
        path: '/api/v1/pods',
        query: { fieldSelector: `spec.nodeName=${node}`, limit: pageSize, continue: cont },
      });
      out.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /**
   * Eviction API (policy/v1): the server checks the pod's PodDisruptionBudgets and answers
   * 201 (evicted: the pod is deleted gracefully), 429 (a budget forbids it now) or 404.
   */
  evictPod(namespace: string, name: string, deleteOptions?: { gracePeriodSeconds?: number }): Promise<unknown> {
    return this.request({
      method: 'POST',
      path: `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, ...(deleteOptions ? { deleteOptions } : {}) },
    });
  }

  /** Plain delete, which bypasses PodDisruptionBudgets: only for a drain explicitly forced. */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<unknown> {
    return this.request({
      method: 'DELETE',
      path: `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}`,
      query: { gracePeriodSeconds },
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
