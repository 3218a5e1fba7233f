/**
 * Declarative alert rules and their evaluator. Pure and deterministic: the
 * collector passes the persisted `RuleEngineState`, a batch of points (with
 * their health when scored) and a wall-clock `nowMs`, and gets back the new
 * state plus `firing` / `recovered` transitions. The state is a small plain
 * JSON object so it can live in workflow state and survive worker restarts.
 *
 * Semantics (documented in one place, tested in test/unit/alerts/rules.test.ts):
 * - Points are evaluated per device in timestamp order. A point whose
 *   timestamp is not newer than the newest one already seen for its device is
 *   ignored for rule state (late or duplicate data cannot re-open or reset anything).
 * - `for:` is Prometheus-like: the condition must hold at every point of the
 *   device that carries the rule's field, from the first true point until a
 *   point at least `for` later; then the rule fires at that point. A false point
 *   resets the pending clock. A point that lacks the field is not evidence
 *   either way and is skipped. A gap longer than `maxGap` between
 *   two evaluated points also restarts the pending clock (default 5m), because we cannot
 *   claim the condition held while we saw nothing; silence itself is the
 *   absence rule's job. (5m is Prometheus' staleness window.) A gap never clears a rule that already fires.
 * - Threshold/rate/health rules only fire on data, never on the wall-clock tick.
 * - Firing is emitted once per transition; recovery once. With `clear`
 *   (hysteresis) a firing threshold rule recovers only when the value no longer
 *   satisfies `op clear` (e.g. `> 85`, clear 80: fires above 85, recovers at ≤ 80).
 * - Absence (dead-man) fires when a device (or the whole scope, `per: "group"`)
 *   has been silent for `for`, measured both in data time (newest timestamp seen
 *   on any device minus the device's newest timestamp: catches gaps in replayed
 *   files) and in wall-clock time (`nowMs` minus when its data last arrived:
 *   catches a live device that stopped, via the collector's periodic tick with
 *   an empty batch). Devices are known once seen; devices listed in a
 *   `devices` scope are expected from the engine's first evaluation on.
 */
import { z } from 'zod';
import type { Point } from '../point.ts';
import type { AlertInput, HealthClass, Severity } from './types.ts';
import { alertWorkflowId } from './ids.ts';
import { formatDurationMs, tryParseDurationMs } from './rules-duration.ts';

// ---------------------------------------------------------------- schema

const durationString = (min: number) =>
  z
    .string()
    .refine((s) => {
      const ms = tryParseDurationMs(s);
      return ms !== undefined && ms >= min;
    }, { message: min > 0 ? 'expected a positive duration like "30s", "2m"' : 'expected a duration like "0s", "30s", "2m"' });

const OpSchema = z.enum(['>', '>=', '<', '<=']);
export type ComparisonOp = z.infer<typeof OpSchema>;

/** Right-hand side: a constant, or another field of the same point times a factor (e.g. 0.97 × power_limit_w). */
const OperandSchema = z.union([
  z.number(),
  z.object({ field: z.string().min(1), factor: z.number().default(1) }).strict(),
]);
export type Operand = z.infer<typeof OperandSchema>;

const ConditionSchema = z.object({ field: z.string().min(1), op: OpSchema, value: OperandSchema }).strict();
export type Condition = z.infer<typeof ConditionSchema>;

const ScopeSchema = z
  .union([
    z.literal('all'),
    z.object({ devices: z.array(z.string().min(1)).min(1) }).strict(),
    z
      .object({
        group: z.record(z.string(), z.string()).refine((g) => Object.keys(g).length > 0, 'group needs at least one tag'),
      })
      .strict(),
  ])
  .default('all');
/** Which devices a rule watches: every device, a list of device ids, or a tag match (all tags must equal). */
export type RuleScope = z.infer<typeof ScopeSchema>;

