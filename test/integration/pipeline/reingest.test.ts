/**
 * Issue 7 on real servers (nats-server, Temporal dev server, influxd, a real
 * collect worker, the real API): re-ingest with corrected options publishes
 * the corrected points; the same options say "already ingested"; `--force`
 * publishes again (InfluxDB overwrites identical points, so the count stays);
 * a dmon file without time columns lands on the same timestamps twice; and
 * out-of-range timestamps over HTTP are refused with 400 naming the point,
 * with nothing published or written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { runCli, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, waitForCount } from '../../support/pipeline.ts';
import { startApi } from '../../support/api-server.ts';

const ROWS = 50;
const GPUS = 2;
const CSV_POINTS = ROWS * GPUS;
const DMON_POINTS = 6;
const DMON_MTIME = Date.UTC(2025, 5, 1, 8, 30);
const KEY = { 'x-api-key': 'dev-admin-key' };

let s: TestStack;
let worker: ChildHandle;
let api: Awaited<ReturnType<typeof startApi>>;
let nc: NatsConnection;
let csv: string;
let dmon: string;

/** nvidia-smi local-time CSV: 2025/01/31 12:00:00 + i s, per GPU `temperature = 40 + g*10 + i % 10`. */
function localTimeCsv(): string {
  const lines = ['timestamp, index, name, temperature.gpu, power.draw [W]'];
  for (let i = 0; i < ROWS; i++) {
    const ts = `2025/01/31 12:00:${String(i).padStart(2, '0')}.000`;
    for (let g = 0; g < GPUS; g++) lines.push(`${ts}, ${g}, NVIDIA H200, ${40 + g * 10 + (i % 10)}, ${(200 + i).toFixed(2)} W`);
  }
  return lines.join('\n') + '\n';
}
const nsAt = (ms: number) => String(BigInt(ms) * 1_000_000n);
const lastSeq = async () => (await (await nc.jetstreamManager()).streams.info(s.cfg.STREAM_NAME)).state.last_seq;

before(async () => {
  s = await startTestStack({ env: { PARTITIONS_PER_TOPIC: '2', HEALTH_BACKEND: 'off' } });
  csv = join(s.dataDir, 'h200-local.csv');
  writeFileSync(csv, localTimeCsv());
  dmon = join(s.dataDir, 'dmon-no-time.txt');
  writeFileSync(dmon, '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n 1 60 40\n 0 99 46\n 1 61 41\n 0 97 47\n 1 62 42\n');
  utimesSync(dmon, DMON_MTIME / 1000, DMON_MTIME / 1000);
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  api = await startApi(s.cfg);
  nc = await connect({ servers: s.env.NATS_URL });
});
after(async () => {
  await nc?.close();
  await api?.close();
  await worker?.stop();
  await s?.stop();
});

