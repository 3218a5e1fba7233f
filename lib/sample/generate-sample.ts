/**
 * A seeded generator of `nvidia-smi --query-gpu=… --format=csv` logs shaped
 * like real captures (units in cells, interleaved GPUs, `[N/A]` power limits
 * on some boards), with an optional thermal-runaway episode on one GPU. It
 * produces the bundled sample `npm start` replays and the large files the
 * benchmarks and crash tests ingest. Same seed → byte-identical file.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export const SAMPLE_HEADER =
  'timestamp, name, pci.bus_id, uuid, index, temperature.gpu, power.draw [W], power.limit [W], utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], clocks.sm [MHz], clocks.max.sm [MHz], fan.speed [%], clocks_event_reasons.active';

export interface SampleOptions {
  gpus: number;
  /** Samples per GPU. */
  samples: number;
  /** ms between samples. */
  intervalMs?: number;
  /** Start time, epoch ms (whole seconds recommended). */
  startMs: number;
  seed?: number;
  /** GPU index that overheats, and the sample index where it starts (lasts `faultLength` samples). */
  fault?: { gpu: number; start: number; length: number };
  host?: string;
}

/** mulberry32: tiny, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
export function nvsmiTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function gpuUuid(host: string, index: number): string {
  // Deterministic, UUID-shaped; not a real device.
  let h = 0x811c9dc5;
  for (const c of `${host}/${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const hex = (h.toString(16).padStart(8, '0') + ((h ^ 0xdeadbeef) >>> 0).toString(16).padStart(8, '0')).padEnd(32, '0');
  return `GPU-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${pad(index, 12)}`;
}

/** Yields CSV lines (header first). */
export function* sampleLines(o: SampleOptions): Generator<string> {
  const rnd = prng(o.seed ?? 42);
  const interval = o.intervalMs ?? 1_000;
  const host = o.host ?? 'gpu-node-01';
  yield SAMPLE_HEADER;
  const load = Array.from({ length: o.gpus }, () => 0.3 + rnd() * 0.6);
  for (let s = 0; s < o.samples; s++) {
    const ts = nvsmiTime(o.startMs + s * interval);
    for (let g = 0; g < o.gpus; g++) {
      load[g] = Math.min(1, Math.max(0.05, load[g]! + (rnd() - 0.5) * 0.05));
      const l = load[g]!;
      let temp = 38 + l * 35 + (rnd() - 0.5) * 2;
      let power = 70 + l * 220 + (rnd() - 0.5) * 8;
      let sm = 1980 - (rnd() < 0.02 ? 300 : 0);
      let fan = 30 + l * 40;
      let reasons = l < 0.1 ? 0x1 : 0x0;
      const f = o.fault;
      if (f && g === f.gpu && s >= f.start && s < f.start + f.length) {
        // Thermal runaway: fan stuck, temperature climbs ~1 °C/s, clocks throttle once past 90 °C.
        const k = s - f.start;
        fan = 30;
        temp = Math.min(104, 75 + k * 1.0 + rnd());
        if (temp > 90) {
          sm = Math.max(600, 1980 - (temp - 90) * 90);
          reasons = 0x20 | 0x40; // SW + HW thermal slowdown
          power = Math.min(power, 250);
        }
      }
      yield `${ts}, NVIDIA A100-SXM4-40GB, 00000000:${pad((g + 1) * 16, 2).toUpperCase()}:00.0, ${gpuUuid(host, g)}, ${g}, ${Math.round(temp)}, ${power.toFixed(2)} W, 300.00 W, ${Math.round(l * 100)} %, ${Math.round(l * 60)} %, ${Math.round(2000 + l * 30000)} MiB, 40960 MiB, ${Math.round(sm)} MHz, 1980 MHz, ${Math.round(fan)} %, 0x${reasons.toString(16).padStart(16, '0')}`;
    }
  }
}

/** Writes lines (each + "\n") in 1 MiB chunks, honouring back-pressure; returns how many were written. */
export async function writeLines(path: string, lines: Iterable<string>): Promise<number> {
  const out = createWriteStream(path);
  let n = 0;
  let buf = '';
  for (const line of lines) {
    buf += line + '\n';
    n++;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return n;
}

export async function writeSample(path: string, o: SampleOptions): Promise<number> {
  return (await writeLines(path, sampleLines(o))) - 1; // the header is not a row
}
