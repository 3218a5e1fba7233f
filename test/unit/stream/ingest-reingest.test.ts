/**
 * Issue 7, without a server (fake JetStream client with Nats-Msg-Id dedup):
 * checkpoint and message ids carry the options fingerprint, `force` publishes
 * again with fresh ids, a file already ingested with the same options says so,
 * and a dmon file without time columns ingests to the same timestamps twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamClient, PubAck } from 'nats';
import { ingestFile, type IngestTarget } from '../../../lib/stream/ingest.ts';
import type { PublishPolicy } from '../../../lib/stream/publisher.ts';
import { decodeBatch } from '../../../lib/stream/codec.ts';
import type { Point } from '../../../lib/point.ts';

const policy: PublishPolicy = { attempts: 1, backoffFactor: 2, initialDelayMs: 1, maxDelayMs: 1, waitWhenFull: false };

/** One fake server for the whole file: like JetStream, a repeated Nats-Msg-Id is a duplicate. */
function fakeJs() {
  const published: { msgID: string; points: Point[]; duplicate: boolean }[] = [];
  const seen = new Set<string>();
  const js = {
    async publish(_subject: string, data: Uint8Array, opts: { msgID: string }) {
      const duplicate = seen.has(opts.msgID);
      seen.add(opts.msgID);
      published.push({ msgID: opts.msgID, points: decodeBatch(data).points, duplicate });
      return { stream: 'TELEMETRY', seq: published.length, duplicate, domain: '' } as PubAck;
    },
  } as unknown as JetStreamClient;
  return { js, published };
}

function csv(rows: number): string {
  const lines = ['timestamp, index, temperature.gpu'];
  for (let i = 0; i < rows; i++) {
    const s = String(i % 60).padStart(2, '0');
    const m = String(Math.floor(i / 60)).padStart(2, '0');
    for (let g = 0; g < 2; g++) lines.push(`2025/01/31 12:${m}:${s}.000, ${g}, ${40 + g + (i % 10)}`);
  }
  return lines.join('\n') + '\n';
}

