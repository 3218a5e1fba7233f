import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signSlackRequest, verifySlackSignature } from '../../../api/slack/signature.ts';

// Slack's worked example ("Verifying requests from Slack"). Note the command is
// `%2Fwebhook-collect`: with `webbook` the published signature does not match.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TS = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW = Number(DOC_TS) + 30;

const doc = { signingSecret: DOC_SECRET, timestamp: DOC_TS, body: DOC_BODY, signature: DOC_SIG, now: DOC_NOW };

describe('verifySlackSignature', () => {
  test("Slack's documented example verifies", () => {
    assert.equal(verifySlackSignature(doc), true);
    assert.equal(signSlackRequest(DOC_SECRET, DOC_TS, DOC_BODY), DOC_SIG);
  });

  test('signer agrees with an independent HMAC', () => {
    const body = 'payload=%7B%22a%22%3A1%7D';
    const mine = signSlackRequest('s3cret-s3cret', 1_700_000_000, body);
    const ref = `v0=${createHmac('sha256', 's3cret-s3cret').update(`v0:1700000000:${body}`).digest('hex')}`;
    assert.equal(mine, ref);
    assert.equal(verifySlackSignature({ signingSecret: 's3cret-s3cret', timestamp: '1700000000', body: Buffer.from(body), signature: ref, now: 1_700_000_000 }), true);
  });

  test('a tampered body fails', () => {
    assert.equal(verifySlackSignature({ ...doc, body: DOC_BODY.replace('roadrunner', 'coyote') }), false);
    assert.equal(verifySlackSignature({ ...doc, body: `${DOC_BODY} ` }), false);
  });

  test('a tampered signature fails', () => {
    const flipped = DOC_SIG.slice(0, -1) + (DOC_SIG.endsWith('3') ? '4' : '3');
    assert.equal(verifySlackSignature({ ...doc, signature: flipped }), false);
    assert.equal(verifySlackSignature({ ...doc, signature: DOC_SIG.toUpperCase() }), false);
    assert.equal(verifySlackSignature({ ...doc, signature: 'v1=' + DOC_SIG.slice(3) }), false);
    assert.equal(verifySlackSignature({ ...doc, signature: DOC_SIG.slice(0, -2) }), false);
    assert.equal(verifySlackSignature({ ...doc, signature: `${DOC_SIG}00` }), false);
  });

  test('a wrong secret fails', () => {
    assert.equal(verifySlackSignature({ ...doc, signingSecret: DOC_SECRET + 'x' }), false);
  });

  test('the 5-minute window holds at its edges, both ways', () => {
    const ts = Number(DOC_TS);
    assert.equal(verifySlackSignature({ ...doc, now: ts + 300 }), true);
    assert.equal(verifySlackSignature({ ...doc, now: ts + 301 }), false, 'older than 5 minutes');
    assert.equal(verifySlackSignature({ ...doc, now: ts - 300 }), true);
    assert.equal(verifySlackSignature({ ...doc, now: ts - 301 }), false, 'from the future');
  });

  test('the default clock is the wall clock (an old request is refused)', () => {
    assert.equal(verifySlackSignature({ ...doc, now: undefined }), false);
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = signSlackRequest('k'.repeat(16), ts, 'a=1');
    assert.equal(verifySlackSignature({ signingSecret: 'k'.repeat(16), timestamp: ts, body: 'a=1', signature }), true);
  });

  test('missing or malformed inputs return false and never throw', () => {
    const cases: Partial<typeof doc>[] = [
      { signature: undefined },
      { timestamp: undefined },
      { body: undefined },
      { signingSecret: undefined },
      { signingSecret: '' },
      { timestamp: 'abc' },
      { timestamp: '1531420618.5' },
      { timestamp: '-1531420618' },
      { timestamp: ' 1531420618' },
      { signature: '' },
      { signature: 'v0=' },
      { signature: 'v0=zz' + DOC_SIG.slice(5) },
      { now: Number.NaN },
    ];
    for (const c of cases) {
      assert.equal(verifySlackSignature({ ...doc, ...c } as typeof doc), false, JSON.stringify(c));
    }
    // Wrong types from untyped callers (headers arrays, numbers) are refused too.
    assert.equal(verifySlackSignature({ ...doc, signature: [DOC_SIG] as unknown as string }), false);
    assert.equal(verifySlackSignature({ ...doc, body: { a: 1 } as unknown as string }), false);
  });
});
