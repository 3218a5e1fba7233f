/**
 * A device's health as segments of one class (the `gpu_health` measurement is
 * a step series: a line on every change, while not healthy, and at least
 * every HEALTH_WRITE_EVERY_S). Pure; bounded by MAX_HEALTH_SEGMENTS (newest kept).
 */
export const MAX_HEALTH_SEGMENTS = 500;

export interface HealthSample {
  time: string;
  class: string;
  score: number;
  reasons: string;
}
export interface HealthSegment {
  from: string;
  to: string;
  class: string;
  /** Worst (highest) score seen in the segment. */
  maxScore: number;
  /** Every distinct reason seen in the segment: the evidence shown on the page. */
  reasons: string[];
}

export function healthSegments(samples: HealthSample[]): HealthSegment[] {
  const out: HealthSegment[] = [];
  for (const s of samples) {
    const last = out[out.length - 1];
    const reasons = s.reasons ? s.reasons.split(',').filter(Boolean) : [];
    if (last && last.class === s.class) {
      last.to = s.time;
      if (s.score > last.maxScore) last.maxScore = s.score;
      for (const r of reasons) if (!last.reasons.includes(r) && last.reasons.length < 20) last.reasons.push(r);
    } else out.push({ from: s.time, to: s.time, class: s.class, maxScore: s.score, reasons: reasons.slice(0, 20) });
  }
  return out.length > MAX_HEALTH_SEGMENTS ? out.slice(out.length - MAX_HEALTH_SEGMENTS) : out;
}

/** Window of `aggregateWindow` so a range comes back in about `points` points; whole seconds, at least 1 s. */
export function downsampleEverySeconds(fromMs: number, toMs: number, points: number): number {
  return Math.max(1, Math.ceil((toMs - fromMs) / 1_000 / Math.max(1, points)));
}
