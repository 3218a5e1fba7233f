import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { classifySlackError, isChannelId, SLACK_PERMANENT_ERROR_TYPE } from '../../../activities/slack/slack-activities.ts';

/** Errors shaped like the WebClient's (errors.ts factories). */
const platform = (error: string) => Object.assign(new Error(`An API error occurred: ${error}`), { code: ErrorCode.PlatformError, data: { ok: false, error } });
const http = (statusCode: number) => Object.assign(new Error(`An HTTP protocol error occurred: statusCode = ${statusCode}`), { code: ErrorCode.HTTPError, statusCode });

describe('classifySlackError', () => {
  test('the permanent Slack errors are non-retryable SlackPermanentError', () => {
    for (const code of ['invalid_auth', 'not_authed', 'channel_not_found', 'is_archived', 'msg_too_long', 'invalid_blocks', 'not_in_channel']) {
      const f = classifySlackError(platform(code), 'chat.postMessage');
      assert.equal(f.nonRetryable, true, code);
      assert.equal(f.type, SLACK_PERMANENT_ERROR_TYPE);
      assert.match(f.message, new RegExp(code));
      assert.ok(f.cause instanceof Error, 'keeps the cause');
    }
  });

  test('service hiccups, 429, 5xx and network errors are retryable', () => {
    assert.equal(classifySlackError(platform('internal_error'), 'm').nonRetryable, false);
    assert.equal(classifySlackError(platform('ratelimited'), 'm').nonRetryable, false);
    assert.equal(classifySlackError(http(500), 'm').nonRetryable, false);
    assert.equal(classifySlackError(http(503), 'm').nonRetryable, false);
    const rl = classifySlackError(Object.assign(new Error('rate limited'), { code: ErrorCode.RateLimitedError, retryAfter: 7 }), 'm');
    assert.equal(rl.nonRetryable, false);
    assert.equal(rl.type, 'SlackRateLimited');
    assert.equal(rl.nextRetryDelay, 7_000);
    assert.equal(classifySlackError(new Error('A rate limit was exceeded (url: x, retry-after: 1)'), 'm').type, 'SlackRateLimited');
    const net = classifySlackError(Object.assign(new Error('A request error occurred: connect ECONNREFUSED'), { code: ErrorCode.RequestError }), 'm');
    assert.equal(net.nonRetryable, false);
  });

  test('HTTP 4xx (a wrong SLACK_API_URL) is permanent; an ApplicationFailure passes through', () => {
    assert.equal(classifySlackError(http(404), 'm').nonRetryable, true);
    const own = ApplicationFailure.nonRetryable('x', 'Mine');
    assert.equal(classifySlackError(own, 'm'), own);
  });

  test('isChannelId tells ids from names', () => {
    assert.equal(isChannelId('C0ALERTS1'), true);
    assert.equal(isChannelId('G8PSS9T3V'), true);
    assert.equal(isChannelId('#gpu-alerts'), false);
    assert.equal(isChannelId('gpu-alerts'), false);
  });
});