const base = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/, 'letters, digits, "_", "." and "-" (≤ 80 chars)'),
  severity: z.enum(['warning', 'critical']),
  scope: ScopeSchema,
  description: z.string().optional(),
};
const heldFor = { for: durationString(0).default('0s'), maxGap: durationString(1).default('5m') };

const ThresholdRuleSchema = z
  .object({
    ...base,
    kind: z.literal('threshold'),
    field: z.string().min(1),
    op: OpSchema,
    value: OperandSchema,
    /** Extra conditions that must hold too (AND). */
    and: z.array(ConditionSchema).optional(),
    /** Hysteresis: while firing, the rule stays firing while `field op clear` holds. */
    clear: z.number().optional(),
    ...heldFor,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.clear === undefined) return;
    if (typeof r.value !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['clear'], message: 'clear needs a numeric value' });
    } else if ((r.op.startsWith('>') && r.clear > r.value) || (r.op.startsWith('<') && r.clear < r.value)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clear'],
        message: `clear ${r.clear} must be on the recovered side of ${r.op} ${r.value}`,
      });
    }
  });

const RateRuleSchema = z
  .object({
    ...base,
    kind: z.literal('rate'),
    field: z.string().min(1),
    op: OpSchema,
    /** Threshold on the rate, in field units per `per`. */
    value: z.number(),
    per: z.enum(['second', 'minute']).default('minute'),
    /** The rate is measured against the oldest sample inside this window (needs ≥ half of it). */
    window: durationString(1),
    ...heldFor,
  })
  .strict();

const HealthRuleSchema = z
  .object({ ...base, kind: z.literal('health'), atLeast: z.enum(['degraded', 'critical']), ...heldFor })
  .strict();

const AbsenceRuleSchema = z
  .object({
    ...base,
    kind: z.literal('absence'),
    for: durationString(1),
    /** `device`: one alert per silent device; `group`: one alert when the whole scope is silent. */
    per: z.enum(['device', 'group']).default('device'),
  })
  .strict();

export const AlertRuleSchema = z.discriminatedUnion('kind', [
  ThresholdRuleSchema,
  RateRuleSchema,
  HealthRuleSchema,
  AbsenceRuleSchema,
]);
export type AlertRule = z.infer<typeof AlertRuleSchema>;
export type ThresholdRule = z.infer<typeof ThresholdRuleSchema>;
export type RateRule = z.infer<typeof RateRuleSchema>;
export type HealthRule = z.infer<typeof HealthRuleSchema>;
export type AbsenceRule = z.infer<typeof AbsenceRuleSchema>;

export const AlertRulesFileSchema = z
  .object({ rules: z.array(z.unknown()) })
  .strict();

