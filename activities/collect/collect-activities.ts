/**
 * The collector's activity: fetch batches from one partition's durable
 * consumer → validate → score health → write to InfluxDB → evaluate alert
 * rules → persist the changed state records → ack.
 *
 * The one rule that matters: **ack last**. A message is acked only after its
 * points are in InfluxDB and the state they changed is in KV, so a crash
 * anywhere means redelivery, never loss; InfluxDB's overwrite of identical
 * (series, time) makes the redelivery harmless. Fetch-to-ack stays inside one
 * activity (JetStream message handles cannot cross activities).
 *
 * Only data can be poison: an undecodable message, or lines InfluxDB rejects
 * by content, go to the DLQ — only those lines, the rest of the batch is
 * written. Any answer about us (auth, not found, config, 413 after
 * splitting, timeouts, 5xx) holds the backlog (nak, no DLQ), raises an
 * operational alert when it is not transient, and retries until the cause is
 * fixed.
 */
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Consumer, JetStreamClient, JetStreamManager, JsMsg, KV } from 'nats';
import type { Point } from '../../lib/point.ts';
import { decodeBatch, encodeBatch, BatchDecodeError } from '../../lib/stream/codec.ts';
import { consumerName, dlqSubject, MAX_ACK_PENDING } from '../../lib/stream/jetstream.ts';
import { dlqHeaders, historyOf } from '../../lib/stream/dlq.ts';
import { partitionFor } from '../../lib/partition.ts';
import { toLine } from '../../lib/influx/line-protocol.ts';
import type { InfluxFailureKind, InfluxWriter, InfluxWriteError, Line } from '../../lib/influx/writer.ts';
import type { RuleEngine, RuleBatchItem, RuleEvent } from '../../lib/alerts/rules.ts';
import type { AlertInput, HealthClass } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { collectMetrics } from './collect-metrics.ts';
import { CollectorStateStore, StateConflictError, type Baseline, type PartitionState, type StateLimits } from './collector-state.ts';
import { writeGroup } from './write-group.ts';

export interface HealthVerdict {
  class: HealthClass;
  score: number;
  reasons: string[];
}

/** Health enrichment, as the collector sees it (activities/health implements it). */
export interface CollectorScorer {
  /** `baselines` holds only the devices of `points`; the result's baselines replace them. */
  score(
    points: Point[],
    baselines: Record<string, Baseline>,
  ): Promise<{ results: HealthVerdict[]; baselines: Record<string, Baseline>; shadow?: { lines: string[]; points: number[] } }>;
}

/** Alert rules, as the collector sees them (lib/alerts/rules implements it). */
export type CollectorRules = Pick<RuleEngine, 'apply' | 'retire'>;

/** Fires/recovers alert workflows (signal-with-start through a Temporal client). */
export interface AlertSink {
  fire(alert: AlertInput): Promise<void>;
  recovered(alert: AlertInput): Promise<void>;
}

export interface CollectDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  writer: Pick<InfluxWriter, 'writeRequest' | 'batchLines'>;
  streamName: string;
  subjectPrefix: string;
  /** Partition count (which partition owns a device listed in a rule scope). */
  partitions: number;
  logger: Logger;
  scorer?: CollectorScorer;
  healthLines?: (points: Point[], results: HealthVerdict[]) => string[];
  rules?: CollectorRules;
  alerts?: AlertSink;
  /** Bounds of the per-device state (defaults: 7 days, 200,000 devices per partition). */
  stateLimits?: Partial<StateLimits>;
  /** Under a backlog, acks wait for a state flush at most this long (ms): one KV write per changed device per flush, not per batch. */
  stateFlushMs?: number;
  /** Backlog older than this (ms) while the collector cannot write raises the `collect-stalled` operational alert. */
  stallAlertMs?: number;
  /** Delay before a held (nak'd) batch is redelivered, ms. */
  holdNakMs?: number;
  /** A healthy device's `gpu_health` line is written at least this often (data time, ms); 0 = every point. */
  healthWriteEveryMs?: number;
}

