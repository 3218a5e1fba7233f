/**
 * Wire format of one JetStream message: a batch of points of one partition.
 * This module is the one owner of both versions; PartitionBatcher's exact size
 * accounting uses the constants and entry builders exported here.
 *
 * **v2 (written since the throughput work)**, binary, little-endian:
 *
 *     "TSB" 0x02 | u32 header bytes | header JSON | u32 points | rows … | line protocol
 *
 * - header JSON: `{"origin":…,"devices":[[id,{tags}],…],"fields":[names],"shapes":[[field index,…],…]}`
 *   — tags once per device, each field name once, and each distinct field *set*
 *   ("shape", usually one per file) once.
 * - row per point: `u32 device | f64 seconds | u32 ns within the second | u32 shape | u32 line bytes | f64 × fields of the shape`.
 *   A non-finite value is absent (line protocol cannot store it either).
 * - then the point's InfluxDB line (measurement `gpu`, exactly `toLine(point)`),
 *   each followed by `\n`, in point order; a point with no field has none.
 *
 * Why carry the line protocol: the collector is one event loop per process and
 * was spending most of its time parsing JSON, rebuilding lines and joining
 * strings; the streamer already holds every value and has a core of its own.
 * Now the collector copies each message's lines into the write body as bytes
 * (adjacent lines merge into one copy) and reads the numbers it scores straight
 * from the rows. The decoder still checks that every line belongs to its point:
 * one line, terminated, starting with the series key of the point's device and
 * ending with its timestamp — so a line can never land on another series or
 * instant than the values the health model and the rules saw.
 *
 * **v1** (JSON `{"v":1,origin,devices,points:[[device,ts,fields]]}`) is still
 * decoded: batches already in a stream or in the DLQ when the collector is
 * upgraded, and hand-written test messages.
 */
import type { Point } from '../point.ts';
import { appendLine, LineArena, seriesKey, MEASUREMENT } from '../influx/line-protocol.ts';

export const BATCH_VERSION = 2;
export const BATCH_VERSION_V1 = 1;

/** v1's JSON shape; decodeBatch checks it by hand (a schema library cost ≈ 3× more per point). */
export interface EncodedBatchV1 {
  v: typeof BATCH_VERSION_V1;
  /** Where the batch came from (file digest + chunk, or HTTP client batch id). */
  origin: string;
  /** Tags once per device. */
  devices: Record<string, Record<string, string>>;
  /** [device, ts (ns decimal string within int64), fields] */
  points: [string, string, Record<string, number>][];
}

export class BatchDecodeError extends Error {
  override name = 'BatchDecodeError';
}

/** Sizes of the v2 layout (PartitionBatcher bounds batches with these, exactly). */
export const WIRE = {
  /** Magic (4) + header length (4) + point count (4). */
  fixedBytes: 12,
  /** device u32 + seconds f64 + ns u32 + shape u32 + line bytes u32. */
  rowBytes: 24,
  valueBytes: 8,
  /** `{"origin":` … `,"devices":[` … `],"fields":[` … `],"shapes":[` … `]}` without the variable parts. */
  headerEnvelopeBytes: Buffer.byteLength('{"origin":,"devices":[],"fields":[],"shapes":[]}'),
} as const;

const MAGIC = [0x54, 0x53, 0x42, BATCH_VERSION] as const; // "TSB" 2
const MAX_SECONDS = 9_223_372_036; // int64 ns range
const MAX_NS_AT_MAX_SECONDS = 854_775_807;

/** `[id,{tags}]`: a device's entry in the header. */
export const deviceEntryJson = (device: string, tags: Record<string, string>): string => `[${JSON.stringify(device)},${JSON.stringify(tags)}]`;

/** A ns timestamp from seconds and ns within the second, canonical (no leading zeros). */
function joinTs(sec: number, ns: number): string {
  return sec === 0 ? String(ns) : String(sec) + String(1e9 + ns).slice(1);
}
const canonicalTs = (ts: string): boolean => ts.length === 1 || ts.charCodeAt(0) !== 48;

/** Work the batcher already did: every point's line in one buffer (each + `\n`, point order) and each line's length (0 = no line). */
export interface PreEncoded {
  /** Bytes [0, textBytes) of `text` are the lines. */
  text: Buffer;
  textBytes: number;
  lineBytes: number[];
}

