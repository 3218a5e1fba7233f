/**
 * Per-destination delivery queue: storm-proof paging.
 *
 * Invariant: a page is never dropped. Every submitted page either reaches its
 * destination (alone or as a line of a digest that still notifies its
 * targets) or its submit() rejects, so the calling activity fails and Temporal
 * retries it; the queue refuses new pages (retryably) at `maxQueue` rather than
 * grow without bound.
 *
 * Order and rate: one send in flight per destination, at most `burst` back to
 * back, then `ratePerSec` (token bucket; time spent inside a send does not
 * earn tokens, so arrivals at the service are never closer than 1/rate). Critical pages go first; within a
 * severity, oldest first. When `digestAfter` or more pages of one severity
 * wait, up to `digestMax` of them leave as ONE digest message (warnings only,
 * unless `digestCritical`: a critical page keeps its own interactive message).
 * A send that answers "rate limited" (429 + Retry-After) puts its pages back
 * at the head and pauses the destination for Retry-After: no 429 is dropped.
 */
import type { Severity } from '../../lib/alerts/types.ts';

export interface DeliveryLimits {
  ratePerSec: number;
  burst: number;
  maxQueue: number;
  digestAfter: number;
  digestMax: number;
  /** Also coalesce critical pages (default false: each critical page is delivered alone). */
  digestCritical?: boolean;
}

/** What a digest shows for one page. */
export interface DigestLine {
  alertId: string;
  severity: Severity;
  summary: string;
  device: string;
  rule: string;
  /** Escalation level name for follow-ups. */
  level?: string;
  /** Targets to notify (channel-specific, formatted by the adapter). */
  targets: string[];
}

/** Thrown by a send to say "rate limited: try again after retryAfterMs" (the queue waits; the page stays queued). */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The destination already holds `maxQueue` pages: retry later (the page is not lost, the caller retries). */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(
    readonly destination: string,
    readonly limit: number,
  ) {
    super(`delivery queue for ${destination} is full (${limit} pages waiting)`);
  }
}

export type DeliveryMode = 'single' | 'digest';

export interface Delivered<R> {
  result: R;
  mode: DeliveryMode;
  /** Submit → delivered, ms. */
  waitedMs: number;
}

export interface PageJob<R> {
  severity: Severity;
  line: DigestLine;
  send(): Promise<R>;
  /** Aborted while waiting (activity cancelled / timed out): leave the queue. */
  signal?: AbortSignal;
}

interface Pending<R> {
  job: PageJob<R>;
  seq: number;
  enqueuedAtMs: number;
  resolve(v: Delivered<R>): void;
  reject(err: unknown): void;
}

export interface DeliveryQueueOptions<R> {
  destination: string;
  limits: DeliveryLimits;
  /** Sends one digest for these lines and returns each page's result (same order). Absent: never coalesce. */
  sendDigest?: (lines: DigestLine[]) => Promise<R[]>;
  now?: () => number;
  /** Called after every delivery (metrics). */
  onDelivered?: (d: { mode: DeliveryMode; severity: Severity; waitedMs: number }) => void;
  /** Called on every rate-limit answer (metrics/logs). */
  onRateLimited?: (retryAfterMs: number) => void;
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1 };

export class DeliveryQueue<R> {
  private readonly pending: Pending<R>[] = [];
  private seq = 0;
  private tokens: number;
  private lastRefillMs: number;
  private pausedUntilMs = 0;
  private running = false;
  private readonly now: () => number;
  /** Messages actually sent (singles + digests), for tests and metrics. */
  sends = 0;
  digests = 0;
  rateLimited = 0;

  constructor(private readonly opts: DeliveryQueueOptions<R>) {
    this.now = opts.now ?? Date.now;
    this.tokens = opts.limits.burst;
    this.lastRefillMs = this.now();
  }

  get size(): number {
    return this.pending.length;
  }

  /** True when nothing waits or is being sent (the owner may drop the queue). */
  get idle(): boolean {
    return !this.running && this.pending.length === 0;
  }