describe('ingestFile: re-ingest with other options, --force, already ingested', () => {
  let dir: string;
  let checkpoints: string;
  let file: string;
  const server = fakeJs();
  const target = (): IngestTarget => ({ js: server.js, subjectPrefix: 'telemetry.p', partitions: 2, batchPoints: 50, policy, checkpointDir: checkpoints });
  const newIds = (from: number) => server.published.slice(from).filter((m) => !m.duplicate);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reingest-'));
    checkpoints = join(dir, 'ingest');
    file = join(dir, 'gpu.csv');
    writeFileSync(file, csv(100));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('first ingest publishes everything; msg ids carry the options fingerprint', async () => {
    const r = await ingestFile(file, target(), { timeZone: 'UTC' });
    assert.equal(r.points, 200);
    assert.equal(r.published, 200);
    assert.equal(r.duplicates, 0);
    assert.equal(r.alreadyIngested, false);
    assert.match(r.fingerprint, /^[0-9a-f]{12}$/);
    assert.equal(r.options.timeZone, 'UTC');
    assert.ok(server.published.every((m) => new RegExp(`^f:[0-9a-f]{24}:o${r.fingerprint}:p\\d+:b\\d+:n50$`).test(m.msgID)), server.published[0]!.msgID);
  });

  test('same options again: nothing published, the summary says "already ingested … use --force"', async () => {
    const before = server.published.length;
    const r = await ingestFile(file, target(), { timeZone: 'UTC' });
    assert.equal(server.published.length, before, 'the checkpoint skips every batch');
    assert.equal(r.published, 0);
    assert.equal(r.duplicates, 200);
    assert.equal(r.alreadyIngested, true);
    assert.match(r.notice!, /^already ingested with the same options \(fingerprint [0-9a-f]{12}\): 200 points, nothing published; use --force to publish again$/);
  });

  test('a corrected --tz is new content: new ids, new checkpoint, points at the shifted timestamps', async () => {
    const before = server.published.length;
    const r = await ingestFile(file, target(), { timeZone: 'Europe/Paris' });
    assert.equal(r.published, 200);
    assert.equal(r.alreadyIngested, false);
    const sent = newIds(before);
    assert.equal(sent.reduce((s, m) => s + m.points.length, 0), 200);
    // 12:00 in Paris (UTC+1 in January) is 11:00Z.
    const first = sent.flatMap((m) => m.points).find((p) => p.device === 'gpu0' && p.fields.temperature_c === 40)!;
    assert.equal(first.ts, String(BigInt(Date.UTC(2025, 0, 31, 11)) * 1_000_000n));
    assert.equal(readdirSync(checkpoints).filter((f) => f.endsWith('.json')).length, 2, 'one checkpoint per (digest, fingerprint)');
    // And that one is now complete too.
    const again = await ingestFile(file, target(), { timeZone: 'Europe/Paris' });
    assert.equal(again.alreadyIngested, true);
  });

  test('force: published again regardless of the checkpoint, with fresh ids JetStream does not drop', async () => {
    const before = server.published.length;
    const r = await ingestFile(file, target(), { timeZone: 'UTC' }, undefined, { force: true });
    assert.equal(r.forced, true);
    assert.equal(r.published, 200);
    assert.equal(r.duplicates, 0);
    assert.equal(r.alreadyIngested, false);
    assert.match(r.notice!, /published again \(--force/);
    const sent = server.published.slice(before);
    assert.ok(sent.every((m) => !m.duplicate));
    assert.ok(sent.every((m) => /:o[0-9a-f]{12}:r[0-9a-f]{8}:p\d+:b\d+/.test(m.msgID)), sent[0]!.msgID);
    // A second force is not deduplicated either (new nonce).
    const r2 = await ingestFile(file, target(), { timeZone: 'UTC' }, undefined, { force: true });
    assert.equal(r2.published, 200);
  });

  test('dmon without time columns ingested twice: same timestamps (file mtime), the second is a duplicate', async () => {
    const dmon = join(dir, 'dmon.txt');
    writeFileSync(dmon, '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n 1 60 40\n 0 99 46\n 1 61 41\n');
    const mtime = Date.UTC(2025, 5, 1, 8, 30);
    utimesSync(dmon, mtime / 1000, mtime / 1000);
    const before = server.published.length;
    const a = await ingestFile(dmon, target());
    assert.equal(a.published, 4);
    assert.deepEqual(a.baseTime, { time: '2025-06-01T08:30:00.000Z', source: 'file mtime' });
    assert.equal(a.timeSource, 'derived');
    const ts = server.published.slice(before).flatMap((m) => m.points.map((p) => p.ts)).sort();
    assert.deepEqual(ts, [mtime, mtime, mtime + 1000, mtime + 1000].map((ms) => `${ms}000000`));
    await new Promise((r) => setTimeout(r, 20));
    const b = await ingestFile(dmon, target());
    assert.equal(b.alreadyIngested, true);
    assert.equal(b.published, 0);
    assert.equal(b.fingerprint, a.fingerprint);
    // Without a checkpoint, the same msg ids make JetStream drop the repeat.
    const c = await ingestFile(dmon, { ...target(), checkpointDir: undefined });
    assert.equal(c.published, 0);
    assert.equal(c.duplicates, 4);
    assert.equal(c.alreadyIngested, true);
  });

  test('an explicit base time wins over the mtime; an unstable mtime (stdin) falls back to now, warned', async () => {
    const dmon = join(dir, 'dmon2.txt');
    writeFileSync(dmon, '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n');
    const before = server.published.length;
    const r = await ingestFile(dmon, target(), { baseTimeMs: Date.UTC(2024, 0, 1) });
    assert.deepEqual(r.baseTime, { time: '2024-01-01T00:00:00.000Z', source: 'option' });
    assert.equal(server.published[before]!.points[0]!.ts, `${Date.UTC(2024, 0, 1)}000000`);
    const s = await ingestFile(dmon, target(), { fileName: 'stdin' }, undefined, { stableMtime: false });
    assert.equal(s.baseTime.source, 'now');
    assert.ok(s.warnings.some((w) => /current time/.test(w)));
  });
});