/** Appends one point's line (exactly `toLine(point)`) to the arena; its byte length, 0 = no line. */
export function appendPointLine(arena: LineArena, p: Point): number {
  return appendLine(arena, canonicalTs(p.ts) ? p : { ...p, ts: BigInt(p.ts).toString() }, MEASUREMENT);
}

/** What adding one point to a BatchLayout costs, computed by probe() and applied by commit(). */
export interface LayoutProbe {
  /** Bytes the point adds to the encoded message. */
  grow: number;
  device: string;
  /** Header entry of a device new to the batch (or whose tags changed within it), with those tags. */
  deviceEntry?: string;
  tags?: Record<string, string>;
  /** Shape index, or -1 for a new shape (then `keys`/`shapeKey` are set). */
  shape: number;
  keys?: string[];
  shapeKey?: string;
}

/**
 * The exact v2 layout of a growing batch: header tables (devices, field names,
 * shapes in first-appearance order) and the running byte size. encodeBatch
 * builds its header with it and PartitionBatcher bounds batches with it, so the
 * size a batcher counts is by construction the size encodeBatch writes.
 */
export class BatchLayout {
  /** Device id → index of its newest header entry. */
  readonly devIdx = new Map<string, number>();
  readonly devEntries: string[] = [];
  /** The tags of each header entry: a device whose tags change within a batch gets a second entry. */
  private readonly devTags: Record<string, string>[] = [];
  /** Header entry index of each committed point, in order. */
  readonly rowDevice: number[] = [];
  readonly fieldIdx = new Map<string, number>();
  readonly fieldNames: string[] = [];
  readonly shapeIdx = new Map<string, number>();
  readonly shapes: number[][] = [];
  /** Exact encoded size so far, for an origin of `originJsonBytes` (JSON-quoted). */
  bytes: number;
  points = 0;
  private lastKeys: string[] = [];
  private lastShape = -1;

  constructor(originJsonBytes: number) {
    this.bytes = WIRE.fixedBytes + WIRE.headerEnvelopeBytes + originJsonBytes;
  }

  probe(p: Point, lineBytes: number, entryOf: (p: Point) => string = (q) => deviceEntryJson(q.device, q.tags)): LayoutProbe {
    let grow = WIRE.rowBytes + (lineBytes > 0 ? lineBytes + 1 : 0);
    let deviceEntry: string | undefined;
    const di = this.devIdx.get(p.device);
    // A device whose tags change mid-batch (a host rename, a new label) gets an entry per tag set:
    // keyed by id alone, its later lines would not start with the header's series key (poison).
    if (di === undefined || (this.devTags[di] !== p.tags && !sameTags(this.devTags[di]!, p.tags))) {
      deviceEntry = entryOf(p);
      grow += Buffer.byteLength(deviceEntry, 'utf8') + (this.devEntries.length ? 1 : 0);
    }
    // Most points repeat the previous point's field set: compare names in order before building a key.
    const f = p.fields;
    const last = this.lastKeys;
    let same = this.lastShape >= 0;
    let nf = 0;
    for (const k in f) {
      const v = f[k]!;
      if (v - v !== 0) continue;
      if (same && last[nf] !== k) same = false;
      nf++;
    }
    grow += WIRE.valueBytes * nf;
    if (same && nf === last.length) return { grow, device: p.device, deviceEntry, tags: p.tags, shape: this.lastShape };
    const keys: string[] = [];
    for (const k in f) {
      const v = f[k]!;
      if (v - v === 0) keys.push(k);
    }
    const shapeKey = keys.join('\u0000');
    const known = this.shapeIdx.get(shapeKey);
    if (known !== undefined) return { grow, device: p.device, deviceEntry, tags: p.tags, shape: known, keys };
    // A new shape: its entry `[i,j,…]`, and the names it introduces (indexes assigned in key order).
    let nextField = this.fieldNames.length;
    let entry = 1; // "["
    keys.forEach((k, j) => {
      let fi = this.fieldIdx.get(k);
      if (fi === undefined) {
        grow += Buffer.byteLength(JSON.stringify(k), 'utf8') + (nextField ? 1 : 0);
        fi = nextField++;
      }
      entry += String(fi).length + (j ? 1 : 0);
    });
    entry += 1; // "]"
    grow += entry + (this.shapes.length ? 1 : 0);
    return { grow, device: p.device, deviceEntry, tags: p.tags, shape: -1, keys, shapeKey };
  }