/** A rules file that does not validate; `issues` name the rule and field. */
export class AlertRulesError extends Error {
  override name = 'AlertRulesError';
  readonly issues: string[];
  constructor(issues: string[], options?: { cause?: unknown }) {
    super(`invalid alert rules: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}

/**
 * Validates a parsed rules file (`{ "rules": [...] }`). Every problem is
 * reported as `rule "<name>" (rules[i]) field "<path>": <message>`.
 */
export function parseAlertRules(json: unknown): AlertRule[] {
  const file = AlertRulesFileSchema.safeParse(json);
  if (!file.success) {
    throw new AlertRulesError(
      file.error.issues.map((i) => `field "${i.path.join('.') || '(root)'}": ${i.message}`),
      { cause: file.error },
    );
  }
  const issues: string[] = [];
  const rules: AlertRule[] = [];
  const seen = new Map<string, number>();
  file.data.rules.forEach((raw, i) => {
    const name =
      raw !== null && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string'
        ? (raw as { name: string }).name
        : '(unnamed)';
    const label = `rule "${name}" (rules[${i}])`;
    const r = AlertRuleSchema.safeParse(raw);
    if (!r.success) {
      for (const issue of r.error.issues) {
        issues.push(`${label} field "${issue.path.join('.') || '(rule)'}": ${issue.message}`);
      }
      return;
    }
    const dup = seen.get(r.data.name);
    if (dup !== undefined) issues.push(`${label} field "name": duplicate of rules[${dup}]`);
    seen.set(r.data.name, i);
    rules.push(r.data);
  });
  if (issues.length > 0) throw new AlertRulesError(issues);
  return rules;
}

// ---------------------------------------------------------------- state

/** Per device × rule. Times are µs since the epoch in data time (point timestamps). */
export interface SeriesState {
  /** First point of the current unbroken run of true points. */
  pendingSinceUs?: number;
  firing?: true;
  /** When the condition started (pendingSince at the firing point, or silence start for absence). */
  firedAtUs?: number;
  /** Wall-clock ms of the firing (absence rules measure silence in wall time too). */
  firedAtMs?: number;
  /** Last point evaluated by this rule (gap detection). */
  lastUs?: number;
  /** Rate rules: thinned samples inside the window, oldest first: [tUs, value]. */
  samples?: [number, number][];
}

/** Per device: newest data timestamp and when its data last arrived. */
export interface DeviceState {
  lastUs: number;
  /** Wall-clock ms (the `nowMs` of the evaluation that saw the newest point). */
  seenAtMs: number;
  /** Tags kept for alert context (host, model) and group scopes. */
  tags?: Record<string, string>;
}

export interface RuleEngineState {
  v: 1;
  /** Wall-clock ms of the first evaluation (start of the dead-man clock for listed, never-seen devices). */
  startedAtMs?: number;
  /** Newest point timestamp seen on any device, µs (the data-time clock). */
  clockUs?: number;
  devices: Record<string, DeviceState>;
  /** rule name → device (or group key) → state. */
  series: Record<string, Record<string, SeriesState>>;
}

export interface HealthInfo {
  class: HealthClass;
  score: number;
  reasons: string[];
}
export interface RuleBatchItem {
  point: Point;
  health?: HealthInfo;
}
export interface RuleEvent {
  type: 'firing' | 'recovered';
  alert: AlertInput;
}
export interface EvaluateResult {
  state: RuleEngineState;
  events: RuleEvent[];
}

export function initialRuleEngineState(): RuleEngineState {
  return { v: 1, devices: {}, series: {} };
}

// ---------------------------------------------------------------- evaluation

const HEALTH_RANK: Record<HealthClass, number> = { healthy: 0, degraded: 1, critical: 2 };
const RATE_SAMPLE_SLOTS = 8;

function compare(a: number, op: ComparisonOp, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

function num(fields: Record<string, number>, name: string): number | undefined {
  const v = fields[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function operandValue(fields: Record<string, number>, operand: Operand): number | undefined {
  if (typeof operand === 'number') return operand;
  const v = num(fields, operand.field);
  return v === undefined ? undefined : v * operand.factor;
}

function operandText(operand: Operand): string {
  return typeof operand === 'number' ? fmt(operand) : `${operand.factor === 1 ? '' : `${operand.factor}×`}${operand.field}`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function tsToUs(ts: string): number | undefined {
  try {
    return Number(BigInt(ts) / 1_000n);
  } catch {
    return undefined;
  }
}

function isoUs(us: number): string {
  return new Date(Math.floor(us / 1_000)).toISOString();
}

function scopeMatches(scope: RuleScope, device: string, tags: Record<string, string> | undefined): boolean {
  if (scope === 'all') return true;
  if ('devices' in scope) return scope.devices.includes(device);
  return Object.entries(scope.group).every(([k, v]) => tags?.[k] === v);
}

function scopeLabel(scope: RuleScope): string {
  if (scope === 'all') return 'all';
  if ('devices' in scope) return `devices(${scope.devices.length})`;
  return `group(${Object.entries(scope.group)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')})`;
}

/** Outcome of a condition at one point; undefined = the point says nothing about this rule. */
interface Check {
  holds: boolean;
  values: Record<string, number>;
  summary: string;
  health?: HealthInfo;
}

function checkThreshold(rule: ThresholdRule, item: RuleBatchItem, firing: boolean): Check | undefined {
  const fields = item.point.fields;
  const v = num(fields, rule.field);
  const rhs = operandValue(fields, rule.value);
  if (v === undefined || rhs === undefined) return undefined;
  const values: Record<string, number> = { [rule.field]: v };
  if (typeof rule.value !== 'number') values[rule.value.field] = num(fields, rule.value.field)!;
  let holds = compare(v, rule.op, firing && rule.clear !== undefined ? rule.clear : rhs);
  const parts = [`${rule.field} ${fmt(v)} ${rule.op} ${operandText(rule.value)}`];
  for (const c of rule.and ?? []) {
    const cv = num(fields, c.field);
    const crhs = operandValue(fields, c.value);
    if (cv === undefined || crhs === undefined) return undefined;
    values[c.field] = cv;
    if (typeof c.value !== 'number') values[c.value.field] = num(fields, c.value.field)!;
    holds = holds && compare(cv, c.op, crhs);
    parts.push(`${c.field} ${fmt(cv)} ${c.op} ${operandText(c.value)}`);
  }
  return { holds, values, summary: parts.join(' and ') };
}

function checkRate(rule: RateRule, item: RuleBatchItem, s: SeriesState, tUs: number): Check | undefined {
  const v = num(item.point.fields, rule.field);
  if (v === undefined) return undefined;
  const windowUs = tryParseDurationMs(rule.window)! * 1_000;
  // Keep only samples inside the window; thin them so the state stays ≤ ~9 entries per series.
  const samples = (s.samples ?? []).filter(([t]) => t >= tUs - windowUs);
  const last = samples[samples.length - 1];
  if (!last || tUs - last[0] >= windowUs / RATE_SAMPLE_SLOTS) samples.push([tUs, v]);
  s.samples = samples;
  const first = samples[0]!;
  const spanUs = tUs - first[0];
  // A rate over a sliver of the window is noise (1 °C in 1 s is not 60 °C/min): require half the window.
  if (spanUs < windowUs / 2) return undefined;
  const perSeconds = rule.per === 'minute' ? 60 : 1;
  const rate = ((v - first[1]) / (spanUs / 1_000_000)) * perSeconds;
  const unit = rule.per === 'minute' ? 'min' : 's';
  return {
    holds: compare(rate, rule.op, rule.value),
    values: { [rule.field]: v, [`${rule.field}_rate_per_${unit}`]: Number(rate.toPrecision(6)) },
    summary: `${rule.field} changing ${fmt(rate)}/${unit} ${rule.op} ${fmt(rule.value)}/${unit} over ${rule.window}`,
  };
}

function checkHealth(rule: HealthRule, item: RuleBatchItem): Check | undefined {
  const h = item.health;
  if (!h) return undefined;
  return {
    holds: HEALTH_RANK[h.class] >= HEALTH_RANK[rule.atLeast],
    values: { health_score: h.score },
    summary: `health ${h.class} (score ${fmt(h.score)}${h.reasons.length ? `: ${h.reasons.join(', ')}` : ''})`,
    health: h,
  };
}

function makeAlert(
  rule: AlertRule,
  device: string,
  tags: Record<string, string> | undefined,
  check: { values: Record<string, number>; summary: string; health?: HealthInfo },
  firedAt: string,
  prefix = '',
): AlertInput {
  const alert: AlertInput = {
    alertId: alertWorkflowId(device, rule.name),
    device,
    rule: rule.name,
    severity: rule.severity as Severity,
    summary: `${prefix}${rule.description ? `${rule.description}: ` : ''}${check.summary}`,
    values: check.values,
    firedAt,
  };
  if (tags?.model !== undefined) alert.model = tags.model;
  if (tags?.host !== undefined) alert.host = tags.host;
  if (check.health) alert.health = check.health;
  return alert;
}

function tagKeysToKeep(rules: readonly AlertRule[]): Set<string> {
  const keys = new Set(['host', 'model']);
  for (const r of rules) if (r.scope !== 'all' && 'group' in r.scope) for (const k of Object.keys(r.scope.group)) keys.add(k);
  return keys;
}

function pickTags(tags: Record<string, string>, keys: Set<string>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const k of Object.keys(tags).sort()) if (keys.has(k) && typeof tags[k] === 'string') out[k] = tags[k];
  return Object.keys(out).length ? out : undefined;
}

/**
 * Evaluates one batch (an empty batch is the collector's wall-clock tick).
 * Pure: the input state is not mutated.
 */
export function evaluateRules(
  rules: readonly AlertRule[],
  prev: RuleEngineState,
  batch: readonly RuleBatchItem[],
  nowMs: number,
): EvaluateResult {
  const state: RuleEngineState = structuredClone(prev);
  state.startedAtMs ??= nowMs;
  const events: RuleEvent[] = [];

  // Rules removed from the file leave no state behind.
  const names = new Set(rules.map((r) => r.name));
  for (const name of Object.keys(state.series)) if (!names.has(name)) delete state.series[name];
  const series = (rule: string, key: string): SeriesState => ((state.series[rule] ??= {})[key] ??= {});
  const keepTags = tagKeysToKeep(rules);
  const dataRules = rules.filter((r) => r.kind !== 'absence');

  // Group by device, then timestamp order inside each device (stable for equal timestamps).
  const byDevice = new Map<string, { item: RuleBatchItem; tUs: number }[]>();
  for (const item of batch) {
    const tUs = tsToUs(item.point.ts);
    if (tUs === undefined) continue;
    let list = byDevice.get(item.point.device);
    if (!list) byDevice.set(item.point.device, (list = []));
    list.push({ item, tUs });
  }

  for (const [device, list] of byDevice) {
    list.sort((a, b) => a.tUs - b.tUs);
    for (const { item, tUs } of list) {
      const dev = state.devices[device];
      if (dev && tUs <= dev.lastUs) continue; // late or duplicate: ignored for rule state
      const tags = pickTags(item.point.tags ?? {}, keepTags);
      state.devices[device] = tags ? { lastUs: tUs, seenAtMs: nowMs, tags } : { lastUs: tUs, seenAtMs: nowMs };
      if (state.clockUs === undefined || tUs > state.clockUs) state.clockUs = tUs;

      for (const rule of dataRules) {
        if (!scopeMatches(rule.scope, device, item.point.tags)) continue;
        const s = series(rule.name, device);
        const check =
          rule.kind === 'threshold'
            ? checkThreshold(rule, item, s.firing === true)
            : rule.kind === 'rate'
              ? checkRate(rule, item, s, tUs)
              : checkHealth(rule, item);
        if (!check) continue;
        const gap = s.lastUs !== undefined && tUs - s.lastUs > tryParseDurationMs(rule.maxGap)! * 1_000;
        s.lastUs = tUs;
        if (!s.firing) {
          if (!check.holds) {
            delete s.pendingSinceUs;
            continue;
          }
          if (s.pendingSinceUs === undefined || gap) s.pendingSinceUs = tUs;
          const forMs = tryParseDurationMs(rule.for)!;
          if (tUs - s.pendingSinceUs >= forMs * 1_000) {
            const heldMs = (tUs - s.pendingSinceUs) / 1_000;
            s.firing = true;
            s.firedAtUs = s.pendingSinceUs;
            s.firedAtMs = nowMs;
            delete s.pendingSinceUs;
            const summary = forMs > 0 ? `${check.summary} for ${formatDurationMs(heldMs)}` : check.summary;
            events.push({ type: 'firing', alert: makeAlert(rule, device, tags, { ...check, summary }, isoUs(s.firedAtUs)) });
          }
        } else if (!check.holds) {
          const firedAt = isoUs(s.firedAtUs ?? tUs);
          delete s.firing;
          delete s.firedAtUs;
          delete s.firedAtMs;
          events.push({ type: 'recovered', alert: makeAlert(rule, device, tags, check, firedAt, 'recovered: ') });
        }
      }
    }
  }

  for (const rule of rules) if (rule.kind === 'absence') evaluateAbsence(rule, state, nowMs, series, events);
  return { state, events };
}

function evaluateAbsence(
  rule: AbsenceRule,
  state: RuleEngineState,
  nowMs: number,
  series: (rule: string, key: string) => SeriesState,
  events: RuleEvent[],
): void {
  const forMs = tryParseDurationMs(rule.for)!;
  const inScope = Object.keys(state.devices)
    .filter((d) => scopeMatches(rule.scope, d, state.devices[d]!.tags))
    .sort();
  const listed = rule.scope !== 'all' && 'devices' in rule.scope ? rule.scope.devices : [];
  const startedAtMs = state.startedAtMs ?? nowMs;

  // Silence in ms, the larger of data-time silence and wall-clock silence.
  const silence = (lastUs: number | undefined, seenAtMs: number): number => {
    const dataMs = lastUs !== undefined && state.clockUs !== undefined ? (state.clockUs - lastUs) / 1_000 : 0;
    return Math.max(dataMs, nowMs - seenAtMs, 0);
  };

  const targets: { key: string; silentMs: number; tags: Record<string, string> | undefined }[] = [];
  if (rule.per === 'device') {
    const keys = [...new Set([...inScope, ...listed])].sort();
    for (const d of keys) {
      const dev = state.devices[d];
      targets.push({ key: d, silentMs: silence(dev?.lastUs, dev?.seenAtMs ?? startedAtMs), tags: dev?.tags });
    }
  } else {
    let lastUs: number | undefined;
    let seenAtMs: number | undefined;
    for (const d of inScope) {
      const dev = state.devices[d]!;
      if (lastUs === undefined || dev.lastUs > lastUs) lastUs = dev.lastUs;
      if (seenAtMs === undefined || dev.seenAtMs > seenAtMs) seenAtMs = dev.seenAtMs;
    }
    const tags = rule.scope !== 'all' && 'group' in rule.scope ? rule.scope.group : undefined;
    targets.push({ key: scopeLabel(rule.scope), silentMs: silence(lastUs, seenAtMs ?? startedAtMs), tags });
  }

  for (const { key, silentMs, tags } of targets) {
    const s = series(rule.name, key);
    const silent = silentMs >= forMs;
    const check = {
      values: { silent_s: Math.round(silentMs / 1_000) },
      summary: silent ? `no data for ${formatDurationMs(silentMs)} (limit ${rule.for})` : 'data arriving again',
    };
    if (silent && !s.firing) {
      s.firing = true;
      s.firedAtMs = nowMs;
      s.firedAtUs = Math.round((nowMs - silentMs) * 1_000);
      events.push({ type: 'firing', alert: makeAlert(rule, key, tags, check, isoUs(s.firedAtUs)) });
    } else if (!silent && s.firing) {
      const firedAt = isoUs(s.firedAtUs ?? nowMs * 1_000);
      delete s.firing;
      delete s.firedAtUs;
      delete s.firedAtMs;
      events.push({ type: 'recovered', alert: makeAlert(rule, key, tags, check, firedAt, 'recovered: ') });
    }
  }
}

/** Binds a validated rule list; `evaluate` has the signature the collector calls. */
export function createRuleEngine(rules: readonly AlertRule[]) {
  return {
    rules,
    initialState: initialRuleEngineState,
    evaluate: (state: RuleEngineState, batch: readonly RuleBatchItem[], nowMs: number): EvaluateResult =>
      evaluateRules(rules, state, batch, nowMs),
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;
