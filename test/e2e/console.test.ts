/**
 * The on-call console in real Chromium (Debian package, playwright-core)
 * against the real stack: Temporal, JetStream, InfluxDB, anvil, the collect
 * and alerts workers, the fake Slack server and the real API serving the
 * built console. One stack, one browser, several pages:
 * log in with a key (keyboard only) → the fleet shows the ingested sample's
 * GPUs → a device's live chart moves when a point is POSTed → a fault
 * episode opens an incident that appears within seconds → Acknowledge
 * changes its state, shows the tx hash, the audit verifies → a read-only key
 * sees no Acknowledge button and a forced POST is refused → the pipeline
 * view. Checked on the way: first load of the fleet ≤ 300 KB compressed
 * JS+CSS, no request outside the origin, no console errors, no horizontal
 * overflow on a phone-sized screen. Screenshots go to TEST_OUTPUT_DIR
 * (default .data/test-output).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { gpuUuid, writeSample } from '../../lib/sample/generate-sample.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import { launchChromium } from '../support/chromium.ts';
import { REPO } from '../support/processes.ts';
import { ALERT_CHANNEL, TEMP_RULE, cliAsync, eventually, startAlertStack, type AlertStack } from './alert-harness.ts';
// @ts-expect-error plain JS build script (scripts/*.mjs), no types
import { buildConsole } from '../../scripts/build-console.mjs';

const OUT = resolve(process.env.TEST_OUTPUT_DIR ?? join(REPO, '.data/test-output'));
const ADMIN_KEY = 'console-admin-key-0123456789';
const READ_KEY = 'console-read-key-0123456789';
const GPUS = 3;
const SAMPLES = 60;
const HOST = 'gpu-node-07';
const HOT = 1;
const hotDevice = gpuUuid(HOST, HOT);
const coolDevice = gpuUuid(HOST, 0);
const alertId = alertWorkflowId(hotDevice, TEMP_RULE.name);
/** First-load budget of the fleet page, compressed JS + CSS bytes. */
const BUDGET_BYTES = 300 * 1024;
const DESKTOP = { width: 1100, height: 760 };
const PHONE = { width: 390, height: 760 };

let st: AlertStack;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];
const foreignRequests: string[] = [];

function watch(p: Page, origin: string): void {
  p.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  p.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('data:') && new URL(u).origin !== origin) foreignRequests.push(u);
  });
}

const shot = (p: Page, name: string) => p.screenshot({ path: join(OUT, `console-${name}.png`) });

before(async () => {
  mkdirSync(OUT, { recursive: true });
  await buildConsole();
  [st, browser] = await Promise.all([
    startAlertStack({
      rules: [TEMP_RULE],
      levels: [{ name: 'on-call', channel: ALERT_CHANNEL, users: ['U0ONCALL1'], waitFor: '10m' }],
      env: { API_KEYS: `ops=${ADMIN_KEY}:admin,viewer=${READ_KEY}:read,dev=dev-admin-key:admin` },
    }),
    launchChromium(),
  ]);
  ctx = await browser.newContext({ viewport: DESKTOP });
  page = await ctx.newPage();
  watch(page, st.api.url);
});
after(async () => {
  await browser?.close();
  await st?.stop();
});