  commit(pr: LayoutProbe): number {
    if (pr.deviceEntry !== undefined) {
      this.devIdx.set(pr.device, this.devEntries.length);
      this.devEntries.push(pr.deviceEntry);
      this.devTags.push(pr.tags!);
    }
    this.rowDevice.push(this.devIdx.get(pr.device)!);
    let shape = pr.shape;
    if (shape < 0) {
      shape = this.shapes.length;
      this.shapeIdx.set(pr.shapeKey!, shape);
      this.shapes.push(
        pr.keys!.map((k) => {
          let fi = this.fieldIdx.get(k);
          if (fi === undefined) {
            this.fieldIdx.set(k, (fi = this.fieldNames.length));
            this.fieldNames.push(k);
          }
          return fi;
        }),
      );
    }
    if (pr.keys) this.lastKeys = pr.keys;
    this.lastShape = shape;
    this.bytes += pr.grow;
    this.points++;
    return shape;
  }

  header(origin: string): string {
    return `{"origin":${JSON.stringify(origin)},"devices":[${this.devEntries.join(',')}],"fields":[${this.fieldNames.map((k) => JSON.stringify(k)).join(',')}],"shapes":[${this.shapes.map((s) => `[${s.join(',')}]`).join(',')}]}`;
  }
}

/**
 * Encodes a batch (v2). `pre`: lines the batcher already built (one per point,
 * with byte counts); `layout`: its layout of these points, committed in order.
 */
export function encodeBatch(origin: string, points: readonly Point[], pre?: PreEncoded & { layout: BatchLayout; shapes: Uint32Array }): Uint8Array {
  const n = points.length;
  let layout: BatchLayout;
  let shapes: Uint32Array;
  let text: Buffer;
  let textBytes: number;
  let lineBytes: number[];
  if (pre) {
    ({ layout, shapes, text, textBytes, lineBytes } = pre);
  } else {
    layout = new BatchLayout(Buffer.byteLength(JSON.stringify(origin), 'utf8'));
    shapes = new Uint32Array(n);
    lineBytes = new Array(n);
    const arena = new LineArena(n * 256);
    for (let i = 0; i < n; i++) {
      const lb = appendPointLine(arena, points[i]!);
      lineBytes[i] = lb;
      shapes[i] = layout.commit(layout.probe(points[i]!, lb));
    }
    text = arena.buf;
    textBytes = arena.len;
  }
  const header = layout.header(origin);
  const headerBytes = Buffer.byteLength(header, 'utf8');
  let bodyBytes = 0;
  for (let i = 0; i < n; i++) {
    const keys = layout.shapes[shapes[i]!]!.length;
    bodyBytes += WIRE.rowBytes + WIRE.valueBytes * keys + (lineBytes[i]! > 0 ? lineBytes[i]! + 1 : 0);
  }
  const total = WIRE.fixedBytes + headerBytes + bodyBytes;
  // The layout's count is the contract the batcher bounds batches with: exact for this origin,
  // an upper bound when the batcher reserved room for a longer one.
  if (pre ? total > layout.bytes : total !== layout.bytes) throw new Error(`encodeBatch: ${total} bytes, but the layout counted ${layout.bytes}`);
  const buf = Buffer.allocUnsafe(total);
  buf[0] = MAGIC[0];
  buf[1] = MAGIC[1];
  buf[2] = MAGIC[2];
  buf[3] = MAGIC[3];
  buf.writeUInt32LE(headerBytes, 4);
  buf.write(header, 8, 'utf8');
  let off = 8 + headerBytes;
  buf.writeUInt32LE(n, off);
  off += 4;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    // Seconds and ns within the second, digit by digit (no substrings on this per-point path).
    const ts = p.ts;
    const cut = ts.length - 9;
    let sec = 0;
    for (let c = 0; c < cut; c++) sec = sec * 10 + (ts.charCodeAt(c) - 48);
    let ns = 0;
    for (let c = cut > 0 ? cut : 0; c < ts.length; c++) ns = ns * 10 + (ts.charCodeAt(c) - 48);
    dv.setUint32(off, layout.rowDevice[i]!, true);
    dv.setFloat64(off + 4, sec, true);
    dv.setUint32(off + 12, ns, true);
    dv.setUint32(off + 16, shapes[i]!, true);
    dv.setUint32(off + 20, lineBytes[i]!, true);
    off += WIRE.rowBytes;
    const f = p.fields;
    for (const k in f) {
      const v = f[k]!;
      if (v - v !== 0) continue;
      dv.setFloat64(off, v, true);
      off += 8;
    }
  }
  // The lines are bytes already (LineArena): one copy.
  off += text.copy(buf, off, 0, textBytes);
  if (off !== buf.length) throw new Error(`encodeBatch: wrote ${off} of ${buf.length} bytes (a line's byte count is wrong)`);
  return buf;
}

