/**
 * A row's `fields`, written by slot (one per field name a header can write)
 * and materialised once per point.
 *
 * Invariant: toObject() returns the object that writing the same names, in
 * the same sequence, into a fresh `{}` gives — same keys in the same order,
 * same values — and isUnset() answers `fields[name] === undefined` as that
 * object would (a name inherited from Object.prototype is never unset).
 *
 * Why: names written one by one with computed keys turn an object with more
 * than a dozen properties into a hash table (V8 dictionary mode), which cost
 * about half of a 212-column row. A clone of a fast-mode template per key
 * sequence (`{ ...template }`, then the values) is several times cheaper, and
 * the result is a compact fast-mode object for every stage downstream.
 */

interface Template {
  /** Slot sequence the template was built for. */
  order: number[];
  proto: Record<string, number>;
  /** The template's own keys (internalised) and their slots. */
  keys: string[];
  slots: number[];
}

/** Distinct key sequences kept per header (a file has one or a few); beyond, objects are built directly. */
const MAX_TEMPLATES = 64;

export class RowFields {
  private readonly names: string[] = [];
  private readonly slotOf = new Map<string, number>();
  private inherited: boolean[] = [];
  private values: number[] = [];
  private written = new Uint8Array(0);
  private readonly order: number[] = [];
  private readonly templates = new Map<string, Template>();
  private last: Template | undefined;
  /** `__proto__` is special in objects: with it, objects are built directly. */
  private direct = false;

  /** The slot of a field name (registered on first use, while compiling a header). */
  slot(name: string): number {
    let s = this.slotOf.get(name);
    if (s === undefined) {
      s = this.names.length;
      this.names.push(name);
      this.slotOf.set(name, s);
      const fresh: Record<string, unknown> = {};
      this.inherited.push(fresh[name] !== undefined);
      this.values.push(0);
      const w = new Uint8Array(this.names.length);
      w.set(this.written);
      this.written = w;
      if (name === '__proto__') this.direct = true;
    }
    return s;
  }

  /** Starts a row. */
  reset(): void {
    const order = this.order;
    for (let i = 0; i < order.length; i++) this.written[order[i]!] = 0;
    order.length = 0;
  }

  /** `fields[name] === undefined` on the object written so far. */
  isUnset(slot: number): boolean {
    return this.written[slot] === 0 && !this.inherited[slot];
  }

  set(slot: number, value: number): void {
    if (this.written[slot] === 0) {
      this.written[slot] = 1;
      this.order.push(slot);
    }
    this.values[slot] = value;
  }

  toObject(): Record<string, number> {
    const order = this.order;
    const values = this.values;
    let t = this.last;
    if (t === undefined || !sameSequence(t.order, order)) t = this.template();
    if (t === undefined) {
      const f: Record<string, number> = {};
      for (let i = 0; i < order.length; i++) f[this.names[order[i]!]!] = values[order[i]!]!;
      return f;
    }
    const f = { ...t.proto };
    const keys = t.keys;
    const slots = t.slots;
    for (let i = 0; i < keys.length; i++) f[keys[i]!] = values[slots[i]!]!;
    return f;
  }

  private template(): Template | undefined {
    if (this.direct) return undefined;
    const key = this.order.join(',');
    let t = this.templates.get(key);
    if (t === undefined) {
      if (this.templates.size >= MAX_TEMPLATES) return undefined;
      const built: Record<string, number> = {};
      for (const s of this.order) built[this.names[s]!] = 0;
      // JSON.parse builds objects in fast mode, with the same keys in the same order.
      const proto = JSON.parse(JSON.stringify(built)) as Record<string, number>;
      const keys = Object.keys(proto);
      t = { order: [...this.order], proto, keys, slots: keys.map((k) => this.slotOf.get(k)!) };
      this.templates.set(key, t);
    }
    this.last = t;
    return t;
  }
}

function sameSequence(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
