/**
 * A bounded fixed-window counter for the buckets @fastify/rate-limit cannot
 * express (Slack callbacks, counted only after their signature verified).
 * Memory is bounded by `maxKeys`: beyond it the oldest window is forgotten
 * (Map iteration order = insertion order), which can only let a forgotten
 * client through early, never lock one out.
 */
export interface LimitDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfterS: number;
  remaining: number;
}

export class FixedWindowLimiter {
  private readonly windows = new Map<string, { startMs: number; count: number }>();
  constructor(
    readonly max: number,
    readonly windowMs = 60_000,
    readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  hit(key: string): LimitDecision {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.startMs >= this.windowMs) {
      this.windows.delete(key);
      w = { startMs: t, count: 0 };
      this.windows.set(key, w);
      while (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    }
    w.count++;
    const retryAfterS = Math.max(1, Math.ceil((w.startMs + this.windowMs - t) / 1_000));
    return { allowed: w.count <= this.max, retryAfterS, remaining: Math.max(0, this.max - w.count) };
  }

  get size(): number {
    return this.windows.size;
  }
}
