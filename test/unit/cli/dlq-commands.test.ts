/** `dlq --since`: ISO 8601 with a zone, or a duration back from now; anything else is refused with the text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { parseSince } from '../../../cli/dlq-commands.ts';

const NOW = Date.parse('2025-04-01T12:00:00Z');

test('durations count back from now', () => {
  assert.equal(parseSince('2h', NOW).toISOString(), '2025-04-01T10:00:00.000Z');
  assert.equal(parseSince('90s', NOW).toISOString(), '2025-04-01T11:58:30.000Z');
  assert.equal(parseSince('1h30m', NOW).toISOString(), '2025-04-01T10:30:00.000Z');
  assert.equal(parseSince('7d', NOW).toISOString(), '2025-03-25T12:00:00.000Z');
});

test('ISO 8601: date (UTC midnight), date-time with Z or offset', () => {
  assert.equal(parseSince('2025-03-31', NOW).toISOString(), '2025-03-31T00:00:00.000Z');
  assert.equal(parseSince('2025-03-31T08:15:00Z', NOW).toISOString(), '2025-03-31T08:15:00.000Z');
  assert.equal(parseSince('2025-03-31T08:15:00.250+02:00', NOW).toISOString(), '2025-03-31T06:15:00.250Z');
  assert.equal(parseSince('2025-03-31T08:15Z', NOW).toISOString(), '2025-03-31T08:15:00.000Z');
});

test('a date-time without a zone is refused (it would silently mean local time)', () => {
  assert.throws(() => parseSince('2025-03-31T08:15:00', NOW), (e: unknown) => e instanceof InvalidArgumentError && /no time zone/.test(e.message));
});

test('garbage is refused naming the text', () => {
  for (const bad of ['yesterday', '30', '', '2025-13-45', '2h ago'])
    assert.throws(() => parseSince(bad, NOW), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes(`"${bad}"`), bad);
});
