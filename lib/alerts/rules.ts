/**
 * Declarative alert rules and their evaluator. Deterministic: the collector
 * passes the partition's `RuleEngineState` (device records it loaded from
 * JetStream KV), a batch of points (with their health when scored) and the
 * clocks, and gets back `firing` / `recovered` transitions plus the devices
 * whose record changed (the only ones it writes back). `evaluateRules` is the
 * pure form (input untouched) used by tests; `applyRules` updates in place.
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
 * - Threshold/rate/health rules only fire on data, never on the clock tick.
 * - Firing is emitted once per transition; recovery once. With `clear`
 *   (hysteresis) a firing threshold rule recovers only when the value no longer
 *   satisfies `op clear` (e.g. `> 85`, clear 80: fires above 85, recovers at ≤ 80).
 * - Absence (dead-man) is judged on the **stream clock**, not the wall clock:
 *   `streamMs` is how far the collector has read the partition (the publish
 *   time of the newest message it processed, or "now" when the partition has
 *   no backlog). A device is silent for `streamMs − seenAtMs`, where `seenAtMs`
 *   is the stream time its newest data arrived. A stalled collector freezes
 *   the stream clock, so data still queued never counts as silence, and a
 *   replayed backlog refreshes each device as its own data comes by.
 * - A device arms an absence rule only while its newest data was *live* when
 *   it arrived (arrival stream time − data time ≤ the rule's `for`): a
 *   historical file (backfill) never arms a dead-man timer.
 * - Devices listed in a `devices` scope are expected from the partition's
 *   first evaluation on, by the partition that owns them. A group absence
 *   (`per: "group"`) needs at least one armed device of the group.
 *
 * State layout (scales with the fleet): one small `DeviceRuleState` per
 * device (its own key in the collector's KV bucket) and one small
 * `PartitionRuleState` per partition (start time and group-absence series).
 * The evaluator touches only the devices of the batch, plus a scan of the
 * in-memory device map for absence rules.
 */
import { z } from 'zod';
import type { Point } from '../point.ts';
import type { AlertInput, HealthClass, Severity } from './types.ts';
import { alertWorkflowId } from './ids.ts';
import { formatDurationMs, tryParseDurationMs } from './rules-duration.ts';
import { buildTriage } from './triage.ts';
import type { DecidedBy, HealthEvidence } from '../health/evidence.ts';

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
  /** Rule group (e.g. `thermal`): a device's firings of one group are one incident (lib/alerts/incident.ts). */
  group: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'letters, digits, "_", "." and "-" (≤ 40 chars)').optional(),
  /** `shadow`: evaluate and record, page nobody (compare a new rule or model on live data first). */
  mode: z.enum(['page', 'shadow']).default('page'),
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
  /** Stream-clock ms of the firing. */
  firedAtMs?: number;
  /** Last point evaluated by this rule (gap detection). */
  lastUs?: number;
  /** Rate rules: thinned samples inside the window, oldest first: [tUs, value]. */
  samples?: [number, number][];
}

/** Everything the rule engine keeps about one device (one KV record in the collector). */
export interface DeviceRuleState {
  /** Newest data timestamp, µs (absent for a listed device never seen). */
  lastUs?: number;
  /** Stream-clock ms when the newest data arrived. */
  seenAtMs: number;
  /** Arrival stream time − data time of the newest point, ms: how live it was (backfill ≫ `for`). */
  lagMs?: number;
  /** Tags kept for alert context (host, model) and group scopes. */
  tags?: Record<string, string>;
  /** rule name → state. */
  series?: Record<string, SeriesState>;
}

/** Per partition: small and bounded (independent of the device count). */
export interface PartitionRuleState {
  v: 2;
  /** Stream-clock ms of the partition's first evaluation (dead-man clock for listed, never-seen devices). */
  startedAtMs?: number;
  /** Group-absence series: rule name → scope label → state. */
  groups?: Record<string, Record<string, SeriesState>>;
}

export interface RuleEngineState {
  partition: PartitionRuleState;
  /** Device id → record. A Map: any string (also "__proto__") is a valid device id. */
  devices: Map<string, DeviceRuleState>;
  /** Whether this partition owns a device id (listed devices are expected by their owner only); default all. */
  owns?: (device: string) => boolean;
}

