/**
 * What a collector activity holds between state flushes is bounded: it flushes
 * (and acks) on STATE_FLUSH_MS, and before any bound of FLUSH_BOUNDS is passed
 * — dirty records, held messages (half the consumer's max_ack_pending, where
 * JetStream would stop delivering) and held payload bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FLUSH_BOUNDS, flushDue, type HeldSinceFlush } from '../../../activities/collect/collect-activities.ts';
import { MAX_ACK_PENDING } from '../../../lib/stream/jetstream.ts';

const quiet: HeldSinceFlush = { sinceFlushMs: 0, dirty: 0, heldMessages: 0, heldBytes: 0 };
const EVERY = 5_000;

describe('flushDue', () => {
  test('nothing held and no time passed: no flush', () => {
    assert.equal(flushDue(quiet, EVERY), false);
  });
  test('STATE_FLUSH_MS: at it, not before', () => {
    assert.equal(flushDue({ ...quiet, sinceFlushMs: EVERY - 1 }, EVERY), false);
    assert.equal(flushDue({ ...quiet, sinceFlushMs: EVERY }, EVERY), true);
    assert.equal(flushDue(quiet, 0), true, 'STATE_FLUSH_MS=0 flushes every group');
  });
  test('held messages: at half of max_ack_pending, not before', () => {
    assert.equal(FLUSH_BOUNDS.heldMessages, MAX_ACK_PENDING / 2);
    assert.equal(flushDue({ ...quiet, heldMessages: FLUSH_BOUNDS.heldMessages - 1 }, EVERY), false);
    assert.equal(flushDue({ ...quiet, heldMessages: FLUSH_BOUNDS.heldMessages }, EVERY), true);
  });
  test('held payload bytes: at 64 MiB, not before', () => {
    assert.equal(flushDue({ ...quiet, heldBytes: FLUSH_BOUNDS.heldBytes - 1 }, EVERY), false);
    assert.equal(flushDue({ ...quiet, heldBytes: FLUSH_BOUNDS.heldBytes }, EVERY), true);
  });
  test('dirty records: beyond 50,000', () => {
    assert.equal(flushDue({ ...quiet, dirty: FLUSH_BOUNDS.dirtyRecords }, EVERY), false);
    assert.equal(flushDue({ ...quiet, dirty: FLUSH_BOUNDS.dirtyRecords + 1 }, EVERY), true);
  });
});
