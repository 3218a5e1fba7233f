/**
 * `telemetry-stack chaos`: every scenario (cli/chaos/scenarios.ts) on one
 * shared stack, one after the other. A scenario ingests its own data set
 * while its fault hits the real servers; then the runner waits for the
 * pipeline to converge and judges it on exact figures:
 *
 *   points  — every point of the file stored, per device, with the file's
 *             values (count and sums), none twice;
 *   alert   — the runaway paged exactly once, acknowledged (Temporal state),
 *             the ack recorded on chain exactly once;
 *   DLQ     — exactly the dead letters the scenario planted, nothing else.
 *
 * Invariant: a scenario passes only if every figure is exact; a check that
 * times out records what it last saw instead of throwing, so one broken
 * scenario reports and the next still runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onInterrupt } from '../bench/bench-stack.ts';
import { startMeasuredCli, type MeasuredRun } from '../bench/measured-cli.ts';
import { formatTable } from '../bench/report.ts';
import { streamProgress } from '../bench/collection-progress.ts';
import { CHAOS_API_HEADERS, acksOnChain, alertPosts, alertState, attemptsToPost, checkStore, dlqMessages, type StoreCheck } from './chaos-checks.ts';
import { writeChaosData, type ChaosDataSet } from './chaos-data.ts';
import { startChaosStack, type ChaosStack } from './chaos-stack.ts';
import { SCENARIOS, type ChaosScenario } from './scenarios.ts';

export interface ChaosOptions {
  scenarios: string[];
  points: number;
  /** Length of each outage, ms (the issue's 30 s by default; the bounded run in npm test shortens it). */
  faultMs: number;
  health: boolean;
  log: (msg: string) => void;
}

/** One line of the report (the issue's JSON shape) plus what explains a failure. */
export interface ScenarioResult {
  scenario: string;
  points_expected: number;
  points_found: number;
  duplicates: number;
  dlq: number;
  alerts_expected: number;
  alerts_paged: number;
  acks_on_chain: number;
  recovery_s: number;
  passed: boolean;
  /** Why it failed, and what the scenario observed while the fault was on. */
  notes: string[];
}

export interface ChaosResult {
  chaos: 'telemetry-stack';
  points_per_scenario: number;
  fault_s: number;
  passed: boolean;
  wall_s: number;
  scenarios: ScenarioResult[];
}

/** An ingest child: `telemetry-stack ingest FILE --json --no-progress` against the chaos stack. */
export interface IngestRun {
  pid: number;
  done: Promise<MeasuredRun>;
  kill(): void;
}

/** What a scenario's fault gets to work with. */
export interface ScenarioContext {
  stack: ChaosStack;
  data: ChaosDataSet;
  faultMs: number;
  log(msg: string): void;
  /** Something the report should show (what the fault did, what was observed during it). */
  note(msg: string): void;
  /** A check of the fault itself failed (the fault did not hit mid-ingest, a 429 was expected…): fails the scenario. */
  fail(msg: string): void;
  /** Marks the end of the fault (server back, window over); recovery_s is measured from here. */
  recovered(): void;
  /**
   * Starts an ingest child. `env` adds settings for it only — note that ingest applies the stream
   * topology (ensureTopology) at start-up, so a stream limit meant to hold during the run goes here.
   */
  startIngest(env?: Record<string, string>): IngestRun;
  /** Starts the ingest and waits for it; fails the scenario unless it exits 0 having published every point. */
  ingestToEnd(run?: IngestRun): Promise<void>;
  /** Points of this data set stored now (−1 while InfluxDB does not answer). */
  stored(): Promise<number>;
  /** Messages in the telemetry stream since the scenario started (published by its ingest). */
  published(): Promise<number>;
  /** About how many batches the ingest publishes (points / BATCH_POINTS). */
  batches: number;
  /** Batches not yet collected (pending + awaiting ack, all partitions). */
  backlog(): Promise<number>;
  /** Polls `fn` until `ok`; returns the last value (undefined if it never answered). */
  until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, intervalMs?: number): Promise<T | undefined>;
  /** Acknowledges the alert through the REST API; returns the HTTP status and how long it took. */
  apiAck(): Promise<{ status: number; ms: number; body: string }>;
  /** The alert's Slack message (once posted). */
  alertMessage(): Promise<{ channel: string; ts: string } | undefined>;
}

/** How long a scenario may take to converge after its fault, besides the fault itself. */
const CONVERGE_MS = 180_000;
/** Quiet time before the final count: late redeliveries and retried pages would show up here. */
const SETTLE_MS = 2_000;

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, intervalMs = 250): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      // A server may be down in the middle of a fault: keep asking.
    }
    if (Date.now() > deadline) return last;
    await sleep(intervalMs);
  }
}