export interface HealthInfo {
  class: HealthClass;
  score: number;
  reasons: string[];
  /** Health layers that decided (activities/health classify); present when not healthy. */
  decidedBy?: DecidedBy[];
  /** Driver signals, catalog, holds, deviations behind the class (the triage card's input). */
  evidence?: HealthEvidence;
}
export interface RuleBatchItem {
  point: Point;
  health?: HealthInfo;
  /** Stream-clock ms at which the point's message was published (default: the clock's streamMs). */
  arrivedMs?: number;
}
export interface RuleEvent {
  type: 'firing' | 'recovered';
  alert: AlertInput;
}
/**
 * `nowMs` is the wall clock (kept for alert context); `streamMs` how far the
 * partition has been read (see the header). A bare number sets both (tests).
 */
export type RuleClock = number | { nowMs: number; streamMs: number };
export interface EvaluateResult {
  state: RuleEngineState;
  events: RuleEvent[];
  /** Devices whose record changed (and must be persisted). */
  touched: Set<string>;
  /** True when the partition record changed. */
  partitionTouched: boolean;
}

export function initialRuleEngineState(): RuleEngineState {
  return { partition: { v: 2 }, devices: new Map() };
}

/** JSON form of a whole state (tests and tools; the collector stores each device record on its own). */
export function ruleStateToJson(s: RuleEngineState): { partition: PartitionRuleState; devices: [string, DeviceRuleState][] } {
  return { partition: s.partition, devices: [...s.devices] };
}
export function ruleStateFromJson(j: { partition: PartitionRuleState; devices: [string, DeviceRuleState][] }): RuleEngineState {
  return { partition: j.partition, devices: new Map(j.devices) };
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

/** A field's value when it is a finite number (the readers below, for one-off reads on a transition). */
const num = (fields: Record<string, number>, name: string): number | undefined => fieldReader(name)(fields);

function operandText(operand: Operand): string {
  return typeof operand === 'number' ? fmt(operand) : `${operand.factor === 1 ? '' : `${operand.factor}×`}${operand.field}`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function tsToUs(ts: string): number | undefined {
  // ns → µs without BigInt: the last three digits are dropped (same as BigInt division for non-negative values).
  if (ts.length <= 3) return /^\d+$/.test(ts) ? 0 : undefined;
  const us = Number(ts.slice(0, -3));
  return Number.isFinite(us) ? us : undefined;
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

/** A rule with its durations parsed once (the hot loop must not re-parse strings). */
type FieldReader = (fields: Record<string, number>) => number | undefined;
type Compiled = {
  rule: AlertRule;
  forMs: number;
  maxGapUs: number;
  windowUs: number;
  /** The rule's field, its operand's field and its `and` conditions' fields (threshold and rate rules). */
  read?: FieldReader;
  readValue?: FieldReader;
  readAnd?: { read: FieldReader; readValue?: FieldReader }[];
};

/**
 * One reader per field name, generated once: a load with a constant key is a
 * named property load with its own inline cache, monomorphic on the decoded
 * points' single shape. `fields[name]` with the name varying per rule is a
 * megamorphic keyed load, and was the largest single cost of the rule engine
 * per point. The name is data and only ever appears inside a JSON string
 * literal (JSON.stringify escapes quotes, backslashes and line breaks).
 */
const readers = new Map<string, FieldReader>();
function fieldReader(name: string): FieldReader {
  let r = readers.get(name);
  if (r === undefined) {
    r = new Function('f', `const v = f[${JSON.stringify(name)}]; return typeof v === 'number' && v - v === 0 ? v : undefined;`) as FieldReader;
    readers.set(name, r);
  }
  return r;
}
const operandReader = (o: Operand): FieldReader | undefined => (typeof o === 'number' ? undefined : fieldReader(o.field));

function compile(rule: AlertRule): Compiled {
  const c: Compiled = {
    rule,
    forMs: tryParseDurationMs(rule.for)!,
    maxGapUs: 'maxGap' in rule ? tryParseDurationMs(rule.maxGap)! * 1_000 : 0,
    windowUs: rule.kind === 'rate' ? tryParseDurationMs(rule.window)! * 1_000 : 0,
  };
  if (rule.kind === 'threshold' || rule.kind === 'rate') c.read = fieldReader(rule.field);
  if (rule.kind === 'threshold') {
    c.readValue = operandReader(rule.value);
    if (rule.and) c.readAnd = rule.and.map((a) => ({ read: fieldReader(a.field), readValue: operandReader(a.value) }));
  }
  return c;
}

/** An operand's value: the constant, or the field (via its reader) times the factor. */
function operandOf(fields: Record<string, number>, operand: Operand, read: FieldReader | undefined): number | undefined {
  if (typeof operand === 'number') return operand;
  const v = read!(fields);
  return v === undefined ? undefined : v * operand.factor;
}

const HOLDS: Check = Object.freeze({ holds: true, values: Object.freeze({}), summary: '' }) as Check;
const HOLDS_NOT: Check = Object.freeze({ holds: false, values: Object.freeze({}), summary: '' }) as Check;

function checkThreshold(c: Compiled, item: RuleBatchItem, firing: boolean): Check | undefined {
  const rule = c.rule as ThresholdRule;
  const fields = item.point.fields;
  const v = c.read!(fields);
  if (v === undefined) return undefined;
  const rhs = operandOf(fields, rule.value, c.readValue);
  if (rhs === undefined) return undefined;
  let holds = compare(v, rule.op, firing && rule.clear !== undefined ? rule.clear : rhs);
  if (rule.and) {
    for (let i = 0; i < rule.and.length; i++) {
      const a = rule.and[i]!;
      const r = c.readAnd![i]!;
      const cv = r.read(fields);
      const crhs = operandOf(fields, a.value, r.readValue);
      if (cv === undefined || crhs === undefined) return undefined;
      holds = holds && compare(cv, a.op, crhs);
    }
  }
  // Values and text are built lazily by describeThreshold: most points change nothing (no allocation here).
  return holds ? HOLDS : HOLDS_NOT;
}

function describeThreshold(rule: ThresholdRule, item: RuleBatchItem): Pick<Check, 'values' | 'summary'> {
  const fields = item.point.fields;
  const v = num(fields, rule.field)!;
  const values: Record<string, number> = { [rule.field]: v };
  if (typeof rule.value !== 'number') values[rule.value.field] = num(fields, rule.value.field)!;
  const parts = [`${rule.field} ${fmt(v)} ${rule.op} ${operandText(rule.value)}`];
  for (const c of rule.and ?? []) {
    const cv = num(fields, c.field)!;
    values[c.field] = cv;
    if (typeof c.value !== 'number') values[c.value.field] = num(fields, c.value.field)!;
    parts.push(`${c.field} ${fmt(cv)} ${c.op} ${operandText(c.value)}`);
  }
  return { values, summary: parts.join(' and ') };
}

/** The rate computed by the last checkRate that returned a verdict (read at once, on a transition). */
let lastRate = 0;

/** Rate verdict at one point: undefined = says nothing; updates the series' thinned samples. */
function checkRate(c: Compiled, item: RuleBatchItem, s: SeriesState, tUs: number): boolean | undefined {
  const rule = c.rule as RateRule;
  const v = c.read!(item.point.fields);
  if (v === undefined) return undefined;
  const windowUs = c.windowUs;
  // Keep only samples inside the window; thin them so the state stays ≤ ~9 entries per series.
  const samples = (s.samples ??= []);
  let drop = 0;
  while (drop < samples.length && samples[drop]![0] < tUs - windowUs) drop++;
  if (drop) samples.splice(0, drop);
  const last = samples[samples.length - 1];
  if (!last || tUs - last[0] >= windowUs / RATE_SAMPLE_SLOTS) samples.push([tUs, v]);
  const first = samples[0]!;
  const spanUs = tUs - first[0];
  // A rate over a sliver of the window is noise (1 °C in 1 s is not 60 °C/min): require half the window.
  if (spanUs < windowUs / 2) return undefined;
  const perSeconds = rule.per === 'minute' ? 60 : 1;
  lastRate = ((v - first[1]) / (spanUs / 1_000_000)) * perSeconds;
  return compare(lastRate, rule.op, rule.value);
}

/** Values and text of a rate transition (built only then: the check runs for every point). */
function describeRate(rule: RateRule, item: RuleBatchItem, rate: number): Pick<Check, 'values' | 'summary'> {
  const v = num(item.point.fields, rule.field)!;
  const unit = rule.per === 'minute' ? 'min' : 's';
  return {
    values: { [rule.field]: v, [`${rule.field}_rate_per_${unit}`]: Number(rate.toPrecision(6)) },
    summary: `${rule.field} changing ${fmt(rate)}/${unit} ${rule.op} ${fmt(rule.value)}/${unit} over ${rule.window}`,
  };
}

function checkHealth(rule: HealthRule, item: RuleBatchItem): boolean | undefined {
  const h = item.health;
  return h ? HEALTH_RANK[h.class] >= HEALTH_RANK[rule.atLeast] : undefined;
}

function describeHealth(item: RuleBatchItem): Pick<Check, 'values' | 'summary' | 'health'> {
  const h = item.health!;
  return { values: { health_score: h.score }, summary: `health ${h.class} (score ${fmt(h.score)}${h.reasons.length ? `: ${h.reasons.join(', ')}` : ''})`, health: h };
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
  if (check.health) alert.health = { class: check.health.class, score: check.health.score, reasons: check.health.reasons };
  if (rule.group !== undefined) alert.group = rule.group;
  if (rule.mode === 'shadow') alert.mode = 'shadow';
  // The card is for the page: built on a firing only (a recovery needs no triage).
  if (prefix === '') alert.triage = buildTriage({ rule: { name: rule.name, kind: rule.kind }, health: check.health });
  return alert;
}

function tagKeysToKeep(rules: readonly AlertRule[]): Set<string> {
  const keys = new Set(['host', 'model']);
  for (const r of rules) if (r.scope !== 'all' && 'group' in r.scope) for (const k of Object.keys(r.scope.group)) keys.add(k);
  return keys;
}

/** The kept tags of a point; cached per tags object (the points of one decoded batch share their device's). */
const pickedCache = new WeakMap<Record<string, string>, { keys: Set<string>; out: Record<string, string> | undefined }>();
const sortedKeys = new WeakMap<Set<string>, string[]>();
function pickTags(tags: Record<string, string>, keys: Set<string>): Record<string, string> | undefined {
  const hit = pickedCache.get(tags);
  if (hit && hit.keys === keys) return hit.out;
  let out: Record<string, string> | undefined;
  let sorted = sortedKeys.get(keys);
  if (sorted === undefined) sortedKeys.set(keys, (sorted = [...keys].sort()));
  for (const k of sorted) if (Object.hasOwn(tags, k) && typeof tags[k] === 'string') (out ??= {})[k] = tags[k];
  pickedCache.set(tags, { keys, out });
  return out;
}

function sameTags(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function clocks(clock: RuleClock): { nowMs: number; streamMs: number } {
  return typeof clock === 'number' ? { nowMs: clock, streamMs: clock } : clock;
}

const EMPTY_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Values and text of a transition at this point (the rate is the one its check just computed). */
function describe(rule: Exclude<AlertRule, AbsenceRule>, item: RuleBatchItem): Pick<Check, 'values' | 'summary' | 'health'> {
  if (rule.kind === 'health') return describeHealth(item);
  const d = rule.kind === 'threshold' ? describeThreshold(rule, item) : describeRate(rule, item, lastRate);
  // The deciding point's health verdict rides along for the triage card.
  return item.health ? { ...d, health: item.health } : d;
}

/**
 * Evaluates one batch (an empty batch is the collector's clock tick) and
 * updates `state` in place: only the records of the batch's devices change,
 * plus absence series of silent devices. Returns the transitions and what changed.
 */
export function applyRules(
  rulesIn: readonly AlertRule[] | CompiledRules,
  state: RuleEngineState,
  batch: readonly RuleBatchItem[],
  clock: RuleClock,
  opts: { absence?: boolean } = {},
): EvaluateResult {
  const cr = rulesIn instanceof CompiledRules ? rulesIn : new CompiledRules(rulesIn);
  const { streamMs } = clocks(clock);
  const events: RuleEvent[] = [];
  const touched = new Set<string>();
  let partitionTouched = false;
  const part = state.partition;
  if (part.startedAtMs === undefined) {
    part.startedAtMs = streamMs;
    partitionTouched = true;
  }

  // Group by device (point indexes), then timestamp order inside each device (stable for equal
  // timestamps). Indexes and a typed array of times: no object per point on this path.
  const tUsOf = new Float64Array(batch.length);
  const byDevice = new Map<string, number[]>();
  for (let i = 0; i < batch.length; i++) {
    const point = batch[i]!.point;
    const tUs = tsToUs(point.ts);
    if (tUs === undefined) continue;
    tUsOf[i] = tUs;
    let list = byDevice.get(point.device);
    if (!list) byDevice.set(point.device, (list = []));
    list.push(i);
  }

  for (const [device, list] of byDevice) {
    let sorted = true;
    for (let k = 1; k < list.length && sorted; k++) sorted = tUsOf[list[k - 1]!]! <= tUsOf[list[k]!]!;
    if (!sorted) list.sort((a, b) => tUsOf[a]! - tUsOf[b]! || a - b);
    let dev = state.devices.get(device);
    // Rules removed from the file leave no state behind.
    if (dev && cr.dropStale(dev)) touched.add(device);
    // Per tags object (the points of one device in a decoded batch share one): kept tags and the rules in scope.
    let tagsObj: Record<string, string> | undefined;
    let tags: Record<string, string> | undefined;
    let inScope: Compiled[] = [];
    let series: SeriesState[] = [];
    for (const i of list) {
      const item = batch[i]!;
      const tUs = tUsOf[i]!;
      if (dev?.lastUs !== undefined && tUs <= dev.lastUs) continue; // late or duplicate: ignored for rule state
      const arrivedMs = item.arrivedMs ?? streamMs;
      if (!dev) {
        dev = { seenAtMs: arrivedMs };
        state.devices.set(device, dev);
      }
      const pointTags = item.point.tags ?? EMPTY_TAGS;
      if (pointTags !== tagsObj) {
        tagsObj = pointTags;
        tags = pickTags(pointTags, cr.keepTags);
        if (!sameTags(dev.tags, tags)) {
          if (tags) dev.tags = tags;
          else delete dev.tags;
        }
        inScope = cr.inScope(device, pointTags);
        const seriesMap = inScope.length ? (dev.series ??= {}) : undefined;
        series = inScope.map((c) => (seriesMap![c.rule.name] ??= {}));
      }
      dev.lastUs = tUs;
      dev.seenAtMs = Math.max(dev.seenAtMs, arrivedMs);
      dev.lagMs = Math.round(arrivedMs - tUs / 1_000);
      touched.add(device);

      for (let r = 0; r < inScope.length; r++) {
        const c = inScope[r]!;
        const rule = c.rule as Exclude<AlertRule, AbsenceRule>;
        const s = series[r]!;
        const verdict =
          rule.kind === 'threshold'
            ? checkThreshold(c, item, s.firing === true)?.holds
            : rule.kind === 'rate'
              ? checkRate(c, item, s, tUs)
              : checkHealth(rule, item);
        if (verdict === undefined) continue;
        const gap = s.lastUs !== undefined && tUs - s.lastUs > c.maxGapUs;
        s.lastUs = tUs;
        if (!s.firing) {
          if (!verdict) {
            if (s.pendingSinceUs !== undefined) delete s.pendingSinceUs;
            continue;
          }
          if (s.pendingSinceUs === undefined || gap) s.pendingSinceUs = tUs;
          if (tUs - s.pendingSinceUs >= c.forMs * 1_000) {
            const heldMs = (tUs - s.pendingSinceUs) / 1_000;
            s.firing = true;
            s.firedAtUs = s.pendingSinceUs;
            s.firedAtMs = streamMs;
            delete s.pendingSinceUs;
            const d = describe(rule, item);
            const summary = c.forMs > 0 ? `${d.summary} for ${formatDurationMs(heldMs)}` : d.summary;
            events.push({ type: 'firing', alert: makeAlert(rule, device, dev.tags, { ...d, summary }, isoUs(s.firedAtUs)) });
          }
        } else if (!verdict) {
          const firedAt = isoUs(s.firedAtUs ?? tUs);
          delete s.firing;
          delete s.firedAtUs;
          delete s.firedAtMs;
          events.push({ type: 'recovered', alert: makeAlert(rule, device, dev.tags, describe(rule, item), firedAt, 'recovered: ') });
        }
      }
    }
  }

  if (part.groups) {
    for (const name of Object.keys(part.groups)) {
      if (!cr.names.has(name)) {
        delete part.groups[name];
        partitionTouched = true;
      }
    }
  }
  for (const c of opts.absence === false ? [] : cr.absence) {
    if (evaluateAbsence(c, state, streamMs, events, touched, byDevice)) partitionTouched = true;
  }
  return { state, events, touched, partitionTouched };
}

/** Pure form: the input state is not mutated (records are cloned). */
export function evaluateRules(rules: readonly AlertRule[] | CompiledRules, prev: RuleEngineState, batch: readonly RuleBatchItem[], clock: RuleClock): EvaluateResult {
  const state: RuleEngineState = { partition: structuredClone(prev.partition), devices: structuredClone(prev.devices) };
  if (prev.owns) state.owns = prev.owns;
  return applyRules(rules, state, batch, clock);
}

/**
 * Absence for one rule. A full scan of the partition's devices; the
 * collector calls it at most about once a second, not per point.
 * Returns true when the partition record changed.
 */
function evaluateAbsence(
  c: Compiled,
  state: RuleEngineState,
  streamMs: number,
  events: RuleEvent[],
  touched: Set<string>,
  batchDevices: Map<string, unknown>,
): boolean {
  const rule = c.rule as AbsenceRule;
  const forMs = c.forMs;
  const startedAtMs = state.partition.startedAtMs ?? streamMs;
  const armed = (d: DeviceRuleState) => d.lastUs !== undefined && (d.lagMs ?? 0) <= forMs;
  const owns = state.owns ?? (() => true);

  const transition = (s: SeriesState, key: string, silentMs: number, tags: Record<string, string> | undefined): boolean => {
    const silent = silentMs >= forMs;
    if (silent === (s.firing === true)) return false;
    const check = {
      values: { silent_s: Math.round(silentMs / 1_000) },
      summary: silent ? `no data for ${formatDurationMs(silentMs)} (limit ${rule.for})` : 'data arriving again',
    };
    if (silent) {
      s.firing = true;
      s.firedAtMs = streamMs;
      s.firedAtUs = Math.round((streamMs - silentMs) * 1_000);
      events.push({ type: 'firing', alert: makeAlert(rule, key, tags, check, isoUs(s.firedAtUs)) });
    } else {
      const firedAt = isoUs(s.firedAtUs ?? streamMs * 1_000);
      delete s.firing;
      delete s.firedAtUs;
      delete s.firedAtMs;
      events.push({ type: 'recovered', alert: makeAlert(rule, key, tags, check, firedAt, 'recovered: ') });
    }
    return true;
  };

  if (rule.per === 'device') {
    const listed = rule.scope !== 'all' && 'devices' in rule.scope ? rule.scope.devices : [];
    for (const d of listed) {
      if (!state.devices.has(d) && owns(d)) state.devices.set(d, { seenAtMs: startedAtMs });
    }
    for (const [device, dev] of state.devices) {
      const s = dev.series?.[rule.name];
      // Fast path: a device seen in this very batch is not silent, and has nothing to recover unless it fired.
      if (batchDevices.has(device) && !s?.firing) continue;
      if (!scopeMatches(rule.scope, device, dev.tags)) continue;
      const neverSeen = dev.lastUs === undefined;
      if (neverSeen ? !listed.includes(device) : !armed(dev)) {
        // Backfill (not live) while firing: the device is reporting again, just late data.
        if (s?.firing && !neverSeen && transition(s, device, 0, dev.tags)) touched.add(device);
        continue;
      }
      const silentMs = Math.max(0, streamMs - dev.seenAtMs);
      if (!s && silentMs < forMs) continue;
      const series = ((dev.series ??= {})[rule.name] ??= {});
      if (transition(series, device, silentMs, dev.tags)) touched.add(device);
    }
    return false;
  }

  let newest: number | undefined;
  for (const [device, dev] of state.devices) {
    if (!armed(dev) || !scopeMatches(rule.scope, device, dev.tags)) continue;
    if (newest === undefined || dev.seenAtMs > newest) newest = dev.seenAtMs;
  }
  const groups = (state.partition.groups ??= {});
  const key = scopeLabel(rule.scope);
  const s = groups[rule.name]?.[key];
  if (newest === undefined && !s?.firing) return false; // nothing of this group lives in this partition
  const series = ((groups[rule.name] ??= {})[key] ??= {});
  const tags = rule.scope !== 'all' && 'group' in rule.scope ? rule.scope.group : undefined;
  return transition(series, key, newest === undefined ? 0 : Math.max(0, streamMs - newest), tags);
}

/** A validated rule list with durations parsed once. */
export class CompiledRules {
  readonly data: Compiled[];
  readonly absence: Compiled[];
  readonly keepTags: Set<string>;
  readonly names: Set<string>;
  constructor(readonly rules: readonly AlertRule[]) {
    const all = rules.map(compile);
    this.data = all.filter((c) => c.rule.kind !== 'absence');
    this.absence = all.filter((c) => c.rule.kind === 'absence');
    this.keepTags = tagKeysToKeep(rules);
    this.names = new Set(rules.map((r) => r.name));
  }
  /**
   * The data rules whose scope holds this device with these tags. Cached per tags object (the
   * decoder gives each device one object while its tags stay equal) and device: at fleet scale
   * a batch holds about one point per device, and the filter ran for each.
   */
  inScope(device: string, tags: Record<string, string>): Compiled[] {
    const hit = this.scopeCache.get(tags);
    if (hit !== undefined && hit.device === device) return hit.rules;
    const rules = this.data.filter((c) => scopeMatches(c.rule.scope, device, tags));
    this.scopeCache.set(tags, { device, rules });
    return rules;
  }
  private readonly scopeCache = new WeakMap<Record<string, string>, { device: string; rules: Compiled[] }>();

  /** Drops series of rules no longer in the file from a record; true when something was removed. */
  dropStale(dev: DeviceRuleState): boolean {
    if (!dev.series) return false;
    let changed = false;
    for (const name of Object.keys(dev.series)) {
      if (!this.names.has(name)) {
        delete dev.series[name];
        changed = true;
      }
    }
    return changed;
  }
}

/**
 * A device whose record is being dropped (silent past the prune limit, or
 * evicted by the per-partition bound): every firing series recovers, so no
 * incident stays open for a device the engine no longer tracks.
 */
export function retireDevice(rulesIn: readonly AlertRule[] | CompiledRules, device: string, dev: DeviceRuleState, reason: string): RuleEvent[] {
  const cr = rulesIn instanceof CompiledRules ? rulesIn : new CompiledRules(rulesIn);
  const events: RuleEvent[] = [];
  for (const c of [...cr.data, ...cr.absence]) {
    const s = dev.series?.[c.rule.name];
    if (!s?.firing) continue;
    events.push({
      type: 'recovered',
      alert: makeAlert(c.rule, device, dev.tags, { values: {}, summary: reason }, isoUs(s.firedAtUs ?? (dev.lastUs ?? 0)), 'recovered: '),
    });
  }
  return events;
}

/** Binds a validated rule list; the collector calls `apply` with its in-memory partition state. */
export function createRuleEngine(rules: readonly AlertRule[]) {
  const compiled = new CompiledRules(rules);
  return {
    rules,
    compiled,
    initialState: initialRuleEngineState,
    /** In place (the collector). */
    apply: (state: RuleEngineState, batch: readonly RuleBatchItem[], clock: RuleClock, opts?: { absence?: boolean }): EvaluateResult =>
      applyRules(compiled, state, batch, clock, opts),
    retire: (device: string, dev: DeviceRuleState, reason: string): RuleEvent[] => retireDevice(compiled, device, dev, reason),
    /** Pure (tests). */
    evaluate: (state: RuleEngineState, batch: readonly RuleBatchItem[], clock: RuleClock): EvaluateResult => evaluateRules(compiled, state, batch, clock),
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;
