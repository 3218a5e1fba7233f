/**
 * The collector's activity: fetch batches from one partition's durable
 * consumer → validate → write to InfluxDB → score health → evaluate alert
 * rules → persist rule/baseline state → ack. Fetch-to-ack stays inside one
 * activity (JetStream message handles cannot cross activities), and the ack
 * comes last, so a crash anywhere before it means redelivery, never loss;
 * InfluxDB's overwrite of identical (series, time) makes the redelivery
 * harmless.
 */
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { JetStreamClient, JetStreamManager, JsMsg, KV } from 'nats';
import { headers } from 'nats';
import type { Point } from '../../lib/point.ts';
import { decodeBatch, BatchDecodeError } from '../../lib/stream/codec.ts';
import { consumerName, dlqSubject, STATE_BUCKET } from '../../lib/stream/jetstream.ts';
import { toLines } from '../../lib/influx/line-protocol.ts';
import { InfluxPermanentError, type InfluxWriter } from '../../lib/influx/writer.ts';
import type { Logger } from '../../lib/logger.ts';
import { collectMetrics } from './collect-metrics.ts';

/** Health enrichment, as the collector sees it (activities/health implements it). */
export interface CollectorScorer {
  score(points: Point[], baselines: Record<string, unknown>): Promise<{
    results: { class: 'healthy' | 'degraded' | 'critical'; score: number; reasons: string[] }[];
    baselines: Record<string, unknown>;
  }>;
}

/** Alert rules, as the collector sees them (lib/alerts/rules implements it). */
export interface CollectorRules {
  initialState(): unknown;
  evaluate(
    state: never,
    batch: { point: Point; health?: { class: 'healthy' | 'degraded' | 'critical'; score: number; reasons: string[] } }[],
    nowMs: number,
  ): { state: unknown; events: { type: 'firing' | 'recovered'; alert: import('../../lib/alerts/types.ts').AlertInput }[] };
}

/** Fires/recovers alert workflows (signal-with-start through a Temporal client). */
export interface AlertSink {
  fire(alert: import('../../lib/alerts/types.ts').AlertInput): Promise<void>;
  recovered(alert: import('../../lib/alerts/types.ts').AlertInput): Promise<void>;
}

export interface CollectDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  writer: InfluxWriter;
  streamName: string;
  subjectPrefix: string;
  /** Deliveries after which a batch that still fails while InfluxDB is healthy counts as poison. */
  maxDeliver: number;
  logger: Logger;
  scorer?: CollectorScorer;
  healthLines?: (points: Point[], results: { class: string; score: number; reasons: string[] }[]) => string[];
  rules?: CollectorRules;
  alerts?: AlertSink;
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
  dlq: number;
  alertsFired: number;
  alertsRecovered: number;
  /** Batches still waiting in this partition (pending + ack-pending) when the activity returned. */
  lag: number;
  writeMs: number;
  idle: boolean;
}

interface PartitionState {
  baselines: Record<string, unknown>;
  rules: unknown;
}

