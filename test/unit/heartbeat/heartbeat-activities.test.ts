/**
 * The heartbeat check's decisions over scripted answers from the Temporal
 * task-queue API and JetStream (their shapes as the real clients return
 * them): each finding raises its alert once, recovers when the cause is gone,
 * and a backlog only counts as stuck while nothing is delivered.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JetStreamManager } from 'nats';
import { createHeartbeatActivities, HEARTBEAT_RULES } from '../../../activities/heartbeat/heartbeat-activities.ts';
import type { HeartbeatMemory } from '../../../activities/heartbeat/heartbeat-types.ts';
import type { AlertInput } from '../../../lib/alerts/types.ts';
import { createLogger } from '../../../lib/logger.ts';

function world() {
  let now = 1_800_000_000_000;
  const w = {
    lastPollMs: now as number | undefined,
    collectorsRunning: true,
    consumers: new Map<string, { num_pending: number; num_ack_pending: number; delivered: { stream_seq: number } }>(),
    lastTs: new Date(now).toISOString(),
    fired: [] as AlertInput[],
    recovered: [] as AlertInput[],
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
  const client = {
    workflow: {
      getHandle: () => ({
        async describe() {
          if (!w.collectorsRunning) throw new WorkflowNotFoundError('not found', 'collector-p0', undefined);
          return { status: { name: 'RUNNING' } };
        },
      }),
    },
    workflowService: {
      async describeTaskQueue() {
        return { pollers: w.lastPollMs === undefined ? [] : [{ lastAccessTime: { seconds: Math.floor(w.lastPollMs / 1_000), nanos: 0 } }] };
      },
    },
  } as unknown as Client;
  const jsm = {
    consumers: {
      async info(_stream: string, name: string) {
        const c = w.consumers.get(name);
        if (!c) throw new Error('consumer not found');
        return c;
      },
    },
    streams: { async info() { return { state: { last_ts: w.lastTs } }; } },
  } as unknown as JetStreamManager;
  const hb = createHeartbeatActivities({
    client,
    namespace: 'default',
    jsm,
    streamName: 'TELEMETRY',
    partitions: 2,
    stallMs: 30_000,
    lagMs: 60_000,
    noDataMs: 300_000,
    alerts: { fire: async (a) => void w.fired.push(a), recovered: async (a) => void w.recovered.push(a) },
    logger: createLogger('silent'),
    now: w.now,
  });
  return { w, hb };
}

describe('checkPipeline', () => {
  test('collector stopped: raised once after the stall bound, recovered when a worker polls again', async () => {
    const { w, hb } = world();
    let memory: HeartbeatMemory = { open: [], partitions: {} };
    const check = async () => (memory = (await hb.checkPipeline({ memory })).memory);
    await check();
    assert.equal(w.fired.length, 0);
    w.advance(31_000); // the worker stopped polling at the start
    await check();
    await check();
    assert.deepEqual(w.fired.map((a) => [a.device, a.rule, a.severity]), [['pipeline', HEARTBEAT_RULES.stopped, 'critical']], 'one alert, not one per check');
    w.lastPollMs = w.now();
    await check();
    assert.deepEqual(w.recovered.map((a) => a.rule), [HEARTBEAT_RULES.stopped]);
    assert.deepEqual(memory.open, []);
  });

  test('a stack that never started its collectors is not "stopped"', async () => {
    const { w, hb } = world();
    w.collectorsRunning = false;
    w.lastPollMs = undefined;
    w.advance(600_000);
    w.lastTs = new Date(w.now()).toISOString();
    const r = await hb.checkPipeline({ memory: { open: [], partitions: {} } });
    assert.deepEqual(r.firing, []);
    assert.equal(w.fired.length, 0);
  });

  test('lag: a backlog counts only while nothing is delivered, for longer than the lag bound', async () => {
    const { w, hb } = world();
    let memory: HeartbeatMemory = { open: [], partitions: {} };
    const check = async () => {
      w.lastPollMs = w.now(); // the worker polls: only the backlog is in question
      w.lastTs = new Date(w.now()).toISOString();
      const r = await hb.checkPipeline({ memory });
      memory = r.memory;
      return r;
    };
    w.consumers.set('collector-p0', { num_pending: 50, num_ack_pending: 2, delivered: { stream_seq: 100 } });
    w.consumers.set('collector-p1', { num_pending: 10, num_ack_pending: 0, delivered: { stream_seq: 7 } });
    await check();
    for (let i = 0; i < 4; i++) {
      w.advance(20_000);
      w.consumers.get('collector-p1')!.delivered.stream_seq += 5; // p1 is consumed, p0 is not
      await check();
    }
    assert.deepEqual(w.fired.map((a) => a.rule), [HEARTBEAT_RULES.lag]);
    assert.match(w.fired[0]!.summary, /p0 52 batches for 60 s/);
    assert.doesNotMatch(w.fired[0]!.summary, /p1/);
    w.consumers.get('collector-p0')!.delivered.stream_seq = 140;
    w.advance(20_000);
    const r = await check();
    assert.deepEqual(w.recovered.map((a) => a.rule), [HEARTBEAT_RULES.lag]);
    assert.match(r.details, /\*\*pipeline OK\*\*/);
  });

  test('no data: raised when the newest batch is older than the bound (warning)', async () => {
    const { w, hb } = world();
    w.advance(301_000);
    w.lastPollMs = w.now();
    const r = await hb.checkPipeline({ memory: { open: [], partitions: {} } });
    assert.deepEqual(r.firing, [HEARTBEAT_RULES.noData]);
    assert.equal(w.fired[0]!.severity, 'warning');
    assert.match(w.fired[0]!.summary, /no telemetry batch reached the stream for 301 s/);
  });
});