async function runScenario(stack: ChaosStack, sc: ChaosScenario, dir: string, o: ChaosOptions, seed: number): Promise<ScenarioResult> {
  const log = (m: string) => o.log(`${sc.name}: ${m}`);
  const notes: string[] = [];
  const failures: string[] = [];
  const data = await writeChaosData(dir, sc.name, o.points, seed);
  const { bench } = stack;
  const seqBefore = (await bench.jsm.streams.info(bench.cfg.STREAM_NAME)).state.last_seq;
  const dlqBefore = await dlqMessages(bench.jsm, bench.cfg);
  let recoveredAt: number | undefined;
  const children = new Set<IngestRun>();
  const ctx: ScenarioContext = {
    stack,
    data,
    faultMs: o.faultMs,
    log,
    note: (m) => notes.push(m),
    fail: (m) => failures.push(m),
    recovered: () => (recoveredAt ??= performance.now()),
    startIngest(env) {
      const run = startMeasuredCli(['ingest', data.path, '--json', '--no-progress'], { ...bench.childEnv, ...env });
      children.add(run);
      return run;
    },
    async ingestToEnd(run) {
      const r = await (run ?? ctx.startIngest()).done;
      if (r.status !== 0) failures.push(`ingest exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
      else {
        // A rerun republishes what the killed run had published; JetStream drops those by Msg-Id (`duplicates`).
        const published = Number(r.json?.published);
        const deduplicated = Number(r.json?.duplicates ?? 0);
        if (r.json?.points !== data.points || published + deduplicated !== data.points)
          failures.push(`ingest parsed ${String(r.json?.points)} points and published ${published} (+ ${deduplicated} deduplicated) of ${data.points}`);
        else if (deduplicated > 0) notes.push(`the ingest's publishes of ${deduplicated.toLocaleString('en-US')} points were dropped by JetStream as duplicates (Msg-Id)`);
      }
    },
    stored: async () => (await checkStore(bench.influx, data).catch(() => undefined))?.points ?? -1,
    published: async () => (await bench.jsm.streams.info(bench.cfg.STREAM_NAME)).state.last_seq - seqBefore,
    batches: Math.ceil(data.points / bench.cfg.BATCH_POINTS),
    backlog: async () => (await streamProgress(bench.jsm, bench.cfg)).backlog,
    until,
    async apiAck() {
      const t0 = performance.now();
      const res = await fetch(`${bench.apiUrl}/v1/alerts/${encodeURIComponent(data.alertId)}/ack`, {
        method: 'POST',
        headers: CHAOS_API_HEADERS,
        body: JSON.stringify({ by: 'chaos-oncall' }),
        signal: AbortSignal.timeout(CONVERGE_MS),
      });
      return { status: res.status, ms: performance.now() - t0, body: await res.text() };
    },
    async alertMessage() {
      return (await alertState(bench.apiUrl, data.alertId).catch(() => undefined))?.slack;
    },
  };
  const unregister = onInterrupt(() => children.forEach((c) => c.kill()));
  const t0 = performance.now();
  const startedAtMs = Date.now();
  let store: StoreCheck | undefined;
  let paged = 0;
  let acks = 0;
  try {
    log(`${data.points.toLocaleString('en-US')} points on ${data.devices.size} GPUs of host ${data.host}; fault: ${sc.summary}`);
    try {
      await sc.run(ctx);
    } catch (err) {
      failures.push(`fault injection failed: ${(err as Error).message}`);
    }
    ctx.recovered();
    const phase = (what: string) => log(`${what} at +${((performance.now() - t0) / 1_000).toFixed(1)} s`);
    phase('fault over, ingest done');
    // ---- points: exact, per device, values included. Convergence is asked of JetStream (nothing left
    //      to collect; a batch is acked only once stored), not polled in InfluxDB: those queries would
    //      load influxd while it is still writing the backlog.
    await until(() => ctx.backlog(), (n) => n === 0, CONVERGE_MS, 250);
    store = await until(() => checkStore(bench.influx, data), (s) => s.points >= data.points && s.mismatchedDevices.length === 0, 30_000, 2_000);
    const convergedAt = performance.now();
    phase(`${store?.points ?? 0} points stored`);
    await sleep(SETTLE_MS);
    store = (await until(() => checkStore(bench.influx, data), () => true, 30_000)) ?? store;
    // ---- alert: paged once, acknowledged, on chain once
    await until(async () => alertPosts(stack.slack, data.alertId).length, (n) => n >= 1, 60_000, 100);
    const pagedAt = performance.now();
    phase('alert paged');
    await (sc.acknowledge ?? defaultAck)(ctx);
    const ledger = await stack.ledger();
    const state = await until(() => alertState(bench.apiUrl, data.alertId), (s) => s?.status === 'acknowledged', 60_000);
    if (state?.status !== 'acknowledged') failures.push(`alert status in Temporal is ${state?.status ?? 'missing'}, expected acknowledged`);
    if (state) {
      // Where the alert's time went: rule fired (the workflow's first history entry) → first post attempt → posted.
      const rel = (epochMs: number) => `+${((epochMs - startedAtMs) / 1_000).toFixed(1)} s`;
      const tries = attemptsToPost(stack.slack, data.alertId);
      const fired = Date.parse(state.history[0]?.at ?? '');
      notes.push(`alert fired ${Number.isFinite(fired) ? rel(fired) : '?'}, first post attempt ${tries[0] ? rel(tries[0].at) : '?'}, posted ${tries.find((c) => c.ok) ? rel(tries.find((c) => c.ok)!.at) : '?'}`);
      acks = (await until(() => acksOnChain(ledger, state), (n) => n >= 1, 120_000, 500)) ?? 0;
    }
    const chainAt = performance.now();
    phase(`${acks} ack(s) on chain`);
    await sleep(SETTLE_MS);
    if (state) acks = (await until(() => acksOnChain(ledger, state), () => true, 30_000)) ?? acks;
    paged = alertPosts(stack.slack, data.alertId).length;
    const dlq = (await dlqMessages(bench.jsm, bench.cfg)) - dlqBefore;
    const expectedDlq = sc.expectedDlq ?? 0;
    const points = store?.points ?? 0;
    const duplicates = (store?.extraPoints ?? 0) + Math.max(0, paged - 1) + Math.max(0, acks - 1);
    if (points !== data.points) failures.push(`InfluxDB holds ${points} of ${data.points} points`);
    if (store?.repeatedRows) notes.push(`InfluxDB returned ${store.repeatedRows.toLocaleString('en-US')} rows twice (same series, time and value; counted once)`);
    if (store?.mismatchedDevices.length) failures.push(`${store.mismatchedDevices.length} device(s) with wrong counts or values (first: ${store.mismatchedDevices[0]})`);
    if (dlq !== expectedDlq) failures.push(`DLQ gained ${dlq} messages, expected ${expectedDlq}`);
    if (paged !== 1) failures.push(`the alert was paged ${paged} times, expected once`);
    if (acks !== 1) failures.push(`${acks} acknowledgements on chain, expected 1`);
    // Recovery: fault over → everything stored (or, for a fault at ack time, → the ack on chain).
    const doneAt = { stored: convergedAt, paged: pagedAt, 'ack-on-chain': chainAt }[sc.recoveryUntil ?? 'stored'];
    const recovery = Math.max(0, (doneAt - (recoveredAt ?? t0)) / 1_000);
    const passed = failures.length === 0;
    log(`${passed ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1_000).toFixed(1)} s${failures.length ? `: ${failures.join('; ')}` : ''}`);
    return {
      scenario: sc.name,
      points_expected: data.points,
      points_found: points,
      duplicates,
      dlq,
      alerts_expected: 1,
      alerts_paged: paged,
      acks_on_chain: acks,
      recovery_s: Number(recovery.toFixed(1)),
      passed,
      notes: [...failures.map((f) => `FAIL: ${f}`), ...notes],
    };
  } finally {
    children.forEach((c) => c.kill());
    unregister();
    rmSync(data.path, { force: true });
  }
}