/** A decoded batch. `lines` (v2): each point's InfluxDB line as bytes without its `\n` (undefined: no fields). */
export interface DecodedBatch {
  origin: string;
  points: Point[];
  lines?: (Uint8Array | undefined)[];
}

const fail = (path: string, message: string): never => {
  throw new BatchDecodeError(`invalid batch at ${path || '(root)'}: ${message}`);
};

/**
 * Decodes and validates a batch; throws BatchDecodeError naming what is wrong
 * (poison). Hand-written checks: this runs for every point the collector stores.
 */
export function decodeBatch(data: Uint8Array): DecodedBatch {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length >= 4 && buf[0] === MAGIC[0] && buf[1] === MAGIC[1] && buf[2] === MAGIC[2]) {
    if (buf[3] !== BATCH_VERSION) fail('v', `unknown binary batch version ${buf[3]} (this collector reads ${BATCH_VERSION} and JSON v1)`);
    return decodeV2(buf);
  }
  return decodeV1(buf);
}

/**
 * Series-key bytes and one (frozen) tags object per device, reused across
 * messages while the device's tags stay equal. At fleet scale a batch holds
 * about one point per device: sorting and escaping the tags for every header
 * entry cost more than the rest of the decode, and a fresh tags object per
 * message defeated every cache downstream keyed by it (the rule engine's kept
 * tags, the health line's series key, the peer groups). Bounded: restarts
 * past 200,000 devices.
 */
const knownDevices = new Map<string, { tags: Readonly<Record<string, string>>; key: Buffer }>();
function deviceOf(id: string, tags: Record<string, string>): { tags: Record<string, string>; key: Buffer } {
  const hit = knownDevices.get(id);
  if (hit && sameTags(hit.tags, tags)) return hit;
  if (knownDevices.size >= 200_000) knownDevices.clear();
  const e = { tags: Object.freeze(tags), key: Buffer.from(`${seriesKey(MEASUREMENT, id, tags)} `) };
  knownDevices.set(id, e);
  return e;
}
/** Same own tags, same values (the batcher and the decoder reuse per-device work while this holds). */
export function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k] || !Object.hasOwn(b, k)) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