export interface CollectPartitionInput {
  partition: number;
  /** Return after this many fetched groups (keeps each activity short and visible). */
  maxFetches: number;
  /** …or after this long, ms. */
  maxMs: number;
  /** Messages (batches) per fetch. */
  fetchMessages: number;
}

export interface CollectPartitionResult {
  batches: number;
  points: number;
  healthPoints: number;
  /** Messages that sent something to the DLQ (undecodable, or with lines InfluxDB rejected). */
  dlq: number;
  /** Points dead-lettered. */
  dlqPoints: number;
  alertsFired: number;
  alertsRecovered: number;
  /** Batches still waiting in this partition (pending + ack-pending) when the activity returned. */
  lag: number;
  writeMs: number;
  /** Where the activity's time went, ms (fetch includes long-poll waits). */
  timings: { fetchMs: number; scoreMs: number; writeMs: number; rulesMs: number; flushMs: number };
  idle: boolean;
  /** Device records in this partition's state. */
  stateDevices: number;
}

/** The device and rule names of the collector's own (operational) alerts. */
export const OPS_DEVICE = 'pipeline';
export const opsRule = (kind: InfluxFailureKind | 'collect-stalled'): string => (kind === 'collect-stalled' ? kind : `influxdb-${kind}`);

const HEARTBEAT_MS = 5_000;

/** What a partition's activity holds between state flushes (records changed; messages written but not acked). */
export interface HeldSinceFlush {
  sinceFlushMs: number;
  dirty: number;
  heldMessages: number;
  /** Payload bytes of the held messages: each keeps its data in memory until acked. */
  heldBytes: number;
}
/** Bounds of what an activity holds before it flushes the state and acks. */
export const FLUSH_BOUNDS = {
  dirtyRecords: 50_000,
  /** Half of what the consumer hands out unacked: at MAX_ACK_PENDING it stops delivering. */
  heldMessages: MAX_ACK_PENDING / 2,
  /** Wide captures at full rate would otherwise hold hundreds of MB for STATE_FLUSH_MS. */
  heldBytes: 64 * 1024 * 1024,
} as const;

/** Whether to flush (and ack) now: on time (`everyMs`, STATE_FLUSH_MS), or at any bound of FLUSH_BOUNDS. */
export function flushDue(h: HeldSinceFlush, everyMs: number): boolean {
  return (
    h.sinceFlushMs >= everyMs || h.dirty > FLUSH_BOUNDS.dirtyRecords || h.heldMessages >= FLUSH_BOUNDS.heldMessages || h.heldBytes >= FLUSH_BOUNDS.heldBytes
  );
}
const ABSENCE_EVERY_MS = 1_000;
const PRUNE_EVERY_MS = 60_000;