/** Activities are plain functions over injected clients (see CONVENTIONS.md). */
export function createCollectActivities(deps: CollectDeps) {
  let kv: KV | undefined;
  const stateKv = async () => (kv ??= await deps.js.views.kv(STATE_BUCKET));

  async function loadState(partition: number): Promise<PartitionState> {
    const entry = await (await stateKv()).get(`p${partition}`);
    if (!entry || entry.length === 0) return { baselines: {}, rules: deps.rules?.initialState() };
    return entry.json<PartitionState>();
  }
  async function saveState(partition: number, state: PartitionState): Promise<void> {
    await (await stateKv()).put(`p${partition}`, JSON.stringify(state));
  }

  async function toDlq(partition: number, msg: JsMsg, reason: string): Promise<void> {
    const h = headers();
    h.set('Telemetry-Dlq-Reason', reason.slice(0, 1_000));
    h.set('Telemetry-Original-Subject', msg.subject);
    h.set('Telemetry-Original-Seq', String(msg.seq));
    // Msg-Id keeps the DLQ copy unique even if this runs again after a crash.
    h.set('Nats-Msg-Id', `dlq:${msg.info.stream}:${msg.seq}`);
    await deps.js.publish(dlqSubject({ SUBJECT_PREFIX: deps.subjectPrefix }, partition), msg.data, {
      headers: h,
      msgID: `dlq:${msg.info.stream}:${msg.seq}`,
    });
    await msg.ackAck();
    collectMetrics.dlq.inc({ reason: reason.split(':')[0] ?? 'unknown' });
    deps.logger.warn({ partition, seq: msg.seq, reason }, 'batch moved to the dead-letter stream');
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
    const consumer = await deps.js.consumers.get(deps.streamName, consumerName(partition));
    const res: CollectPartitionResult = {
      batches: 0, points: 0, healthPoints: 0, dlq: 0, alertsFired: 0, alertsRecovered: 0, lag: 0, writeMs: 0, idle: false,
    };
    let state: PartitionState | undefined;

    for (let fetchNo = 0; fetchNo < input.maxFetches; fetchNo++) {
      const remaining = input.maxMs - (Date.now() - started);
      if (remaining <= 0) break;
      if (ctx?.cancellationSignal.aborted) break;
      // Latency: wait for the first batch (long poll), then take whatever else is
      // already pending without waiting. A plain fetch of N would hold a lone
      // batch until its expiry (seconds) before the alert rules ever saw it.
      const msgs: JsMsg[] = [];
      const first = await consumer.next({ expires: Math.max(1_000, Math.min(5_000, remaining)) });
      if (first) {
        msgs.push(first);
        if (input.fetchMessages > 1 && first.info.pending > 0) {
          const more = deps.js.fetch(deps.streamName, consumerName(partition), { batch: input.fetchMessages - 1, no_wait: true });
          for await (const m of more) msgs.push(m);
        }
      }
      if (msgs.length === 0) {
        res.idle = res.batches === 0;
        // Idle partition: still tick the rules so dead-man (absence) rules fire without data.
        if (deps.rules) {
          state ??= await loadState(partition);
          await evaluateAndSignal(state, [], res);
          await saveState(partition, state);
        }
        break;
      }

      // 1. Validate: a batch that does not decode is poison; it goes to the DLQ with the reason.
      const good: { msg: JsMsg; points: Point[] }[] = [];
      for (const msg of msgs) {
        try {
          good.push({ msg, points: decodeBatch(msg.data).points });
        } catch (err) {
          if (!(err instanceof BatchDecodeError)) throw err;
          await toDlq(partition, msg, `decode: ${err.message}`);
          res.dlq++;
        }
      }
      if (good.length === 0) continue;

      // 2. Health enrichment first (in process, ~10 ms per 2,000 points), so the
      //    `gpu` and `gpu_health` lines go to InfluxDB in one write. Model trouble
      //    must not hold telemetry back: logged, and the points are stored without health.
      state ??= await loadState(partition);
      const points = good.flatMap((g) => g.points);
      let health: Awaited<ReturnType<CollectorScorer['score']>>['results'] | undefined;
      let baselines = state.baselines;
      if (deps.scorer && points.length) {
        try {
          const scored = await deps.scorer.score(points, state.baselines);
          health = scored.results;
          baselines = scored.baselines;
        } catch (err) {
          deps.logger.error({ err, partition }, 'health scoring failed; telemetry is stored without health');
        }
      }
      const lines = toLines(points);
      if (health && deps.healthLines) for (const l of deps.healthLines(points, health)) lines.push(l);

      // 3. Write. Transient failure → nak and throw: Temporal retries, JetStream keeps the backlog.
      const t0 = performance.now();
      try {
        await deps.writer.write(lines);
      } catch (err) {
        if (err instanceof InfluxPermanentError) {
          // Find the bad batch(es) by writing them one by one; the good ones still go through
          // (without health this round: rare path, keep it simple).
          health = undefined;
          baselines = state.baselines;
          const kept: typeof good = [];
          for (const g of good) {
            try {
              await deps.writer.write(toLines(g.points));
              kept.push(g);
            } catch (e) {
              if (!(e instanceof InfluxPermanentError)) throw await nakAll(good, e);
              await toDlq(partition, g.msg, `influx: ${e.message}`);
              res.dlq++;
            }
          }
          good.splice(0, good.length, ...kept);
        } else {
          collectMetrics.writeErrors.inc({ kind: 'transient' });
          // A batch redelivered many times while InfluxDB is healthy is the problem itself.
          if ((await deps.writer.healthy()) && good.some((g) => g.msg.info.redeliveryCount > deps.maxDeliver)) {
            for (const g of good.filter((x) => x.msg.info.redeliveryCount > deps.maxDeliver)) {
              await toDlq(partition, g.msg, `max-deliver: failed ${g.msg.info.redeliveryCount} deliveries: ${(err as Error).message}`);
              res.dlq++;
            }
          }
          throw await nakAll(good.filter((g) => g.msg.info.redeliveryCount <= deps.maxDeliver), err);
        }
      }
      const writeMs = performance.now() - t0;
      res.writeMs += writeMs;
      collectMetrics.writeSeconds.observe(writeMs / 1_000);
      const written = health ? points : good.flatMap((g) => g.points);
      state.baselines = baselines;
      if (health) {
        res.healthPoints += health.length;
        const byClass: Record<string, number> = {};
        for (const h of health) byClass[h.class] = (byClass[h.class] ?? 0) + 1;
        for (const [cls, n] of Object.entries(byClass)) collectMetrics.healthScored.inc({ class: cls }, n);
      }

      // 4. Alert rules over the stored points, with their health.
      await evaluateAndSignal(
        state,
        written.map((point, i) => ({ point, health: health?.[i] })),
        res,
      );
      await saveState(partition, state);

      // 5. Ack only now: everything above is durable.
      await Promise.all(good.map((g) => g.msg.ackAck()));
      res.batches += good.length;
      res.points += written.length;
      collectMetrics.batches.inc(label, good.length);
      collectMetrics.points.inc(label, written.length);
      ctx?.heartbeat({ batches: res.batches, points: res.points });
    }

    const ci = await deps.jsm.consumers.info(deps.streamName, consumerName(partition));
    res.lag = ci.num_pending + ci.num_ack_pending;
    collectMetrics.lag.set(label, res.lag);
    return res;
  }

  async function evaluateAndSignal(
    state: PartitionState,
    batch: Parameters<CollectorRules['evaluate']>[1],
    res: CollectPartitionResult,
  ): Promise<void> {
    if (!deps.rules) return;
    const out = deps.rules.evaluate(state.rules as never, batch, Date.now());
    for (const ev of out.events) {
      collectMetrics.alertEvents.inc({ type: ev.type });
      if (!deps.alerts) {
        deps.logger.warn({ alert: ev.alert, type: ev.type }, 'alert rule transition (no alert sink configured)');
        continue;
      }
      // Idempotent: signal-with-start on a business-key workflow id; a retry re-sends the same signal.
      if (ev.type === 'firing') await deps.alerts.fire(ev.alert);
      else await deps.alerts.recovered(ev.alert);
      if (ev.type === 'firing') res.alertsFired++;
      else res.alertsRecovered++;
    }
    state.rules = out.state;
  }

  async function nakAll(good: { msg: JsMsg }[], err: unknown): Promise<Error> {
    for (const g of good) g.msg.nak(1_000);
    const message = (err as Error)?.message ?? String(err);
    return ApplicationFailure.retryable(`InfluxDB write failed: ${message}`, 'InfluxWriteError');
  }

  return { collectPartition };
}

export type CollectActivities = ReturnType<typeof createCollectActivities>;