describe('on-call console (Chromium)', () => {
  test('log in with the keyboard; first load within budget, same origin only', async () => {
    const assets: { url: string; bytes: number }[] = [];
    page.on('requestfinished', (r) => {
      if (/\.(js|css)$/.test(new URL(r.url()).pathname))
        void r.sizes().then((s) => assets.push({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize }));
    });
    await page.goto(`${st.api.url}/`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'api-key', 'the key field is the first stop');
    await shot(page, 'login');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.waitForLoadState('networkidle');
    const total = assets.reduce((s, a) => s + a.bytes, 0);
    assert.ok(assets.some((a) => a.url.endsWith('.js')) && assets.some((a) => a.url.endsWith('.css')), JSON.stringify(assets));
    assert.ok(total <= BUDGET_BYTES, `first load ${total} B of JS+CSS > ${BUDGET_BYTES}`);
    console.log(`fleet first load: ${(total / 1024).toFixed(1)} KB compressed JS+CSS (${assets.map((a) => `${new URL(a.url).pathname} ${a.bytes} B`).join(', ')})`);
    assert.equal(await page.evaluate("sessionStorage.getItem('telemetry-console-key')"), ADMIN_KEY, 'kept in session storage');
  });

  test('the fleet shows the GPUs of an ingested sample; the hot one becomes an incident within seconds', async () => {
    const file = join(st.s.dataDir, 'console-sample.csv');
    const startMs = Math.floor(Date.now() / 1000) * 1000 - SAMPLES * 1000;
    await writeSample(file, { gpus: GPUS, samples: SAMPLES, startMs, seed: 5, host: HOST, fault: { gpu: HOT, start: 20, length: 10_000 } });
    const r = await cliAsync(['ingest', file, '--json', '--no-progress'], st.env);
    assert.equal(r.status, 0, r.stderr);
    const ingestedAt = Date.now();
    for (let i = 0; i < GPUS; i++) await page.locator(`tr[data-device="${gpuUuid(HOST, i)}"]`).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('tbody tr').count(), GPUS);
    await page.getByTestId('count-all').getByText(`all ${GPUS}`).waitFor();
    await page.locator(`tr[data-device="${hotDevice}"] .badge-critical, tr[data-device="${hotDevice}"] .badge-degraded`).waitFor({ timeout: 60_000 });

    await page.getByRole('link', { name: 'Incidents' }).click();
    await page.locator(`tr[data-alert="${alertId}"]`).waitFor({ timeout: 60_000 });
    console.log(`incident on the page ${((Date.now() - ingestedAt) / 1000).toFixed(1)} s after the ingest finished`);
    assert.match(await page.locator(`tr[data-alert="${alertId}"]`).innerText(), /critical[\s\S]*gpu-temp-critical[\s\S]*firing/);
    await shot(page, 'incidents');

    // Back to the fleet for its screenshot, now with an incident and health classes.
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator(`tr[data-device="${hotDevice}"] a[href^="#/incidents"]`).waitFor({ timeout: 20_000 });
    await shot(page, 'fleet');
  });

  test('a live chart updates when a point is posted', async () => {
    await page.goto(`${st.api.url}/#/device/${encodeURIComponent(coolDevice)}`);
    await page.getByTestId('live-state').getByText('live').waitFor({ timeout: 20_000 });
    const chart = page.locator('figure[data-field="temperature_c"]');
    await eventually(async () => Number(await chart.getAttribute('data-points')), (n) => n > 0, 20_000, 'history drawn');
    const before = Number(await chart.getAttribute('data-points'));
    const ts = `${BigInt(Date.now() + 2_000) * 1_000_000n}`;
    const res = await fetch(`${st.api.url}/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
      body: JSON.stringify({ points: [{ device: coolDevice, ts, tags: { host: HOST }, fields: { temperature_c: 61.5, power_w: 123.4 } }] }),
    });
    assert.equal(res.status, 202, await res.text());
    await page.getByTestId('last-temperature_c').getByText('61.5 °C').waitFor({ timeout: 10_000 });
    assert.equal(Number(await chart.getAttribute('data-points')), before + 1);
    await page.getByTestId('last-power_w').getByText('123.4 W').waitFor();
    await shot(page, 'device');
  });

  test('Acknowledge: the state changes, the tx hash shows, the audit verifies', async () => {
    await page.goto(`${st.api.url}/#/incident/${encodeURIComponent(alertId)}`);
    const ack = page.getByRole('button', { name: 'Acknowledge' });
    await ack.waitFor();
    await ack.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('incident-status').getByText('acknowledged').waitFor({ timeout: 15_000 });
    const tx = (await page.getByTestId('ack-tx').innerText({ timeout: 15_000 })).trim();
    assert.match(tx, /^0x[0-9a-f]{64}$/);
    await page.getByTestId('audit').getByText('verified').waitFor({ timeout: 20_000 });
    assert.doesNotMatch(await page.getByTestId('audit').innerText(), /NOT verified/);
    assert.match(await page.locator('.timeline').innerText(), /ack\s+acknowledged by key:ops via api/);
    const state = (await (await fetch(`${st.api.url}/v1/alerts/${encodeURIComponent(alertId)}`, { headers: { 'x-api-key': READ_KEY } })).json()) as { ack?: { by: string; receipt?: { txHash: string } } };
    assert.equal(state.ack?.by, 'key:ops', "the caller's identity is recorded");
    assert.equal(state.ack?.receipt?.txHash, tx);
    await shot(page, 'incident');
  });

  test('a read-only key sees no Acknowledge button and a forced POST is refused', async () => {
    const ro = await browser.newContext({ viewport: DESKTOP });
    const p = await ro.newPage();
    watch(p, st.api.url);
    try {
      await p.goto(`${st.api.url}/`);
      await p.getByLabel('API key').fill(READ_KEY);
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.getByText('viewer (read-only)').waitFor();
      await p.goto(`${st.api.url}/#/incident/${encodeURIComponent(alertId)}`);
      await p.getByTestId('read-only').waitFor();
      assert.equal(await p.getByRole('button', { name: 'Acknowledge' }).count(), 0);
      assert.equal(await p.getByRole('button', { name: 'Resolve' }).count(), 0);
    } finally {
      await ro.close();
    }
    for (const action of ['ack', 'resolve', 'snooze']) {
      const res = await fetch(`${st.api.url}/v1/alerts/${encodeURIComponent(alertId)}/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': READ_KEY },
        body: JSON.stringify(action === 'snooze' ? { duration: '1h' } : {}),
      });
      assert.equal(res.status, 403, `${action} with a read key`);
    }
  });

  test('pipeline: partitions with lag and points, workers up, Temporal links', async () => {
    await page.getByRole('link', { name: 'Pipeline' }).click();
    await page.locator('tr[data-partition="1"]').waitFor({ timeout: 20_000 });
    await page.locator('li[data-queue="telemetry-collect"] .badge-healthy').waitFor({ timeout: 20_000 });
    await page.locator('li[data-queue="telemetry-alerts"] .badge-healthy').waitFor();
    const link = await page.locator('tr[data-partition="0"] a').getAttribute('href');
    assert.match(link ?? '', /\/namespaces\/[^/]+\/workflows\/collector-p0$/);
    await shot(page, 'pipeline');
  });

  test('phone-sized screen: no horizontal overflow; no console errors; nothing outside the origin', async () => {
    await page.setViewportSize(PHONE);
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator(`tr[data-device="${hotDevice}"]`).waitFor();
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await shot(page, 'fleet-phone');
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(foreignRequests, []);
  });
});