/** The default acknowledgement: the REST API's ack. */
async function defaultAck(ctx: ScenarioContext): Promise<void> {
  const r = await ctx.apiAck();
  if (r.status !== 200) ctx.fail(`POST /v1/alerts/:id/ack answered ${r.status}: ${r.body.slice(0, 200)}`);
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const unknown = o.scenarios.filter((s) => !SCENARIOS.some((x) => x.name === s));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const chosen = o.scenarios.length ? SCENARIOS.filter((s) => o.scenarios.includes(s.name)) : SCENARIOS;
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-chaos-data-'));
  const unregister = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  const stack = await startChaosStack({ health: o.health, log: o.log });
  const results: ScenarioResult[] = [];
  try {
    for (const [i, sc] of chosen.entries()) results.push(await runScenario(stack, sc, dir, o, 101 + i));
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
    unregister();
  }
  return {
    chaos: 'telemetry-stack',
    points_per_scenario: o.points,
    fault_s: o.faultMs / 1_000,
    passed: results.every((r) => r.passed),
    wall_s: Number(((performance.now() - t0) / 1_000).toFixed(1)),
    scenarios: results,
  };
}

/** The human table: one row per scenario, then the notes of each. */
export function chaosTable(r: ChaosResult): string {
  const cols = ['scenario', 'points_expected', 'points_found', 'duplicates', 'dlq', 'alerts_expected', 'alerts_paged', 'acks_on_chain', 'recovery_s', 'passed'] as const;
  const rows = r.scenarios.map((s) => cols.map((c) => s[c]));
  const notes = r.scenarios.flatMap((s) => s.notes.map((n) => `  ${s.scenario}: ${n}`));
  return [
    `chaos: ${r.scenarios.length} scenario(s), ${r.points_per_scenario.toLocaleString('en-US')} points each, faults of ${r.fault_s} s, ${r.wall_s} s in all — ${r.passed ? 'all passed' : 'FAILED'}`,
    formatTable(cols.map((c) => ({ title: c, numeric: c !== 'scenario' && c !== 'passed' })), rows),
    ...(notes.length ? ['notes:', ...notes] : []),
  ].join('\n');
}