/** Activities are plain functions over injected clients (see CONVENTIONS.md). */
export function createCollectActivities(deps: CollectDeps) {
  const limits: StateLimits = {
    pruneAfterMs: deps.stateLimits?.pruneAfterMs ?? 7 * 86_400_000,
    maxDevices: deps.stateLimits?.maxDevices ?? 200_000,
  };
  const flushEveryMs = deps.stateFlushMs ?? 5_000;
  const stallAlertMs = deps.stallAlertMs ?? 120_000;
  const holdNakMs = deps.holdNakMs ?? 2_000;
  const healthWriteEveryMs = deps.healthWriteEveryMs ?? 60_000;
  const store = new CollectorStateStore(deps.js, (partition, device) => partitionFor(device, deps.partitions) === partition);
  /** The partition's durable pull consumer (one lookup per partition and process). */
  const consumers = new Map<number, Promise<Consumer>>();
  const consumerOf = (partition: number): Promise<Consumer> => {
    let c = consumers.get(partition);
    if (!c) {
      c = deps.js.consumers.get(deps.streamName, consumerName(partition));
      c.catch(() => consumers.delete(partition));
      consumers.set(partition, c);
    }
    return c;
  };
  /** Per partition, in this process: stream clock and housekeeping times. */
  const clocks = new Map<number, { streamMs: number; absenceAt: number; pruneAt: number }>();

  async function toDlq(partition: number, msg: JsMsg, reason: string, data: Uint8Array, points: number | undefined, suffix = ''): Promise<void> {
    const msgId = `dlq:${msg.info.stream}:${msg.seq}${suffix}`;
    const h = dlqHeaders({ reason, originalSubject: msg.subject, originalSeq: msg.seq, points, history: historyOf(msg.headers), msgId });
    // Msg-Id keeps the DLQ copy unique even if this runs again after a crash.
    await deps.js.publish(dlqSubject({ SUBJECT_PREFIX: deps.subjectPrefix }, partition), data, { headers: h, msgID: msgId });
    const kind = reason.split(':')[0] ?? 'unknown';
    collectMetrics.dlq.inc({ reason: kind });
    if (points) collectMetrics.dlqPoints.inc({ reason: kind }, points);
    deps.logger.warn({ partition, seq: msg.seq, points, reason }, 'dead-lettered');
  }

  async function signal(events: RuleEvent[], res: CollectPartitionResult): Promise<void> {
    for (const ev of events) {
      collectMetrics.alertEvents.inc({ type: ev.type });
      if (!deps.alerts) {
        deps.logger.warn({ alert: ev.alert, type: ev.type }, 'alert rule transition (no alert sink configured)');
        continue;
      }
      // Idempotent: signal-with-start on a business-key workflow id; a retry re-sends the same signal.
      if (ev.type === 'firing') {
        await deps.alerts.fire(ev.alert);
        res.alertsFired++;
      } else {
        await deps.alerts.recovered(ev.alert);
        res.alertsRecovered++;
      }
    }
  }

  /** Raise (once) or clear an operational alert of this partition; persisted in the partition record. */
  async function opsAlert(st: PartitionState, kind: InfluxFailureKind | 'collect-stalled', raise: boolean, summary: string, values: Record<string, number> = {}): Promise<void> {
    const rule = opsRule(kind);
    const open = st.ops[rule];
    if (raise === (open !== undefined)) return;
    const label = { partition: String(st.partition), kind: rule };
    const alert: AlertInput = {
      alertId: '',
      device: OPS_DEVICE,
      rule,
      severity: kind === 'collect-stalled' ? 'warning' : 'critical',
      summary,
      values: { partition: st.partition, ...values },
      firedAt: open?.since ?? new Date().toISOString(),
      host: `collector-p${st.partition}`,
    };
    if (raise) {
      st.ops[rule] = { since: alert.firedAt, summary };
      collectMetrics.opsAlerts.set(label, 1);
      deps.logger.error({ partition: st.partition, rule, summary }, 'operational alert raised');
      await deps.alerts?.fire(alert);
    } else {
      delete st.ops[rule];
      collectMetrics.opsAlerts.set(label, 0);
      deps.logger.info({ partition: st.partition, rule }, 'operational alert cleared');
      await deps.alerts?.recovered({ ...alert, summary: `recovered: ${summary}` });
    }
    st.markPartitionDirty();
  }

  async function collectPartition(input: CollectPartitionInput): Promise<CollectPartitionResult> {
    const ctx = (() => {
      try {
        return Context.current();
      } catch {
        return undefined; // called outside an activity (tests, benchmarks)
      }
    })();
    const started = Date.now();
    const { partition } = input;
    const label = { partition: String(partition) };
    const res: CollectPartitionResult = {
      batches: 0, points: 0, healthPoints: 0, dlq: 0, dlqPoints: 0, alertsFired: 0, alertsRecovered: 0, lag: 0, writeMs: 0, idle: false, stateDevices: 0,
      timings: { fetchMs: 0, scoreMs: 0, writeMs: 0, rulesMs: 0, flushMs: 0 },
    };
    // Heartbeat on a timer, not between iterations only: a slow write must not look like a dead worker
    // (Temporal would start a retry beside it). Cancellation arrives through the heartbeat.
    const beat = ctx ? setInterval(() => ctx.heartbeat({ batches: res.batches, points: res.points }), HEARTBEAT_MS) : undefined;
    const kv: KV = await store.kv();
    const st: PartitionState = await store.get(partition);
    const clock = clocks.get(partition) ?? { streamMs: 0, absenceAt: 0, pruneAt: 0 };
    clocks.set(partition, clock);
    /** Written to InfluxDB and evaluated; acked at the next state flush. */
    let pendingAcks: JsMsg[] = [];
    /** Payload bytes of pendingAcks: each held message keeps its data in memory until acked. */
    let pendingAckBytes = 0;
    /** Messages the consumer reported still pending after the last one received. */
    let knownPending = 0;
    let lastFlush = Date.now();

    const flush = async () => {
      const tf = performance.now();
      if (st.dirtyCount) {
        const r = await st.flush(kv);
        collectMetrics.stateWrites.inc(label, r.written);
      }
      const acks = pendingAcks;
      pendingAcks = [];
      pendingAckBytes = 0;
      await Promise.all(acks.map((m) => m.ackAck()));
      lastFlush = Date.now();
      res.timings.flushMs += performance.now() - tf;
    };

    const housekeeping = async (nowMs: number) => {
      if (deps.rules && nowMs - clock.absenceAt >= ABSENCE_EVERY_MS) {
        clock.absenceAt = nowMs;
        const out = deps.rules.apply(st.rules, [], { nowMs, streamMs: clock.streamMs || nowMs });
        for (const d of out.touched) st.markDirty(d);
        if (out.partitionTouched) st.markPartitionDirty();
        await signal(out.events, res);
      }
      if (nowMs - clock.pruneAt >= PRUNE_EVERY_MS && clock.streamMs) {
        clock.pruneAt = nowMs;
        const gone = st.pruneCandidates(clock.streamMs, limits);
        if (gone.length) {
          for (const d of gone) {
            const rec = st.rules.devices.get(d);
            if (rec && deps.rules) await signal(deps.rules.retire(d, rec, 'device state pruned (silent past the retention, or over the per-partition bound)'), res);
          }
          await st.remove(kv, gone);
          deps.logger.info({ partition, devices: gone.length }, 'pruned device state');
        }
      }
    };

    try {
      for (let fetchNo = 0; fetchNo < input.maxFetches; fetchNo++) {
        const remaining = input.maxMs - (Date.now() - started);
        if (remaining <= 0) break;
        if (ctx?.cancellationSignal.aborted) break;
        // Latency: wait for the first batch (long poll), then take what the consumer says is
        // already pending. A plain fetch of N would hold a lone batch until its expiry (seconds)
        // before the alert rules ever saw it.
        // Throughput: while a backlog is there, take a full group and keep the acks for the next
        // state flush. Only when nothing is pending: flush (never sit on acks while waiting for
        // data), then long-poll.
        // Pulls ask for at most what is pending (msg.info.pending of the last message received)
        // and never use no_wait: a no_wait pull that the client ends on "pending 0" can still be
        // handed a message published a moment later, which then sits unacked until ack_wait
        // (30 s) redelivers it — seen as 25–30 s stalls in `bench ingest`. The consumer API's
        // fetch also outwaits the server's expiry, so nothing is delivered to a closed inbox.
        const fetchAt = Date.now();
        const tFetch = performance.now();
        const msgs: JsMsg[] = [];
        const consumer = await consumerOf(partition);
        const take = async (n: number, expiresMs: number) => {
          for await (const m of await consumer.fetch({ max_messages: n, expires: expiresMs })) msgs.push(m);
        };
        if (pendingAcks.length && knownPending > 0) await take(Math.min(input.fetchMessages, knownPending), 1_000);
        if (msgs.length === 0) {
          if (pendingAcks.length) await flush();
          // A pull of one message completes when it arrives (or at expiry): the long poll.
          await take(1, Math.max(1_000, Math.min(5_000, remaining)));
          const first = msgs[0];
          if (first && input.fetchMessages > 1 && first.info.pending > 0) await take(Math.min(input.fetchMessages - 1, first.info.pending), 1_000);
        }
        knownPending = msgs.length ? msgs[msgs.length - 1]!.info.pending : 0;
        res.timings.fetchMs += performance.now() - tFetch;
        if (msgs.length === 0) {
          res.idle = res.batches === 0;
          // Caught up: everything published before this fetch has been read, so the stream clock is "now".
          const ci = await deps.jsm.consumers.info(deps.streamName, consumerName(partition));
          if (ci.num_pending === 0 && ci.num_ack_pending === 0) {
            clock.streamMs = Math.max(clock.streamMs, fetchAt);
            if (st.ops[opsRule('collect-stalled')]) await opsAlert(st, 'collect-stalled', false, 'collector caught up');
          }
          // Idle partition: still tick the rules so dead-man (absence) rules fire without data.
          clock.absenceAt = 0;
          await housekeeping(Date.now());
          break;
        }

        // 1. Validate: a batch that does not decode is poison; it goes to the DLQ as it was.
        const good: { msg: JsMsg; points: Point[]; lines: (Uint8Array | undefined)[] | undefined; pubMs: number }[] = [];
        for (const msg of msgs) {
          try {
            const b = decodeBatch(msg.data);
            good.push({ msg, points: b.points, lines: b.lines, pubMs: Math.floor(msg.info.timestampNanos / 1e6) });
          } catch (err) {
            if (!(err instanceof BatchDecodeError)) throw err;
            await toDlq(partition, msg, `decode: ${err.message}`, msg.data, undefined);
            await msg.ackAck();
            res.dlq++;
          }
        }
        if (good.length === 0) continue;

        // 2. Health first (in process, ~10 ms per 2,000 points), so `gpu` and `gpu_health` lines go in one
        //    write. Baselines are applied only if the whole group is written. Model trouble must not hold
        //    telemetry back: logged, and the points are stored without health.
        const tScore = performance.now();
        const points = good.length === 1 ? good[0]!.points : good.flatMap((g) => g.points);
        let health: HealthVerdict[] | undefined;
        let baselines: Record<string, Baseline> | undefined;
        let shadow: { lines: string[]; points: number[] } | undefined; // a shadow model's verdicts (none configured: undefined)
        if (deps.scorer && points.length) {
          const mine: Record<string, Baseline> = Object.create(null);
          for (const p of points) {
            const b = st.baselines.get(p.device);
            if (b) mine[p.device] = b;
          }
          try {
            const scored = await deps.scorer.score(points, mine);
            health = scored.results;
            baselines = scored.baselines;
            shadow = scored.shadow;
          } catch (err) {
            deps.logger.error({ err, partition }, 'health scoring failed; telemetry is stored without health');
          }
        }

        // 3. Lines, with their owner (message) so a failure costs only what it touches.
        //    A v2 batch carries each point's line (bytes, copied into the body as they are); v1: built here.
        const lines: Line[] = [];
        const owner: number[] = []; // line → index into `flat` (a point), or -1 - index for a health line
        const flatMsg: number[] = [];
        for (let gi = 0, pi = 0; gi < good.length; gi++) {
          const carried = good[gi]!.lines;
          for (const [i, p] of good[gi]!.points.entries()) {
            const l = carried ? carried[i] : toLine(p);
            if (l !== undefined) {
              lines.push(l);
              owner.push(pi);
            }
            flatMsg.push(gi);
            pi++;
          }
        }
        if (health && deps.healthLines) {
          // `gpu_health` is a step series: a line when the class changes, while not healthy (the
          // evidence), and at least every healthWriteEveryMs of data time per device. A healthy
          // fleet then costs InfluxDB ≈ 1 extra line per device per minute instead of one per point.
          const pick: number[] = [];
          for (let i = 0; i < points.length; i++) {
            if (st.healthDue(points[i]!, health[i]!.class, healthWriteEveryMs)) pick.push(i);
          }
          const hl = deps.healthLines(pick.map((i) => points[i]!), pick.map((i) => health![i]!));
          for (let i = 0; i < hl.length; i++) {
            lines.push(hl[i]!);
            owner.push(-1 - pick[i]!);
          }
          collectMetrics.healthLines.inc(label, hl.length);
          // `health_shadow` lines ride in the same write, owned by their point like `gpu_health` lines.
          if (shadow) {
            for (let i = 0; i < shadow.lines.length; i++) {
              lines.push(shadow.lines[i]!);
              owner.push(-1 - shadow.points[i]!);
            }
          }
        }

        // 4. Write, isolating bad lines.
        const t0 = performance.now();
        res.timings.scoreMs += t0 - tScore;
        const w = await writeGroup(deps.writer, lines);
        const writeMs = performance.now() - t0;
        res.writeMs += writeMs;
        res.timings.writeMs += writeMs;
        const tRules = performance.now();
        collectMetrics.writeSeconds.observe(writeMs / 1_000);

        const held = new Set<number>(); // message indexes not fully written (about us): nak
        const badPoints = new Map<number, { idx: number[]; reasons: string[] }>(); // message → rejected point indexes
        for (const li of w.unwritten) {
          const o = owner[li]!;
          held.add(flatMsg[o >= 0 ? o : -1 - o]!);
        }
        const msgStart: number[] = [];
        for (let gi = 0, n = 0; gi < good.length; gi++) {
          msgStart.push(n);
          n += good[gi]!.points.length;
        }
        for (const [li, reason] of w.bad) {
          const o = owner[li]!;
          if (o < 0) {
            // A derived health line: replaying the point regenerates it; count, do not dead-letter.
            collectMetrics.writeErrors.inc({ kind: 'health-line' });
            deps.logger.warn({ partition, reason }, 'InfluxDB rejected a derived health line (gpu_health / health_shadow)');
            continue;
          }
          const gi = flatMsg[o]!;
          const e = badPoints.get(gi) ?? { idx: [], reasons: [] };
          e.idx.push(o - msgStart[gi]!);
          if (e.reasons.length < 3) e.reasons.push(reason);
          badPoints.set(gi, e);
        }

        // 5. Messages fully written: dead-letter their rejected points (only those), evaluate rules, ack later.
        const items: RuleBatchItem[] = [];
        for (let gi = 0; gi < good.length; gi++) {
          const g = good[gi]!;
          if (held.has(gi)) continue;
          const bad = badPoints.get(gi);
          const badSet = new Set(bad?.idx ?? []);
          if (bad) {
            const rejected = bad.idx.map((i) => g.points[i]!);
            await toDlq(partition, g.msg, `influx-data: ${bad.reasons.join(' | ')}`, encodeBatch(`dlq:${g.msg.seq}`, rejected), rejected.length, ':data');
            res.dlq++;
            res.dlqPoints += rejected.length;
          }
          g.points.forEach((point, i) => {
            if (badSet.has(i)) return;
            const hv = health?.[msgStart[gi]! + i];
            items.push(hv ? { point, health: hv, arrivedMs: g.pubMs } : { point, arrivedMs: g.pubMs });
          });
          clock.streamMs = Math.max(clock.streamMs, Math.min(g.pubMs, Date.now()));
          res.batches++;
          res.points += g.points.length - badSet.size;
          collectMetrics.batches.inc(label);
          collectMetrics.points.inc(label, g.points.length - badSet.size);
          pendingAcks.push(g.msg);
          pendingAckBytes += g.msg.data.byteLength;
        }
        if (health && held.size === 0) {
          res.healthPoints += health.length;
          const byClass: Record<string, number> = {};
          for (const h of health) byClass[h.class] = (byClass[h.class] ?? 0) + 1;
          for (const [cls, n] of Object.entries(byClass)) collectMetrics.healthScored.inc({ class: cls }, n);
          for (const d in baselines) {
            st.baselines.set(d, baselines[d]!);
            st.markDirty(d);
          }
        }
        if (deps.rules && items.length) {
          const nowMs = Date.now();
          const absence = nowMs - clock.absenceAt >= ABSENCE_EVERY_MS;
          if (absence) clock.absenceAt = nowMs;
          const out = deps.rules.apply(st.rules, items, { nowMs, streamMs: clock.streamMs || nowMs }, { absence });
          for (const d of out.touched) st.markDirty(d);
          if (out.partitionTouched) st.markPartitionDirty();
          await signal(out.events, res);
        }

        res.timings.rulesMs += performance.now() - tRules;
        // 6. Errors about us: hold what was not written (nak with a delay; no DLQ), alert, and retry.
        if (w.error) {
          for (const gi of held) good[gi]!.msg.nak(holdNakMs);
          throw await holdAndFail(st, w.error, good.filter((_, gi) => held.has(gi)).map((g) => g.pubMs));
        }
        for (const kind of ['auth', 'not-found', 'config'] as const) {
          if (st.ops[opsRule(kind)]) await opsAlert(st, kind, false, `InfluxDB accepts the collector's writes again (${kind} resolved)`);
        }
        // The collector's own stall (paused, crashed, too slow): the backlog it reads is older than the limit.
        const ageMs = Date.now() - good[0]!.pubMs;
        if (ageMs >= stallAlertMs)
          await opsAlert(st, 'collect-stalled', true, `partition ${partition} is ${Math.round(ageMs / 1_000)} s behind (backlog in JetStream); absence rules wait for the backlog`, {
            backlog_age_s: Math.round(ageMs / 1_000),
          });
        else if (st.ops[opsRule('collect-stalled')] && ageMs < stallAlertMs / 2) await opsAlert(st, 'collect-stalled', false, 'collector caught up');

        await housekeeping(Date.now());
        if (flushDue({ sinceFlushMs: Date.now() - lastFlush, dirty: st.dirtyCount, heldMessages: pendingAcks.length, heldBytes: pendingAckBytes }, flushEveryMs)) await flush();
      }
      await flush();
    } catch (err) {
      // Acks for what was fully done are still worth sending (their state is flushed first);
      // if that fails too, memory may be ahead of KV: drop the cache and let everything redeliver.
      try {
        await flush();
      } catch (flushErr) {
        store.drop(partition);
        for (const m of pendingAcks) m.nak(holdNakMs);
        pendingAcks = [];
        pendingAckBytes = 0;
        if (flushErr instanceof StateConflictError) {
          collectMetrics.stateConflicts.inc(label);
          deps.logger.warn({ partition, err: flushErr.message }, 'state conflict: another attempt wrote newer state; retrying');
        }
      }
      if (err instanceof StateConflictError) {
        store.drop(partition);
        collectMetrics.stateConflicts.inc(label);
      }
      throw toFailure(err);
    } finally {
      if (beat) clearInterval(beat);
    }

    const ci = await deps.jsm.consumers.info(deps.streamName, consumerName(partition));
    res.lag = ci.num_pending + ci.num_ack_pending;
    res.stateDevices = st.size;
    collectMetrics.lag.set(label, res.lag);
    return res;

    /** Raises the operational alert for an error about us and returns the retryable failure to throw. */
    async function holdAndFail(state: PartitionState, e: InfluxWriteError, heldPubMs: number[]): Promise<ApplicationFailure> {
      collectMetrics.held.inc({ partition: String(partition), kind: e.kind });
      collectMetrics.writeErrors.inc({ kind: e.kind });
      if (e.kind === 'auth' || e.kind === 'not-found' || e.kind === 'config') {
        const what = e.kind === 'auth' ? 'the token is rejected (revoked, rotated or lacking write permission): fix INFLUXDB_TOKEN / INFLUXDB_TOKEN_FILE'
          : e.kind === 'not-found' ? `the org or bucket is not found: check INFLUXDB_ORG / INFLUXDB_BUCKET`
          : 'the write request is refused: check the InfluxDB configuration';
        await opsAlert(state, e.kind, true, `InfluxDB refuses the collector's writes (${e.status}): ${what}. Telemetry is held in JetStream, nothing is dropped. ${e.body.slice(0, 200)}`, {
          status: e.status ?? 0,
        });
      }
      const oldest = Math.min(...heldPubMs);
      if (Number.isFinite(oldest) && Date.now() - oldest >= stallAlertMs) {
        await opsAlert(state, 'collect-stalled', true, `partition ${partition} cannot write to InfluxDB for ${Math.round((Date.now() - oldest) / 1_000)} s (${e.kind}): backlog held in JetStream`, {
          backlog_age_s: Math.round((Date.now() - oldest) / 1_000),
        });
      }
      await flush();
      return ApplicationFailure.retryable(`InfluxDB write failed: ${e.message}`, `Influx${e.kind}`);
    }
  }

  return { collectPartition };
}

function toFailure(err: unknown): Error {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof StateConflictError) return ApplicationFailure.retryable(err.message, 'StateConflict');
  return err instanceof Error ? err : new Error(String(err));
}

export type CollectActivities = ReturnType<typeof createCollectActivities>;
