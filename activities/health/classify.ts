/**
 * Turns model scores + feature rows into health results. Shared by every
 * inference backend (in-process ONNX, KServe v2, TF Serving) so they classify
 * identically; only where the raw anomaly score comes from differs.
 */
import { readFile } from 'node:fs/promises';
import type { HealthClass } from '../../lib/alerts/types.ts';
import type { Point } from '../../lib/point.ts';
import bundledMeta from '../../ml/model/meta.json' with { type: 'json' };
import { FEATURE_NAMES, FI, N_FEATURES } from './features.ts';
import { hardFaults } from './hard-faults.ts';
import { peerOutlier, type DeviceVerdict } from './device-health.ts';
import type { DecidedBy, HealthEvidence } from '../../lib/health/evidence.ts';

export interface HealthResult {
  class: HealthClass;
  /** Anomaly score in (0, 1) from the model (≈0.5 ordinary, higher is stranger). */
  score: number;
  /** Named causes: hard-fault rules first, then the most deviating features. */
  reasons: string[];
  /** What decided a non-healthy class (driver/limit rules, the model, its envelope, the peer score). Absent when healthy. */
  decidedBy?: DecidedBy[];
  /** The data behind a non-healthy class, for the triage card. Absent when healthy. */
  evidence?: HealthEvidence;
}

export type { DecidedBy } from '../../lib/health/evidence.ts';

/** Per-point driver/limit verdicts and peer scores (device-health.ts assessBatch). */
export interface DeviceAssessment {
  verdicts: readonly DeviceVerdict[];
  peers: readonly (HealthEvidence['peers'] | undefined)[];
}

/** The parts of ml/model/meta.json inference needs. */
export interface ModelMeta {
  featureOrder: string[];
  thresholds: { degraded: number; critical: number };
  featureStats: { center: number[]; scale: number[] };
  /** Healthy training range per feature, widened; a value outside it is degraded (trees cannot extrapolate). */
  envelope: { lo: number[]; hi: number[] };
  modelSha256?: string;
}

export class ModelMismatchError extends Error {
  override name = 'ModelMismatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Rejects a model trained on another feature set: silently mis-ordered inputs would score garbage. */
export function checkMeta(meta: ModelMeta, source: string): ModelMeta {
  const order = meta.featureOrder;
  if (order.length !== N_FEATURES || order.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw new ModelMismatchError(`${source}: featureOrder does not match ml/features.json; retrain the model (python ml/train.py)`);
  }
  const lengths = [meta.featureStats.center, meta.featureStats.scale, meta.envelope?.lo, meta.envelope?.hi].map((a) => a?.length);
  if (lengths.some((l) => l !== N_FEATURES)) {
    throw new ModelMismatchError(`${source}: featureStats and envelope must have ${N_FEATURES} entries each`);
  }
  const { degraded, critical } = meta.thresholds;
  if (!(degraded > 0 && critical >= degraded)) throw new ModelMismatchError(`${source}: thresholds must satisfy 0 < degraded <= critical`);
  return meta;
}

export const BUNDLED_META: ModelMeta = checkMeta(bundledMeta as ModelMeta, 'ml/model/meta.json');

export async function loadMeta(path: string): Promise<ModelMeta> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ModelMismatchError(`cannot read model metadata ${path}`, { cause });
  }
  return checkMeta(JSON.parse(raw) as ModelMeta, path);
}

/** Missing indicators carry no "direction" worth naming unless they flipped; they are named plainly. */
const INDICATORS = new Set<number>([FI.temp_missing, FI.power_missing, FI.clock_missing, FI.util_missing, FI.mem_missing, FI.ecc_missing, FI.fan_missing]);
/** Hard-fault features already have a named rule reason. */
const RULE_FEATURES = new Set<number>([FI.xid_present, FI.ecc_dbe_delta_log, FI.throttle_thermal, FI.throttle_hw_slowdown]);
/** RULE_FEATURES by index (the per-row loops read this, not the Set). */
const RULE_FEATURE: readonly boolean[] = Array.from({ length: N_FEATURES }, (_, i) => RULE_FEATURES.has(i));
/** |z| below this is not worth naming. */
const MIN_Z = 3;
const MAX_MODEL_REASONS = 3;

