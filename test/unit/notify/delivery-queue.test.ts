/**
 * The per-destination delivery queue (activities/notify/delivery-queue.ts):
 * order, rate, digests, 429 handling, the queue bound and cancellation.
 * Rates are high (tens per second) so the behaviour shows in well under a second.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryQueue, DeliveryQueues, QueueFullError, RateLimitedError, type DeliveryLimits, type DigestLine } from '../../../activities/notify/delivery-queue.ts';
import type { Severity } from '../../../lib/alerts/types.ts';

const limits = (o: Partial<DeliveryLimits> = {}): DeliveryLimits => ({ ratePerSec: 50, burst: 1, maxQueue: 100, digestAfter: 3, digestMax: 5, ...o });
const line = (id: string, severity: Severity): DigestLine => ({ alertId: id, severity, summary: 's', device: 'd', rule: 'r', targets: ['U1'] });

describe('DeliveryQueue', () => {
  test('one at a time, critical before warning, oldest first', async () => {
    const sent: string[] = [];
    const q = new DeliveryQueue<string>({ destination: 'd', limits: limits({ digestAfter: 1_000 }) });
    const job = (id: string, sev: Severity) => q.submit({ severity: sev, line: line(id, sev), send: async () => (sent.push(id), id) });
    const all = [job('w1', 'warning'), job('w2', 'warning'), job('c1', 'critical'), job('w3', 'warning'), job('c2', 'critical')];
    const results = await Promise.all(all);
    // w1 left at once (the queue was empty); the rest by priority.
    assert.deepEqual(sent, ['w1', 'c1', 'c2', 'w2', 'w3']);
    assert.deepEqual(results.map((r) => r.result), ['w1', 'w2', 'c1', 'w3', 'c2']);
    assert.ok(results.every((r) => r.mode === 'single'));
  });

  test('honours the rate: n sends take at least (n - burst) / rate', async () => {
    const times: number[] = [];
    const q = new DeliveryQueue<number>({ destination: 'd', limits: limits({ ratePerSec: 20, burst: 2, digestAfter: 1_000 }) });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 6 }, (_, i) => q.submit({ severity: 'critical', line: line(`a${i}`, 'critical'), send: async () => (times.push(Date.now() - t0), i) })));
    // 2 in the burst, then 4 more at 20/s → the last not before ~200 ms.
    assert.ok(times.at(-1)! >= 180, `last send at ${times.at(-1)} ms`);
    assert.equal(q.sends, 6);
  });

  test('a storm of warnings leaves as digests; critical pages stay single; nothing is dropped', async () => {
    const digests: string[][] = [];
    const singles: string[] = [];
    const q = new DeliveryQueue<string>({
      destination: 'd',
      limits: limits({ ratePerSec: 40, digestAfter: 3, digestMax: 5 }),
      sendDigest: async (lines) => (digests.push(lines.map((l) => l.alertId)), lines.map((l) => `digest:${l.alertId}`)),
    });
    const ps = [
      ...Array.from({ length: 12 }, (_, i) => q.submit({ severity: 'warning', line: line(`w${i}`, 'warning'), send: async () => (singles.push(`w${i}`), `w${i}`) })),
      ...Array.from({ length: 4 }, (_, i) => q.submit({ severity: 'critical', line: line(`c${i}`, 'critical'), send: async () => (singles.push(`c${i}`), `c${i}`) })),
    ];
    const out = await Promise.all(ps);
    assert.equal(out.length, 16);
    const delivered = new Set([...singles, ...digests.flat()]);
    assert.equal(delivered.size, 16, 'every page delivered exactly once');
    for (let i = 0; i < 4; i++) assert.ok(singles.includes(`c${i}`), 'critical pages are never digested');
    assert.ok(digests.length >= 2, `digests: ${JSON.stringify(digests)}`);
    assert.ok(digests.every((d) => d.length <= 5), 'digestMax bounds a digest');
    // Messages sent = singles + digests, far fewer than pages.
    assert.equal(q.sends, singles.length + digests.length);
    assert.ok(q.sends < 16);
    assert.equal(out[0]!.result, 'w0');
    assert.ok(out.filter((o) => o.mode === 'digest').every((o) => o.result.startsWith('digest:')));
  });

  test('a 429 keeps the page queued and waits Retry-After, then delivers it', async () => {
    let calls = 0;
    const limited: number[] = [];
    const q = new DeliveryQueue<string>({ destination: 'd', limits: limits(), onRateLimited: (ms) => limited.push(ms) });
    const t0 = Date.now();
    const r = await q.submit({
      severity: 'critical',
      line: line('a', 'critical'),
      send: async () => {
        calls++;
        if (calls === 1) throw new RateLimitedError('429', 150);
        return 'ok';
      },
    });
    assert.equal(r.result, 'ok');
    assert.equal(calls, 2);
    assert.deepEqual(limited, [150]);
    assert.ok(Date.now() - t0 >= 140, 'waited Retry-After');
    assert.equal(q.rateLimited, 1);
  });

  test('any other failure rejects the page (the activity retries it)', async () => {
    const q = new DeliveryQueue<string>({ destination: 'd', limits: limits() });
    await assert.rejects(
      q.submit({ severity: 'warning', line: line('a', 'warning'), send: async () => { throw new Error('boom'); } }),
      /boom/,
    );
  });

  test('at maxQueue new pages are refused with QueueFullError; earlier ones still deliver', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new DeliveryQueue<string>({ destination: 'd', limits: limits({ maxQueue: 3, digestAfter: 1_000 }) });
    const first = q.submit({ severity: 'warning', line: line('x', 'warning'), send: async () => (await gate, 'x') });
    await new Promise((r) => setTimeout(r, 10)); // x is in flight, not queued
    const queued = [0, 1, 2].map((i) => q.submit({ severity: 'warning', line: line(`q${i}`, 'warning'), send: async () => `q${i}` }));
    assert.equal(q.size, 3);
    await assert.rejects(q.submit({ severity: 'critical', line: line('over', 'critical'), send: async () => 'over' }), (e: unknown) => e instanceof QueueFullError && e.limit === 3);
    release();
    assert.deepEqual((await Promise.all([first, ...queued])).map((r) => r.result), ['x', 'q0', 'q1', 'q2']);
  });

  test('a cancelled page leaves the queue without being sent', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sent: string[] = [];
    const q = new DeliveryQueue<string>({ destination: 'd', limits: limits({ digestAfter: 1_000 }) });
    const first = q.submit({ severity: 'warning', line: line('a', 'warning'), send: async () => (await gate, sent.push('a'), 'a') });
    await new Promise((r) => setTimeout(r, 10));
    const ac = new AbortController();
    const cancelled = q.submit({ severity: 'warning', line: line('b', 'warning'), send: async () => (sent.push('b'), 'b'), signal: ac.signal });
    ac.abort(new Error('activity cancelled'));
    await assert.rejects(cancelled, /activity cancelled/);
    release();
    await first;
    assert.deepEqual(sent, ['a']);
  });
});

describe('DeliveryQueues', () => {
  test('bounded in destinations; idle queues are reclaimed', async () => {
    const qs = new DeliveryQueues<string>(2);
    const make = () => new DeliveryQueue<string>({ destination: 'x', limits: limits() });
    qs.get('a', make);
    qs.get('b', make);
    // Both idle: a third destination reclaims them.
    assert.ok(qs.get('c', make));
    const busy = qs.get('d', make);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = busy.submit({ severity: 'warning', line: line('a', 'warning'), send: async () => (await gate, 'a') });
    const busy2 = qs.get('c', make);
    const p2 = busy2.submit({ severity: 'warning', line: line('b', 'warning'), send: async () => (await gate, 'b') });
    assert.throws(() => qs.get('e', make), QueueFullError);
    release();
    await Promise.all([p, p2]);
  });
});