describe('re-ingest, time and identity at the edge', () => {
  test('first ingest (UTC, --host): every point stored under <host>/gpuN', async () => {
    const r = runCli(['ingest', csv, '--json', '--host', 'node-a'], s.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json!.points, CSV_POINTS);
    assert.equal(r.json!.published, CSV_POINTS);
    assert.equal(await waitForCount(s, CSV_POINTS, 120_000), CSV_POINTS);
    const p = await readerFor(s).pointAt('node-a/gpu1', nsAt(Date.UTC(2025, 0, 31, 12, 0, 7)));
    assert.deepEqual(p, { temperature_c: 57, power_w: 207 });
  });

  test('same file, same options: "already ingested …; use --force" and the count is unchanged', async () => {
    const before = await lastSeq();
    const r = runCli(['ingest', csv, '--host', 'node-a', '--no-progress'], s.env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /already ingested with the same options \(fingerprint [0-9a-f]{12}\): 100 points, nothing published; use --force to publish again/);
    assert.equal(r.json!.alreadyIngested, true);
    assert.equal(r.json!.published, 0);
    assert.equal(r.json!.duplicates, CSV_POINTS);
    assert.equal(await lastSeq(), before, 'nothing was published');
    await sleep(2_000);
    assert.equal(await readerFor(s).countPoints(), CSV_POINTS);
  });

  test('the same file with a corrected --tz: new points at the shifted timestamps (count doubles)', async () => {
    const r = runCli(['ingest', csv, '--json', '--host', 'node-a', '--tz', 'America/New_York'], s.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json!.published, CSV_POINTS);
    assert.equal(r.json!.alreadyIngested, false);
    assert.equal(await waitForCount(s, 2 * CSV_POINTS, 120_000), 2 * CSV_POINTS);
    // 12:00:07 in New York (EST, UTC-5) is 17:00:07Z.
    const p = await readerFor(s).pointAt('node-a/gpu1', nsAt(Date.UTC(2025, 0, 31, 17, 0, 7)));
    assert.deepEqual(p, { temperature_c: 57, power_w: 207 });
  });

  test('--force publishes again with fresh message ids; InfluxDB overwrites, so the count stays', async () => {
    const before = await lastSeq();
    const r = runCli(['ingest', csv, '--json', '--host', 'node-a', '--force'], s.env);
    assert.equal(r.status, 0, r.stderr);
    const f = (r.json!.files as { forced: boolean; published: number; notice: string }[])[0]!;
    assert.equal(f.forced, true);
    assert.equal(f.published, CSV_POINTS);
    assert.equal(r.json!.duplicates, 0);
    assert.match(f.notice, /published again \(--force/);
    assert.ok((await lastSeq()) > before, 'new messages in the stream');
    await sleep(3_000);
    assert.equal(await readerFor(s).countPoints(), 2 * CSV_POINTS);
  });

  test('dmon without time columns ingested twice: the file mtime both times, the second is a duplicate', async () => {
    const a = runCli(['ingest', dmon, '--json', '--host', 'dmon-host'], s.env);
    assert.equal(a.status, 0, a.stderr);
    const fa = (a.json!.files as { baseTime: { time: string; source: string }; published: number; fingerprint: string }[])[0]!;
    assert.deepEqual(fa.baseTime, { time: '2025-06-01T08:30:00.000Z', source: 'file mtime' });
    assert.equal(fa.published, DMON_POINTS);
    assert.equal(await waitForCount(s, 2 * CSV_POINTS + DMON_POINTS, 120_000), 2 * CSV_POINTS + DMON_POINTS);
    const reader = readerFor(s);
    assert.deepEqual(await reader.pointAt('dmon-host/gpu1', nsAt(DMON_MTIME + 2_000)), { power_w: 62, temperature_c: 42 });

    const b = runCli(['ingest', dmon, '--json', '--host', 'dmon-host'], s.env);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(b.json!.alreadyIngested, true);
    assert.equal((b.json!.files as { fingerprint: string }[])[0]!.fingerprint, fa.fingerprint);
    // Even re-published, the points land on the same timestamps: the count does not move.
    const c = runCli(['ingest', dmon, '--json', '--host', 'dmon-host', '--force'], s.env);
    assert.equal(c.json!.published, DMON_POINTS);
    await sleep(3_000);
    assert.equal(await reader.countPoints(), 2 * CSV_POINTS + DMON_POINTS);
    assert.equal(await reader.countPoints({ device: 'dmon-host/gpu0' }), 3);
  });

  test('HTTP: out-of-range timestamps → 400 naming the point / line; nothing published or written', async () => {
    const before = await lastSeq();
    const post = (body: string, type: string) =>
      fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers: { ...KEY, 'content-type': type }, body });
    const json = await post(
      JSON.stringify({
        points: [
          { device: 'GPU-range-ok', ts: '2025-05-01T12:00:00Z', fields: { power_w: 1 } },
          { device: 'GPU-range-bad', ts: '2300-01-01T00:00:00Z', fields: { power_w: 2 } },
          { device: 'GPU-range-old', ts: '1969-07-20T20:17:00Z', fields: { power_w: 3 } },
        ],
      }),
      'application/json',
    );
    assert.equal(json.status, 400);
    const jb = (await json.json()) as { message: string; issues: { path: string; message: string }[] };
    assert.deepEqual(jb.issues.map((i) => i.path), ['points.1.ts', 'points.2.ts']);
    assert.match(jb.issues[0]!.message, /2300-01-01T00:00:00.000Z is after the accepted maximum/);
    assert.match(jb.issues[1]!.message, /1969-07-20T20:17:00.000Z is before the accepted minimum/);

    const lp = await post('gpu,device=GPU-range-ok power_w=1 1746100800000000000\ngpu,device=GPU-range-bad power_w=2 9000000000000000000', 'text/plain');
    assert.equal(lp.status, 400);
    const lb = (await lp.json()) as { message: string; issues: { line: number }[] };
    assert.equal(lb.issues[0]!.line, 2);
    assert.match(lb.message, /^line 2: timestamp 2255-03-14T.* is after the accepted maximum/);

    assert.equal(await lastSeq(), before, 'nothing was published');
    await sleep(2_000);
    const reader = readerFor(s);
    assert.equal(await reader.countPoints({ device: 'GPU-range-ok' }), 0);
    assert.equal(await reader.countPoints(), 2 * CSV_POINTS + DMON_POINTS);
  });
});