function decodeV2(buf: Buffer): DecodedBatch {
  if (buf.length < WIRE.fixedBytes) fail('', `${buf.length} bytes is shorter than the ${WIRE.fixedBytes}-byte frame`);
  const headerBytes = buf.readUInt32LE(4);
  if (8 + headerBytes + 4 > buf.length) fail('header', `header of ${headerBytes} bytes runs past the end (${buf.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerBytes));
  } catch (err) {
    throw new BatchDecodeError(`invalid batch at header: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isRecord(header)) return fail('header', 'expected an object');
  const origin = header.origin;
  if (typeof origin !== 'string' || origin.length === 0) fail('origin', 'expected a non-empty string');
  const devicesIn = header.devices;
  if (!Array.isArray(devicesIn)) return fail('devices', 'expected an array of [id, tags]');
  const devices: { id: string; tags: Record<string, string>; key: Buffer }[] = [];
  for (let i = 0; i < devicesIn.length; i++) {
    const e: unknown = devicesIn[i];
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || e[0].length === 0) fail(`devices.${i}`, 'expected [non-empty id, tags]');
    const [id, tags] = e as [string, unknown];
    if (!isRecord(tags)) fail(`devices.${i}.1`, 'expected a record of strings');
    for (const k of Object.keys(tags as object)) if (typeof (tags as Record<string, unknown>)[k] !== 'string') fail(`devices.${i}.1.${k}`, 'expected a string');
    // What each of this device's lines must start with (its series key and the space before the
    // fields), and the device's tags object of earlier messages when the tags are equal.
    const known = deviceOf(id, tags as Record<string, string>);
    devices.push({ id, tags: known.tags, key: known.key });
  }
  const fieldsIn = header.fields;
  if (!Array.isArray(fieldsIn) || !fieldsIn.every((k) => typeof k === 'string' && k.length > 0)) return fail('fields', 'expected an array of non-empty names');
  const names = fieldsIn as string[];
  const shapesIn = header.shapes;
  if (!Array.isArray(shapesIn)) return fail('shapes', 'expected an array of field index lists');
  const shapes: { names: string[]; plain: boolean }[] = [];
  for (let s = 0; s < shapesIn.length; s++) {
    const sh: unknown = shapesIn[s];
    if (!Array.isArray(sh) || !sh.every((x) => Number.isInteger(x) && x >= 0 && x < names.length) || new Set(sh).size !== sh.length)
      fail(`shapes.${s}`, `expected distinct field indexes below ${names.length}`);
    const ns = (sh as number[]).map((x) => names[x]!);
    // "__proto__" as a plain assignment would set the prototype instead of a field.
    shapes.push({ names: ns, plain: !ns.includes('__proto__') });
  }

  let off = 8 + headerBytes;
  const n = buf.readUInt32LE(off);
  off += 4;
  const points: Point[] = new Array(n);
  const lineLen = new Uint32Array(n);
  const pointDev = new Uint32Array(n);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < n; i++) {
    if (off + WIRE.rowBytes > buf.length) fail(`points.${i}`, 'row runs past the end of the message');
    const d = dv.getUint32(off, true);
    const sec = dv.getFloat64(off + 4, true);
    const ns = dv.getUint32(off + 12, true);
    const s = dv.getUint32(off + 16, true);
    const lb = dv.getUint32(off + 20, true);
    off += WIRE.rowBytes;
    const dev = devices[d];
    if (dev === undefined) fail(`points.${i}.device`, `index ${d} is not in the ${devices.length} devices of the header`);
    if (!(Number.isInteger(sec) && sec >= 0 && sec <= MAX_SECONDS) || ns >= 1e9 || (sec === MAX_SECONDS && ns > MAX_NS_AT_MAX_SECONDS))
      fail(`points.${i}.ts`, 'expected a ns timestamp within int64');
    const shape = shapes[s];
    if (shape === undefined) fail(`points.${i}.shape`, `index ${s} is not in the ${shapes.length} shapes of the header`);
    const keys = shape!.names;
    if (off + keys.length * 8 > buf.length) fail(`points.${i}.fields`, 'values run past the end of the message');
    const fields: Record<string, number> = {};
    for (let j = 0; j < keys.length; j++) {
      const v = dv.getFloat64(off, true);
      off += 8;
      if (v - v !== 0) fail(`points.${i}.fields.${keys[j]}`, 'expected a finite number');
      if (shape!.plain) fields[keys[j]!] = v;
      else Object.defineProperty(fields, keys[j]!, { value: v, enumerable: true, writable: true, configurable: true });
    }
    if ((lb === 0) !== (keys.length === 0)) fail(`points.${i}.line`, keys.length ? 'a point with fields needs its line' : 'a point with no fields has no line');
    lineLen[i] = lb;
    pointDev[i] = d;
    points[i] = { device: dev!.id, ts: joinTs(sec, ns), tags: dev!.tags, fields };
  }
  const lines: (Uint8Array | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const lb = lineLen[i]!;
    if (lb === 0) continue;
    const end = off + lb;
    if (end >= buf.length || buf[end] !== 0x0a) fail(`points.${i}.line`, 'line runs past the end or is not terminated by a newline');
    if (buf.indexOf(0x0a, off) !== end) fail(`points.${i}.line`, 'line contains a newline');
    const key = devices[pointDev[i]!]!.key;
    if (lb <= key.length || buf.compare(key, 0, key.length, off, off + key.length) !== 0) fail(`points.${i}.line`, "line does not start with the series key of the point's device");
    const ts = points[i]!.ts;
    const tsAt = end - ts.length;
    let ok = buf[tsAt - 1] === 0x20;
    for (let c = 0; ok && c < ts.length; c++) ok = buf[tsAt + c] === ts.charCodeAt(c);
    if (!ok) fail(`points.${i}.line`, "line does not end with the point's timestamp");
    lines[i] = buf.subarray(off, end);
    off = end + 1;
  }
  if (off !== buf.length) fail('', `${buf.length - off} bytes after the last line`);
  return { origin: origin as string, points, lines };
}