/** The features furthest from the healthy training distribution, as `name=value(z±N)` strings (no commas: they are comma-joined downstream). */
export function deviatingFeatures(features: Float32Array, offset: number, meta: ModelMeta): string[] {
  const found: { i: number; z: number }[] = [];
  const { center, scale } = meta.featureStats;
  for (let i = 0; i < N_FEATURES; i++) {
    if (RULE_FEATURES.has(i)) continue;
    const z = ((features[offset + i] ?? 0) - (center[i] ?? 0)) / (scale[i] ?? 1);
    if (Math.abs(z) >= MIN_Z) found.push({ i, z });
  }
  found.sort((a, b) => Math.abs(b.z) - Math.abs(a.z));
  return found.slice(0, MAX_MODEL_REASONS).map(({ i, z }) => {
    const name = FEATURE_NAMES[i] as string;
    if (INDICATORS.has(i)) return name;
    const v = features[offset + i] ?? 0;
    return `${name}=${Number(v.toFixed(3))}(z${z >= 0 ? '+' : ''}${z.toFixed(1)})`;
  });
}

/**
 * Features outside the healthy training envelope, as `name_out_of_range=value`.
 * An isolation forest scores a value far beyond the healthy maximum no higher
 * than the maximum itself, so an ECC storm (SBE delta 100× the healthy max) or
 * a clock collapse under full load would otherwise pass as ordinary.
 */
export function outOfEnvelope(features: Float32Array, offset: number, meta: ModelMeta): string[] {
  const { lo, hi } = meta.envelope;
  let out: string[] | undefined; // most rows are inside: no array for them
  for (let i = 0; i < N_FEATURES; i++) {
    if (RULE_FEATURE[i]) continue;
    const v = features[offset + i] ?? 0;
    if (v < (lo[i] ?? -Infinity) || v > (hi[i] ?? Infinity)) (out ??= []).push(`${FEATURE_NAMES[i]}_out_of_range=${Number(v.toFixed(3))}`);
  }
  return out ?? [];
}

/**
 * Combines the rules (driver signals and device limits when `device` is
 * given, else the legacy hard-fault rules), the support envelope, the peer
 * score and the model score: the worst class wins; rule reasons come first,
 * then envelope, peers, then the most deviating features when the score alone
 * crossed a threshold.
 */
export function classify(
  points: readonly Point[],
  features: Float32Array,
  scores: ArrayLike<number>,
  meta: ModelMeta,
  device?: DeviceAssessment,
): HealthResult[] {
  const { degraded, critical } = meta.thresholds;
  const out: HealthResult[] = new Array(points.length);
  for (let r = 0; r < points.length; r++) {
    const o = r * N_FEATURES;
    const score = Number(scores[r]);
    const verdict = device?.verdicts[r];
    const hard = verdict ?? hardFaults(points[r] as Point, features, o);
    const modelClass: HealthClass = score >= critical ? 'critical' : score >= degraded ? 'degraded' : 'healthy';
    const outside = outOfEnvelope(features, o, meta);
    const envelopeOut = outside.length > 0; // (outside may become `reasons`, which grows below)
    const peers = device?.peers[r];
    const peerHot = peerOutlier(peers);
    let cls: HealthClass = hard.class ?? (modelClass === 'healthy' && envelopeOut ? 'degraded' : modelClass);
    if (hard.class !== null && RANK[modelClass] > RANK[cls]) cls = modelClass;
    if (peerHot && cls === 'healthy') cls = 'degraded';
    const reasons = hard.reasons.length === 0 ? outside : [...hard.reasons, ...outside];
    if (peerHot) reasons.push(`peer_temp_outlier_+${Math.round(peers!.value - peers!.median)}c`);
    if (modelClass !== 'healthy' && !envelopeOut) {
      const dev = deviatingFeatures(features, o, meta);
      reasons.push(...(dev.length > 0 ? dev : ['anomaly_score']));
    }
    const res: HealthResult = { class: cls, score: Number(score.toFixed(6)), reasons };
    if (cls !== 'healthy' && verdict !== undefined) {
      const by: DecidedBy[] = [];
      if (verdict.class !== null) {
        if (verdict.evidence.holds.length > 0 || verdict.evidence.catalog.length > 0 || reasons.some((x) => x.startsWith('fabric_'))) by.push('driver');
        if (verdict.reasons.some((x) => /^(thermal_headroom|hw_slowdown|sw_thermal|fan_stopped|power_over)/.test(x))) by.push('limits');
      }
      if (modelClass !== 'healthy') by.push('model');
      if (envelopeOut) by.push('envelope');
      if (peerHot) by.push('peers');
      res.decidedBy = by;
      res.evidence = peers === undefined ? verdict.evidence : { ...verdict.evidence, peers };
    }
    out[r] = res;
  }
  return out;
}

const RANK: Record<HealthClass, number> = { healthy: 0, degraded: 1, critical: 2 };
