/**
 * A dependency (InfluxDB, Temporal) failed: answered as our own 503 with our
 * own message. Upstream status codes and bodies never reach the client — an
 * InfluxDB HttpError carries its raw JSON body (org names, token problems,
 * Flux text) and its 4xx status would otherwise pass through as ours.
 */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';

export const UPSTREAMS = { influxdb: 'the time-series store (InfluxDB)', temporal: 'the workflow service (Temporal)' } as const;
export type Upstream = keyof typeof UPSTREAMS;

export class UpstreamUnavailableError extends Error {
  override name = 'UpstreamUnavailableError';
  readonly code = 'upstream_unavailable';
  constructor(
    readonly upstream: Upstream,
    options?: { cause?: unknown },
  ) {
    super(`${UPSTREAMS[upstream]} is unavailable; retry later`, options);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** The upstream this error came from, when it is a dependency failure (not a bug of ours). */
export function upstreamOf(err: unknown): Upstream | undefined {
  if (err instanceof UpstreamUnavailableError) return err.upstream;
  if (err instanceof HttpError || err instanceof RequestTimedOutError) return 'influxdb';
  if (err instanceof ServiceError || isGrpcServiceError(err)) return 'temporal';
  const code = (err as { code?: unknown } | null)?.code ?? (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'influxdb';
  return undefined;
}

/** Wraps each method of a service: dependency failures become UpstreamUnavailableError(upstream). */
export function guardUpstream<T extends object>(upstream: Upstream, service: T): T {
  return new Proxy(service, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          if (upstreamOf(err) !== undefined) throw new UpstreamUnavailableError(upstream, { cause: err });
          throw err;
        }
      };
    },
  });
}