  submit(job: PageJob<R>): Promise<Delivered<R>> {
    if (this.pending.length >= this.opts.limits.maxQueue) return Promise.reject(new QueueFullError(this.opts.destination, this.opts.limits.maxQueue));
    return new Promise<Delivered<R>>((resolve, reject) => {
      const p: Pending<R> = { job, seq: this.seq++, enqueuedAtMs: this.now(), resolve, reject };
      this.pending.push(p);
      job.signal?.addEventListener(
        'abort',
        () => {
          const i = this.pending.indexOf(p);
          if (i >= 0) {
            this.pending.splice(i, 1);
            reject(job.signal!.reason ?? new Error('page cancelled while queued'));
          }
        },
        { once: true },
      );
      if (!this.running) void this.drain();
    });
  }

  private refill(): void {
    const t = this.now();
    const { ratePerSec, burst } = this.opts.limits;
    this.tokens = Math.min(burst, this.tokens + ((t - this.lastRefillMs) / 1000) * ratePerSec);
    this.lastRefillMs = t;
  }

  /** ms until a send is allowed (token and pause). */
  private waitMs(): number {
    this.refill();
    const pause = Math.max(0, this.pausedUntilMs - this.now());
    const token = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.opts.limits.ratePerSec) * 1000;
    return Math.max(pause, token);
  }

  /** The next message: the head page alone, or a digest of its severity when enough of them wait. */
  private take(): Pending<R>[] {
    this.pending.sort((a, b) => RANK[a.job.severity] - RANK[b.job.severity] || a.seq - b.seq);
    const head = this.pending[0]!;
    const { digestAfter, digestMax, digestCritical } = this.opts.limits;
    const canDigest = this.opts.sendDigest && (head.job.severity !== 'critical' || digestCritical);
    if (canDigest) {
      const same = this.pending.filter((p) => p.job.severity === head.job.severity);
      if (same.length >= digestAfter) {
        const batch = same.slice(0, digestMax);
        for (const p of batch) this.pending.splice(this.pending.indexOf(p), 1);
        return batch;
      }
    }
    this.pending.shift();
    return [head];
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const wait = this.waitMs();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, Math.ceil(wait)));
          continue; // re-check: pages may have been cancelled, or more urgent ones arrived
        }
        const batch = this.take();
        this.tokens -= 1;
        this.sends++;
        const mode: DeliveryMode = batch.length > 1 ? 'digest' : 'single';
        try {
          let results: R[];
          try {
            results = mode === 'digest' ? await this.opts.sendDigest!(batch.map((p) => p.job.line)) : [await batch[0]!.job.send()];
          } finally {
            // The interval counts from the END of a send: the next request cannot reach the service sooner
            // than 1/rate after this one did, whatever the network jitter (the service counts arrivals).
            this.lastRefillMs = this.now();
          }
          if (mode === 'digest') this.digests++;
          const at = this.now();
          batch.forEach((p, i) => {
            const waitedMs = at - p.enqueuedAtMs;
            this.opts.onDelivered?.({ mode, severity: p.job.severity, waitedMs });
            p.resolve({ result: results[i]!, mode, waitedMs });
          });
        } catch (err) {
          if (err instanceof RateLimitedError) {
            // Honour Retry-After and keep the pages, at their place in line.
            this.sends--;
            this.rateLimited++;
            this.opts.onRateLimited?.(err.retryAfterMs);
            this.pausedUntilMs = this.now() + err.retryAfterMs;
            this.pending.push(...batch);
          } else {
            for (const p of batch) p.reject(err);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** Queues per (channel, destination), created on demand and dropped when idle; bounded in number. */
export class DeliveryQueues<R> {
  private readonly queues = new Map<string, DeliveryQueue<R>>();

  constructor(readonly maxDestinations = 1_000) {}

  get(key: string, create: () => DeliveryQueue<R>): DeliveryQueue<R> {
    let q = this.queues.get(key);
    if (q) return q;
    if (this.queues.size >= this.maxDestinations) {
      for (const [k, v] of this.queues) if (v.idle) this.queues.delete(k);
      if (this.queues.size >= this.maxDestinations) throw new QueueFullError(`${this.maxDestinations} destinations`, this.maxDestinations);
    }
    q = create();
    this.queues.set(key, q);
    return q;
  }

  /** Pages waiting per destination (metrics, tests). */
  depths(): Record<string, number> {
    return Object.fromEntries([...this.queues].map(([k, q]) => [k, q.size]));
  }
}
