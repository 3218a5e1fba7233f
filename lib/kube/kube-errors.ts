/**
 * Errors of the Kubernetes client, classified once so callers branch on `code`, never on text.
 *
 * Transient (retry with backoff): connection refused/reset, timeouts, 5xx, 429 (API priority
 * and fairness, or an Eviction a PodDisruptionBudget blocks right now), 409 Conflict (a
 * resourceVersion race: re-read and re-apply). Permanent: 400/422 (a bad patch), 401/403 (the
 * token or RBAC is wrong: retrying will not fix it), 404 (no such node), bad kubeconfig.
 */

/** `code`s of KubeApiError. */
export const KUBE_ERROR = {
  badRequest: 'KubeBadRequest',
  unauthorized: 'KubeUnauthorized',
  forbidden: 'KubeForbidden',
  notFound: 'KubeNotFound',
  conflict: 'KubeConflict',
  tooManyRequests: 'KubeTooManyRequests',
  unavailable: 'KubeUnavailable',
} as const;
export type KubeErrorCode = (typeof KUBE_ERROR)[keyof typeof KUBE_ERROR];

/** A Kubernetes `Status` object, as the API server answers errors. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
}

/** Classify an HTTP status (0 = no answer: network error or timeout). */
export function kubeErrorCode(status: number): KubeErrorCode {
  if (status === 400 || status === 422 || status === 415) return KUBE_ERROR.badRequest;
  if (status === 401) return KUBE_ERROR.unauthorized;
  if (status === 403) return KUBE_ERROR.forbidden;
  if (status === 404) return KUBE_ERROR.notFound;
  if (status === 409) return KUBE_ERROR.conflict;
  if (status === 429) return KUBE_ERROR.tooManyRequests;
  return status >= 400 && status < 500 ? KUBE_ERROR.badRequest : KUBE_ERROR.unavailable;
}

const RETRYABLE: ReadonlySet<KubeErrorCode> = new Set([KUBE_ERROR.conflict, KUBE_ERROR.tooManyRequests, KUBE_ERROR.unavailable]);

/** An answer (or the lack of one) from the API server, with what a user needs to act on it. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  readonly code: KubeErrorCode;
  readonly retryable: boolean;
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status; 0 when the server never answered. */
    readonly status: number,
    /** The API's Status object (its `message` and `reason`), when it sent one. */
    readonly apiStatus: KubeStatus | undefined,
    options?: { cause?: unknown; retryAfterS?: number },
  ) {
    const why = apiStatus?.message ?? (options?.cause instanceof Error ? options.cause.message : `HTTP ${status}`);
    super(`${method} ${path}: ${status ? `${status} ` : ''}${why}`, { cause: options?.cause });
    this.code = kubeErrorCode(status);
    this.retryable = RETRYABLE.has(this.code);
    this.retryAfterS = options?.retryAfterS ?? apiStatus?.details?.retryAfterSeconds;
  }
  /** Seconds the server asked us to wait (Retry-After / details.retryAfterSeconds). */
  readonly retryAfterS: number | undefined;
}

/** The kubeconfig or in-cluster credentials cannot be used (permanent). */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
  constructor(
    message: string,
    /** The file (or env) the problem is in. */
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${message}`, options);
  }
}
