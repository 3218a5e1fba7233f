/**
 * `telemetry-stack bench ingest` through the CLI at a small size: it starts
 * its own stack (real Temporal, NATS, InfluxDB, the collect worker with the
 * health model), runs one trial, verifies the exact counts, removes its data,
 * and prints one JSON object on the last line with every figure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCliAsync } from '../../support/processes.ts';

const POINTS = 20_000;
const PROCESSES = ['ingest', 'worker', 'nats', 'influxd', 'temporal'];

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} = ${v}`);

test('bench ingest --points 20000 --trials 1 --json: figures, verified counts, nothing left behind', { timeout: 180_000 }, async () => {
  const r = await runCliAsync(['bench', 'ingest', '--points', String(POINTS), '--trials', '1', '--json'], { LOG_LEVEL: 'warn' });
  assert.equal(r.status, 0, r.stderr);
  const j = r.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.ok(j, `no JSON on the last line:\n${r.stdout}`);
  assert.equal(j.bench, 'ingest');
  assert.equal(j.points, POINTS);
  assert.equal(j.health, 'on');
  assert.equal(j.trial_count, 1);
  for (const k of ['pipeline_pps', 'pipeline_s', 'influx_raw_pps', 'ratio_vs_influx', 'nats_raw_pps', 'parse_rows_per_s', 'cpu_pipeline_vs_influxd']) positive(j[k], k);
  for (const p of PROCESSES) {
    assert.ok(Number.isFinite(j.cpu_s_per_mpoint[p]) && j.cpu_s_per_mpoint[p] >= 0, `cpu_s_per_mpoint.${p}`);
    positive(j.rss_mb_peak[p], `rss_mb_peak.${p}`);
  }
  positive(j.cpu_s_per_mpoint.pipeline, 'cpu_s_per_mpoint.pipeline');
  assert.ok(Math.abs(j.ratio_vs_influx - j.pipeline_pps / j.influx_raw_pps) < 0.01 * j.ratio_vs_influx + 0.001);
  // min / max mirror the medians; one trial → all three equal.
  assert.deepEqual(j.min, j.trials[0]);
  assert.deepEqual(j.max, j.trials[0]);
  assert.equal(j.trials.length, 1);
  assert.equal(j.trials[0].pipeline_pps, j.pipeline_pps);
  // Counts were checked exactly (a mismatch fails the command).
  assert.equal(j.verified.influx_points, POINTS);
  assert.equal(j.verified.influx_raw_points, POINTS);
  assert.ok(j.verified.stream_messages >= Math.ceil(POINTS / j.batch_points));
  assert.equal(j.verified.nats_raw_messages, j.verified.stream_messages);
  assert.ok(j.influx_raw_config.batch > 0 && j.influx_raw_config.concurrency > 0);
  assert.equal(j.influx_sweep.length, 4);
  // The human table came before the JSON, and the stack's temp data is gone.
  assert.match(r.stdout, /pipeline: ingest start → all collected, points\/s/);
  const dataDir = /data in (\S+)\)/.exec(r.stderr)?.[1];
  assert.ok(dataDir, r.stderr);
  assert.equal(existsSync(dataDir), false, `${dataDir} was not removed`);
});