const INT64_MAX = '9223372036854775807';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ns timestamp as decimal digits within int64 (InfluxDB's range); no sign, no exponent. */
function validTs(ts: unknown): ts is string {
  if (typeof ts !== 'string' || ts.length === 0 || ts.length > 19) return false;
  for (let i = 0; i < ts.length; i++) {
    const c = ts.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return ts.length < 19 || ts <= INT64_MAX;
}

function decodeV1(buf: Buffer): DecodedBatch {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`batch is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isRecord(raw)) return fail('', 'expected an object');
  if (raw.v !== BATCH_VERSION_V1) fail('v', `expected ${BATCH_VERSION_V1} (JSON) or a binary v${BATCH_VERSION} batch`);
  const origin = raw.origin;
  if (typeof origin !== 'string' || origin.length === 0) fail('origin', 'expected a non-empty string');
  const devices = raw.devices;
  if (!isRecord(devices)) return fail('devices', 'expected a record');
  // Own keys only: any string (also "__proto__") is a valid device id.
  for (const d of Object.keys(devices)) {
    const tags = devices[d];
    if (!isRecord(tags)) fail(`devices.${d}`, 'expected a record of strings');
    for (const k of Object.keys(tags as Record<string, unknown>)) {
      if (typeof (tags as Record<string, unknown>)[k] !== 'string') fail(`devices.${d}.${k}`, 'expected a string');
    }
  }
  const tuples = raw.points;
  if (!Array.isArray(tuples)) return fail('points', 'expected an array');
  const EMPTY: Record<string, string> = {};
  const points: Point[] = new Array(tuples.length);
  for (let i = 0; i < tuples.length; i++) {
    const t: unknown = tuples[i];
    if (!Array.isArray(t) || t.length !== 3) fail(`points.${i}`, 'expected a [device, ts, fields] tuple');
    const [device, ts, fields] = t as unknown[];
    if (typeof device !== 'string' || device.length === 0) fail(`points.${i}.0`, 'expected a non-empty device id');
    if (!validTs(ts)) fail(`points.${i}.1`, 'expected a ns timestamp (decimal digits within int64)');
    if (!isRecord(fields)) return fail(`points.${i}.2`, 'expected a record of numbers');
    for (const k in fields) {
      const v = fields[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`points.${i}.2.${k}`, 'expected a finite number');
    }
    const tags = Object.hasOwn(devices, device as string) ? (devices[device as string] as Record<string, string>) : EMPTY;
    points[i] = { device: device as string, ts: ts as string, tags, fields: fields as Record<string, number> };
  }
  return { origin: origin as string, points };
}

/** v1 JSON, kept for tests and tools that must produce what older streamers wrote. */
export function encodeBatchV1(origin: string, points: readonly Point[]): Uint8Array {
  const devices: Record<string, Record<string, string>> = {};
  const tuples: [string, string, Record<string, number>][] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (!Object.hasOwn(devices, p.device)) Object.defineProperty(devices, p.device, { value: p.tags, enumerable: true, writable: true, configurable: true });
    tuples[i] = [p.device, p.ts, p.fields];
  }
  return Buffer.from(JSON.stringify({ v: BATCH_VERSION_V1, origin, devices, points: tuples }));
}

/** Encodes a batch cut by PartitionBatcher, reusing the lines and layout it built. */
export function encodePartitionBatch(origin: string, b: { points: Point[]; encoded?: PreEncoded & { layout: BatchLayout; shapes: Uint32Array } }): Uint8Array {
  return encodeBatch(origin, b.points, b.encoded);
}
