/**
 * writeGroup narrows data errors down to the rejected lines and holds
 * everything on errors about us; classifyInfluxError maps each InfluxDB
 * answer to its kind. (The same paths run against a real influxd in
 * test/integration/pipeline/influx-answers.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeGroup } from '../../../activities/collect/write-group.ts';
import { classifyInfluxError, InfluxWriteError, namedBadLines, gzipFor } from '../../../lib/influx/writer.ts';

/** A fake InfluxDB: rejects requests containing a bad line the way InfluxDB 2.7 answers, records what was stored. */
function fakeWriter(opts: { batchLines: number; bad?: Set<string>; style?: 'named' | 'partial'; maxLines?: number; fail?: InfluxWriteError }) {
  const stored = new Set<string>();
  let requests = 0;
  return {
    stored,
    get requests() {
      return requests;
    },
    batchLines: opts.batchLines,
    async writeRequest(lines: readonly string[]) {
      requests++;
      if (opts.fail) throw opts.fail;
      if (opts.maxLines && lines.length > opts.maxLines) throw classifyInfluxError(413, '{"code":"request too large"}');
      const bad = lines.filter((l) => opts.bad?.has(l));
      if (bad.length && opts.style === 'named') throw classifyInfluxError(400, JSON.stringify({ code: 'invalid', message: `unable to parse '${bad[0]}': missing field value` }));
      if (bad.length) {
        // 422 partial write: the good lines are stored, the bad ones dropped, none named.
        for (const l of lines) if (!opts.bad?.has(l)) stored.add(l);
        throw classifyInfluxError(422, `{"code":"unprocessable entity","message":"partial write: dropped=${bad.length}"}`);
      }
      for (const l of lines) stored.add(l);
    },
  };
}

const lines = Array.from({ length: 100 }, (_, i) => `gpu,device=d${i % 7} t=${i}.0 ${1_700_000_000_000_000_000n + BigInt(i)}`);

test('classifyInfluxError: each InfluxDB answer has its kind', () => {
  const kinds = Object.fromEntries([400, 401, 403, 404, 405, 408, 413, 422, 429, 500, 503].map((s) => [s, classifyInfluxError(s, '').kind]));
  assert.deepEqual(kinds, {
    400: 'data', 401: 'auth', 403: 'auth', 404: 'not-found', 405: 'config', 408: 'transient', 413: 'too-large', 422: 'data', 429: 'transient', 500: 'transient', 503: 'transient',
  });
  assert.equal(classifyInfluxError(undefined, 'ECONNREFUSED').kind, 'transient');
  assert.deepEqual(namedBadLines(`{"message":"unable to parse 'gpu,a=b x= 1': missing field value"}`), ['gpu,a=b x= 1']);
  assert.equal(gzipFor('auto', 'http://127.0.0.1:8086'), false);
  assert.equal(gzipFor('auto', 'https://influx.example.internal'), true);
  assert.equal(gzipFor('on', 'http://localhost:8086'), true);
});

test('unparsable lines named by InfluxDB are set aside; every other line is written', async () => {
  const bad = new Set([lines[3]!, lines[71]!]);
  const w = fakeWriter({ batchLines: 40, bad, style: 'named' });
  const r = await writeGroup(w, lines);
  assert.deepEqual([...r.bad.keys()].sort((a, b) => a - b), [3, 71]);
  assert.match(r.bad.get(3)!, /^400 .*unable to parse/);
  assert.equal(r.unwritten.size, 0);
  assert.equal(r.error, undefined);
  assert.equal(w.stored.size, 98);
});

test('a partial write (422, lines not named) is bisected down to the dropped lines', async () => {
  const bad = new Set([lines[0]!, lines[50]!, lines[51]!, lines[99]!]);
  const w = fakeWriter({ batchLines: 25, bad });
  const r = await writeGroup(w, lines);
  assert.deepEqual([...r.bad.keys()].sort((a, b) => a - b), [0, 50, 51, 99]);
  assert.equal(w.stored.size, 96);
  assert.ok(r.requests < 60, `bisection stays cheap (${r.requests} requests for 4 bad lines in 100)`);
});

test('413 splits the write until it fits; nothing is dead-lettered for its size', async () => {
  const w = fakeWriter({ batchLines: 100, maxLines: 12 });
  const r = await writeGroup(w, lines);
  assert.equal(r.bad.size, 0);
  assert.equal(w.stored.size, 100);
});

test('errors about us (auth, not found, config, transient) hold every line: nothing is marked bad', async () => {
  for (const [status, kind] of [[401, 'auth'], [404, 'not-found'], [405, 'config'], [503, 'transient'], [undefined, 'transient']] as const) {
    const w = fakeWriter({ batchLines: 30, fail: classifyInfluxError(status, 'refused') });
    const r = await writeGroup(w, lines);
    assert.equal(r.bad.size, 0, `${status}: no line is poison`);
    assert.equal(r.unwritten.size, 100, `${status}: every line held`);
    assert.equal(r.error?.kind, kind);
    assert.ok(r.error instanceof InfluxWriteError);
  }
});
