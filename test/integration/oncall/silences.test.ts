/**
 * Silences against real servers: a Temporal dev server and nats-server -js
 * (the silences bucket), the REAL silence service (store → visibility query
 * on the alert search attributes → signal) and the REAL on-call activity on
 * a worker; channels are recorded. Wall-clock time, short windows.
 *
 * - created while an escalation waits on its timer: the next level is not
 *   paged; the window ends → the escalation resumes with the wait it had left
 *   (onEnd resume) or the alert resolves (onEnd resolve);
 * - an alert raised inside a window is recorded but pages nobody;
 * - ending a silence early resumes at once; the audit trail names who/when/why;
 * - a host matcher does not pause alerts of other hosts;
 * - the REST routes (GET /v1/oncall, /v1/silences) over the same stores;
 * - the CLI's `silence add|end` through the real API (over a port) record the
 *   key's identity (`key:<name>`); a spoofed `--by` without act-as is refused
 *   (exit 4) and nothing is recorded; `--direct` records `cli:<user>@<host>`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
import type { alertEscalation } from '../../../workflows/alert-escalation.ts';
import { stateQuery, type AlertStateView } from '../../../workflows/alert-messages.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { connectNats } from '../../../lib/stream/jetstream.ts';
import { SilenceStore } from '../../../lib/oncall/silence-store.ts';
import { SILENCE_LIMITS, SilenceRequestError } from '../../../lib/oncall/silences.ts';
import { createOncallActivities } from '../../../activities/oncall/oncall-activities.ts';
import { createOncallService, type OncallService } from '../../../api/oncall-service.ts';
import { createLogger } from '../../../lib/logger.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filteredProcessEnv, startTestStack, type TestStack } from '../../support/test-stack.ts';
import { startApi } from '../../support/api-server.ts';
import { loadConfig } from '../../../lib/config.ts';
import { API_CALL_ERRORS } from '../../../cli/api-client.ts';
import { temporalClient } from '../../support/pipeline.ts';
import { runCliAsync } from '../../support/processes.ts';
import { createPageRecorder } from '../../support/oncall-fakes.ts';
import { testAlert } from '../../unit/alerts/escalation-fakes.ts';
import { buildApp } from '../../../api/app.ts';
import { ScheduleStore } from '../../../lib/oncall/schedule-store.ts';
import { auth, KEYS, makeServices, testConfig } from '../../unit/api/fakes.ts';

const EXAMPLE_SCHEDULES = new URL('../../../infra/config/oncall-schedules.example.json', import.meta.url).pathname;

const TASK_QUEUE = 'alert-silence-it';
const WORKFLOW_FILE = new URL('../../../workflows/alert-escalation.ts', import.meta.url).pathname;
/** Wall-clock tolerance for "paged at T" on a busy 2-core box. */
const TOLERANCE_MS = 2_500;

let s: TestStack;
let temporal: { client: Client; close(): Promise<void> };
let nc: NatsConnection;
let silences: SilenceStore;
let service: OncallService;
let worker: Worker;
let running: Promise<void>;
let workerConnection: NativeConnection;
const pages = createPageRecorder();
/** The API the CLI's silence add|end call, with named keys: the name is the identity recorded. */
let api: Awaited<ReturnType<typeof startApi>>;
const K = { oncall: 'silence-oncall-key-0123456789', bot: 'silence-pagerbot-key-0123456789' } as const;
const keyFile: Record<keyof typeof K, string> = { oncall: '', bot: '' };

const policy: EscalationPolicy = {
  levels: [
    { name: 'first', targets: [{ channel: 'slack', target: 'U0FIRST01' }], waitFor: '8s' },
    { name: 'second', targets: [{ channel: 'slack', target: 'U0SECOND1' }], waitFor: '8s' },
    { name: 'third', targets: [{ channel: 'slack', target: 'U0THIRD01' }], waitFor: '8s' },
  ],
  repeat: 0,
  autoResolveAfter: '1m',
  snoozeMax: '1h',
};

