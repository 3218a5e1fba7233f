/**
 * The points one chart shows: history (downsampled by the API) followed by
 * live points from the stream, as uPlot's columnar arrays (x in seconds).
 * Bounded: beyond MAX_CHART_POINTS the oldest are dropped. Pure.
 */
export const MAX_CHART_POINTS = 5_000;

export class SeriesBuffer {
  private xs: number[] = [];
  private ys: (number | null)[] = [];
  constructor(private readonly max = MAX_CHART_POINTS) {}

  /** Replace everything with a history answer (time ISO, value). */
  setHistory(points: { time: string; value: number }[]): void {
    this.xs = [];
    this.ys = [];
    for (const p of points) this.push(Date.parse(p.time) / 1000, p.value);
  }

  /** Append a live point; out-of-order or duplicate times (a resumed stream) are ignored. */
  push(tSeconds: number, value: number): boolean {
    const last = this.xs[this.xs.length - 1];
    if (last !== undefined && tSeconds <= last) return false;
    this.xs.push(tSeconds);
    this.ys.push(Number.isFinite(value) ? value : null);
    if (this.xs.length > this.max) {
      const drop = this.xs.length - this.max;
      this.xs.splice(0, drop);
      this.ys.splice(0, drop);
    }
    return true;
  }

  get length(): number {
    return this.xs.length;
  }

  last(): number | null | undefined {
    return this.ys[this.ys.length - 1];
  }

  data(): [number[], (number | null)[]] {
    return [this.xs, this.ys];
  }
}

/** Nanosecond timestamp string (lib/point.ts `ts`) → seconds. */
export function nsToSeconds(ts: string): number {
  return Number(BigInt(ts) / 1_000_000n) / 1000;
}
