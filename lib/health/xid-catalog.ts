/**
 * The XID / driver recovery-action catalog (`xid-catalog.json`, data with a
 * source reference per entry), validated once at load. The health classifier
 * reads severities and reset needs from here, the triage card shows the
 * recommended action: one table, so the page and the verdict never disagree.
 */
import { z } from 'zod';
import raw from './xid-catalog.json' with { type: 'json' };

const Severity = z.enum(['healthy', 'warning', 'critical']);

const XidEntrySchema = z.object({
  mnemonic: z.string().min(1),
  description: z.string().min(1),
  severity: Severity,
  bucket: z.string().min(1),
  recommended_action: z.string().min(1),
  /** True when the GPU must be reset (or the node rebooted) before the fault is over. */
  resets_needed: z.boolean(),
  source: z.string().min(1),
});
export type XidEntry = z.infer<typeof XidEntrySchema>;

const RecoveryEntrySchema = z.object({
  name: z.string().min(1),
  severity: Severity,
  recommended_action: z.string().min(1),
  resets_needed: z.boolean(),
  source: z.string().min(1),
});
export type RecoveryEntry = z.infer<typeof RecoveryEntrySchema>;

export const XidCatalogSchema = z.object({
  version: z.literal(1),
  doc: z.string(),
  buckets: z.record(z.string(), z.string()),
  unknown_xid: XidEntrySchema,
  xids: z.record(z.string().regex(/^\d+$/, 'XID keys are decimal codes'), XidEntrySchema),
  recovery_actions: z.record(z.string().regex(/^[0-4]$/, 'recovery actions are NVML codes 0-4'), RecoveryEntrySchema),
});
export type XidCatalog = z.infer<typeof XidCatalogSchema>;

export class XidCatalogError extends Error {
  override name = 'XidCatalogError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Validates a catalog object; the error names the first bad path. */
export function parseXidCatalog(json: unknown, source = 'xid-catalog.json'): XidCatalog {
  const r = XidCatalogSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new XidCatalogError(`${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  for (const [code, e] of Object.entries(r.data.xids)) {
    if (r.data.buckets[e.bucket] === undefined) throw new XidCatalogError(`${source}: xids.${code}.bucket "${e.bucket}" is not a listed bucket`);
  }
  return r.data;
}

/** The committed catalog. */
export const XID_CATALOG: XidCatalog = parseXidCatalog(raw);

/**
 * Entries per catalog and code, built once and frozen: the health scorer asks
 * for them on every point (an object spread per call cost ≈ 2 µs/point).
 * Bounded: codes are 0..65535 at most, and only codes seen are kept.
 */
const xidCache = new WeakMap<XidCatalog, Map<number, Readonly<XidEntry & { code: number; known: boolean }>>>();
const recoveryCache = new WeakMap<XidCatalog, Map<number, Readonly<RecoveryEntry & { code: number }> | undefined>>();

/** The catalog entry of an XID code (the `unknown_xid` entry, with the code, for codes not listed). Frozen: shared. */
export function xidEntry(code: number, catalog: XidCatalog = XID_CATALOG): Readonly<XidEntry & { code: number; known: boolean }> {
  let byCode = xidCache.get(catalog);
  if (!byCode) xidCache.set(catalog, (byCode = new Map()));
  let hit = byCode.get(code);
  if (hit === undefined) {
    const e = catalog.xids[String(code)];
    hit = Object.freeze(e === undefined ? { ...catalog.unknown_xid, code, known: false } : { ...e, code, known: true });
    if (byCode.size < 65_536) byCode.set(code, hit);
  }
  return hit;
}

/** NVML codes of `gpu_recovery_action` (lib/parse RECOVERY_ACTION_CODES). Frozen: shared. */
export function recoveryEntry(code: number, catalog: XidCatalog = XID_CATALOG): Readonly<RecoveryEntry & { code: number }> | undefined {
  let byCode = recoveryCache.get(catalog);
  if (!byCode) recoveryCache.set(catalog, (byCode = new Map()));
  if (byCode.has(code)) return byCode.get(code);
  const e = catalog.recovery_actions[String(code)];
  const out = e === undefined ? undefined : Object.freeze({ ...e, code });
  if (byCode.size < 65_536) byCode.set(code, out);
  return out;
}