async function until<T>(what: string, fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v).slice(0, 400)})`);
    await sleep(100);
  }
}

async function raise(device: string, host = 'node-1') {
  const id = `alert-${device}-silence`;
  const handle = await temporal.client.workflow.start<typeof alertEscalation>('alertEscalation', {
    workflowId: id,
    taskQueue: TASK_QUEUE,
    args: [{ alert: { ...testAlert(device, 'silence'), alertId: id, host }, policy }],
  });
  return { id, handle, state: () => handle.query(stateQuery) as Promise<AlertStateView> };
}

before(async () => {
  s = await startTestStack({ components: ['temporal', 'nats'] });
  temporal = await temporalClient(s);
  nc = await connectNats(s.stack.endpoints.nats!.url, 'silence-test');
  silences = await SilenceStore.open(nc.jetstream());
  await silences.watch();
  service = createOncallService({ client: temporal.client, silences });
  workerConnection = await NativeConnection.connect({ address: s.stack.endpoints.temporal!.address });
  worker = await Worker.create({
    connection: workerConnection,
    namespace: s.cfg.TEMPORAL_NAMESPACE,
    taskQueue: TASK_QUEUE,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never }),
    activities: { ...pages.activities, ...createOncallActivities({ silences, logger: createLogger('silent') }) },
  });
  running = worker.run();
  // The real API (api/real-services.ts) over the same Temporal and NATS. This file starts no
  // InfluxDB or chain: silences need neither, so their endpoints are placeholders nothing here calls.
  api = await startApi(
    loadConfig({
      ...filteredProcessEnv(),
      ...s.env,
      INFLUXDB_URL: 'http://127.0.0.1:9',
      INFLUXDB_TOKEN: 'unused-by-silences',
      CHAIN_RPC_URL: 'http://127.0.0.1:9',
      API_KEYS: [`oncall-cli=${K.oncall}:read+ack`, `pagerbot=${K.bot}:ack+act-as`].join(','),
    }),
  );
  for (const k of Object.keys(K) as (keyof typeof K)[]) {
    keyFile[k] = join(s.dataDir, `${k}.key`);
    writeFileSync(keyFile[k], `${K[k]}\n`, { mode: 0o600 });
  }
});

after(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await workerConnection?.close();
  await silences?.close();
  await nc?.close();
  await temporal?.close();
  await s?.stop();
});

describe('silences (dev server + JetStream KV)', () => {
  test('a silence created while level 0 waits: level 1 is not paged; when it ends the escalation resumes with the wait it had left', async () => {
    const a = await raise('GPU-silence-1');
    const first = await until('first page', () => pages.pages(a.id), (p) => p.length === 1);
    const t0 = first[0]!.atMs;
    await sleep(3_000); // level 0 is waiting on its 8 s timer
    const added = await service.silences.add({ matchers: { device: 'GPU-silence-1' }, for: '12s', reason: 'firmware upgrade on node-1', by: 'tester' });
    const silencedAt = Date.now();
    assert.equal(added.signalled, 1, 'the running escalation was signalled');
    const st = await until('silenced', a.state, (v) => v.status === 'silenced', 5_000);
    assert.equal(st.silence?.id, added.silence.id);
    assert.ok(Date.now() - silencedAt < 2_000, 'paused at once, not at the next page');

    // Level 1 was due at t0 + 8 s: it must not be paged while the window lasts (ends ~t0 + 15 s).
    await sleep(Date.parse(added.silence.endsAt) - Date.now() - 500);
    assert.equal(pages.pages(a.id).length, 1, 'nobody paged during the silence');

    // Resumes with the ~5 s that were left of level 0's wait.
    const after2 = await until('level 1 after the silence', () => pages.pages(a.id), (p) => p.length === 2, 20_000);
    const resumeDelay = after2[1]!.atMs - Date.parse(added.silence.endsAt);
    const leftMs = t0 + 8_000 - silencedAt;
    assert.ok(Math.abs(resumeDelay - leftMs) <= TOLERANCE_MS, `level 1 paged ${resumeDelay} ms after the window, expected ~${leftMs}`);
    assert.deepEqual(after2[1]!.targets, ['U0SECOND1']);
    const st2 = await a.state();
    assert.equal(st2.status, 'firing');
    assert.ok(st2.history.some((h) => h.event.includes(`silence ${added.silence.id} window ended: escalation resumes`)));
    await a.handle.terminate('test done');
  });

  test('an alert raised inside a window (onEnd resolve) is recorded but pages nobody, and resolves when the window ends', async () => {
    const added = await service.silences.add({ matchers: { device: 'GPU-silence-2' }, for: '10s', reason: 'rack move', by: 'ops', onEnd: 'resolve' });
    assert.equal(added.signalled, 0);
    const a = await raise('GPU-silence-2');
    const st = await until('silenced', a.state, (v) => v.status === 'silenced', 10_000);
    assert.match(st.history[0]!.event, /^raised/, 'recorded');
    const result = await a.handle.result();
    assert.equal(result.status, 'resolved');
    assert.equal(result.resolved?.by, `silence:${added.silence.id}`);
    assert.equal(pages.pages(a.id).length, 0, 'never paged');
  });

  test('ending early resumes at once; the audit trail keeps who, when and why; a host matcher spares other hosts', async () => {
    const a = await raise('GPU-silence-3', 'node-1');
    const b = await raise('GPU-silence-4', 'node-2');
    await until('both posted', () => pages.pages(a.id).length + pages.pages(b.id).length, (n) => n === 2);
    const added = await service.silences.add({ matchers: { host: 'node-2' }, for: '1h', reason: 'node-2 reimage', by: 'alice' });
    assert.ok(added.signalled >= 2, 'host is no search attribute: every running alert is asked, each checks its own host');
    await until('b silenced', b.state, (v) => v.status === 'silenced', 5_000);
    assert.equal((await a.state()).status, 'firing', 'node-1 is not silenced');

    await sleep(1_000);
    const ended = await service.silences.end(added.silence.id, 'bob', 'reimage finished early');
    assert.ok(ended.signalled >= 1);
    await until('b resumes', b.state, (v) => v.status === 'firing', 5_000);

    const listed = (await service.silences.list()).find((x) => x.id === added.silence.id)!;
    assert.equal(listed.created.by, 'alice');
    assert.equal(listed.reason, 'node-2 reimage');
    assert.equal(listed.ended?.by, 'bob');
    assert.equal(listed.ended?.reason, 'reimage finished early');
    assert.ok(Date.parse(listed.ended!.at) >= Date.parse(listed.created.at));
    await a.handle.terminate('test done');
    await b.handle.terminate('test done');
  });

  test('bad requests are refused naming the field', async () => {
    await assert.rejects(service.silences.add({ matchers: {}, for: '2h', reason: 'x', by: 'me' }), (err: unknown) => {
      assert.ok(err instanceof SilenceRequestError);
      assert.match(err.message, /at least one of device, host, rule/);
      assert.match(err.message, /reason: say why/);
      return true;
    });
    await assert.rejects(service.silences.add({ matchers: { rule: 'r' }, for: '90d', reason: 'too long', by: 'me' }), /for: expected a duration between 10s and 30d/);
  });
});

describe('silence bounds', () => {
  test(`${SILENCE_LIMITS.active} active silences are accepted; one more is refused; ending one makes room`, async () => {
    // A bucket of its own (another store over the same server would share the records), so count from what exists.
    const existing = (await silences.list()).filter((x) => !x.ended && Date.parse(x.endsAt) > Date.now()).length;
    const ids: string[] = [];
    for (let i = existing; i < SILENCE_LIMITS.active; i++) {
      ids.push((await silences.add({ matchers: { device: `GPU-bound-${i}` }, for: '1h', reason: 'bound test', by: 'tester' })).id);
    }
    await assert.rejects(silences.add({ matchers: { device: 'GPU-bound-over' }, for: '1h', reason: 'bound test', by: 'tester' }), /at most 1000 active or planned silences/);
    await silences.end(ids[0]!, 'tester');
    const ok = await silences.add({ matchers: { device: 'GPU-bound-over' }, for: '1h', reason: 'bound test', by: 'tester' });
    assert.ok(ok.id);
    // The page-time check still finds the right one among the bound's worth.
    assert.equal((await silences.activeFor({ device: 'GPU-bound-999', rule: 'x' }))?.reason, 'bound test');
    assert.equal(await silences.activeFor({ device: 'GPU-bound-none', rule: 'x' }), undefined);
    for (const id of [...ids.slice(1), ok.id]) await silences.end(id, 'tester'); // leave room for the next tests
  });
});

describe('REST: /v1/oncall and /v1/silences (app.inject over the real stores)', () => {
  test('who is on call, silences through the API with scopes and clear errors', async () => {
    const services = { ...makeServices(), oncall: createOncallService({ client: temporal.client, silences, schedules: new ScheduleStore(EXAMPLE_SCHEDULES) }) };
    const app = await buildApp({ cfg: testConfig(), services, logger: false });
    try {
      const who = await app.inject({ url: '/v1/oncall?schedule=gpu-primary&at=2026-12-25T12:00:00%2B01:00', headers: auth(KEYS.read) });
      assert.equal(who.statusCode, 200, who.body);
      assert.deepEqual(who.json().oncall.map((o: { person: { id: string }; source: string }) => [o.person.id, o.source]), [['dave', 'override']]);
      assert.equal((await app.inject({ url: '/v1/oncall', headers: auth(KEYS.read) })).json().oncall.length, 2, 'every schedule');
      const unknown = await app.inject({ url: '/v1/oncall?schedule=nope', headers: auth(KEYS.read) });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().message, /unknown on-call schedule "nope"/);
      assert.equal((await app.inject({ url: '/v1/oncall?at=tomorrow', headers: auth(KEYS.read) })).statusCode, 400);

      const body = { matchers: { rule: 'gpu-temp-*' }, for: '2h', reason: 'planned driver rollout', by: 'carol' };
      assert.equal((await app.inject({ method: 'POST', url: '/v1/silences', headers: auth(KEYS.read), payload: body })).statusCode, 403, 'read scope cannot silence');
      // Who silences is the caller: a body `by` needs act-as, else the key's identity is recorded.
      const spoofed = await app.inject({ method: 'POST', url: '/v1/silences', headers: auth(KEYS.ack), payload: body });
      assert.equal(spoofed.statusCode, 403, 'a body by without act-as');
      assert.match(spoofed.json().message, /"act-as"/);
      const created = await app.inject({ method: 'POST', url: '/v1/silences', headers: auth(KEYS.actAs), payload: body });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().silence.id as string;
      const bad = await app.inject({ method: 'POST', url: '/v1/silences', headers: auth(KEYS.actAs), payload: { ...body, for: 'soon' } });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /for: expected a duration/);
      const listed = await app.inject({ url: '/v1/silences', headers: auth(KEYS.read) });
      assert.ok(listed.json().silences.some((s: { id: string; created: { by: string } }) => s.id === id && s.created.by === 'carol (by key:pagerbot)'));
      const ended = await app.inject({ method: 'POST', url: `/v1/silences/${id}/end`, headers: auth(KEYS.ack), payload: { reason: 'rollout done' } });
      assert.equal(ended.statusCode, 200, ended.body);
      assert.equal(ended.json().silence.ended.by, 'key:acker');
      assert.equal((await app.inject({ method: 'POST', url: '/v1/silences/sil-nope/end', headers: auth(KEYS.ack), payload: {} })).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});

describe('CLI: silence add|list|end, oncall who', () => {
  /** The CLI as an operator runs it against the API: its URL and a key file, nothing else about the stack. */
  const viaApi = (args: string[], key: keyof typeof K) => runCliAsync(args, { NODE_ENV: 'test', TELEMETRY_API_URL: api.url, TELEMETRY_API_KEY_FILE: keyFile[key] });

  test('silence add|end through the API record the key\'s identity; a spoofed --by is refused (exit 4, nothing recorded); bad input names the problem', async () => {
    const a = await raise('GPU-silence-cli');
    await until('posted', () => pages.pages(a.id).length, (n) => n === 1);
    const env = { ...s.env, ONCALL_SCHEDULES_FILE: EXAMPLE_SCHEDULES };
    const window = ['silence', 'add', '--device', 'GPU-silence-cli', '--for', '30m', '--reason', 'cli window'];

    const spoofed = await viaApi([...window, '--by', 'ops'], 'oncall');
    assert.equal(spoofed.status, API_CALL_ERRORS.forbidden.exitCode, spoofed.stderr);
    assert.match(spoofed.stderr, /refused \(403\): this key acts as "key:oncall-cli"; .*"act-as" scope/);
    assert.ok(!(await silences.list()).some((x) => x.matchers.device === 'GPU-silence-cli'), 'nothing recorded by the refused request');
    assert.equal((await a.state()).status, 'firing');

    const added = await viaApi([...window, '--json'], 'oncall');
    assert.equal(added.status, 0, added.stderr);
    const silence = added.json!.silence as { id: string; created: { by: string } };
    assert.equal(added.json!.signalled, 1);
    assert.equal(silence.created.by, 'key:oncall-cli');
    await until('silenced', a.state, (v) => v.status === 'silenced', 5_000);

    const listed = await runCliAsync(['silence', 'list', '--json'], env);
    assert.ok((listed.json!.silences as { id: string; reason: string; created: { by: string } }[]).some((x) => x.id === silence.id && x.reason === 'cli window' && x.created.by === 'key:oncall-cli'));

    const spoofedEnd = await viaApi(['silence', 'end', silence.id, '--by', 'ops2'], 'oncall');
    assert.equal(spoofedEnd.status, API_CALL_ERRORS.forbidden.exitCode, spoofedEnd.stderr);
    assert.equal((await silences.list()).find((x) => x.id === silence.id)?.ended, undefined, 'still active after the refused end');
    const ended = await viaApi(['silence', 'end', silence.id, '--by', 'ops2', '--reason', 'done'], 'bot');
    assert.equal(ended.status, 0, ended.stderr);
    assert.match(ended.stdout, /ended by ops2 \(by key:pagerbot\) /);
    assert.equal((await silences.list()).find((x) => x.id === silence.id)?.ended?.by, 'ops2 (by key:pagerbot)');
    await until('resumed', a.state, (v) => v.status === 'firing', 5_000);

    const bad = await viaApi(['silence', 'add', '--for', '2h', '--reason', 'no matcher'], 'oncall');
    assert.equal(bad.status, API_CALL_ERRORS.bad_request.exitCode, bad.stderr);
    assert.match(bad.stderr, /rejected the request \(400\):.*a silence needs at least one of device, host, rule/);
    const missing = await viaApi(['silence', 'end', 'sil-no-such'], 'oncall');
    assert.equal(missing.status, API_CALL_ERRORS.not_found.exitCode, missing.stderr);

    const who = await runCliAsync(['oncall', 'who', '--schedule', 'gpu-primary', '--at', '2026-01-12T10:00:00+01:00', '--json'], env);
    assert.equal(who.status, 0, who.stderr);
    assert.equal((who.json!.oncall as { person: { id: string } }[])[0]!.person.id, 'carol');
    await a.handle.terminate('test done');
  });

  test('--direct (break glass, API down) goes to Temporal and NATS and records cli:<user>@<host>, with --by beside it', async () => {
    const added = await runCliAsync(['silence', 'add', '--rule', 'gpu-direct-*', '--for', '10m', '--reason', 'api down', '--by', 'alice', '--direct', '--json'], s.env);
    assert.equal(added.status, 0, added.stderr);
    const silence = added.json!.silence as { id: string; created: { by: string } };
    assert.match(silence.created.by, /^alice \(by cli:[^@]+@.+\)$/);
    assert.equal(added.json!.direct, true);
    const ended = await runCliAsync(['silence', 'end', silence.id, '--direct', '--json'], s.env);
    assert.equal(ended.status, 0, ended.stderr);
    assert.match((await silences.list()).find((x) => x.id === silence.id)?.ended?.by ?? '', /^cli:[^@]+@.+$/);
  });
});
