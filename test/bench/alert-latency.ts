/**
 * Alert latency benchmark (not a test; prints figures). Starts the same
 * stack as test/e2e/alert-flow.test.ts (Temporal, JetStream, InfluxDB, anvil,
 * fake Slack, collect + alerts workers as child processes, the API in process)
 * and runs N alerts, one per device, one after another:
 *
 *   (a) HTTP POST /v1/telemetry of a device's anomalous points (202)
 *       → chat.postMessage received by the fake Slack server;
 *   (b) signed Acknowledge click on /slack/interactions
 *       → Acknowledged event observed on chain (50 ms polling)
 *       → chat.update carrying the tx hash received by the fake Slack server.
 *
 *   npx tsx test/bench/alert-latency.ts [N=20]
 *
 * The rule is a threshold with `for: 0s`, so the first anomalous point fires it:
 * the figures are pipeline latency, not the rule's hold time. The fake Slack
 * server imposes no rate limit; real Slack allows ~1 chat.postMessage per second
 * per channel, which bounds bursts of alerts (not the single-alert latency here).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { alertWorkflowId, ledgerKey } from '../../lib/alerts/ids.ts';
import { clickButton } from '../support/fake-slack-server.ts';
import {
  ALERT_CHANNEL,
  API_HEADERS,
  SIGNING_SECRET,
  TEMP_RULE,
  alertPosts,
  allText,
  eventually,
  getAlert,
  startAlertStack,
  updatesOf,
} from '../e2e/alert-harness.ts';

const N = Number(process.argv[2] ?? 20);
if (!Number.isInteger(N) || N < 1) throw new Error(`usage: alert-latency.ts [N ≥ 1], got ${process.argv[2]}`);

interface Sample {
  device: string;
  ingestToPostMs: number;
  /** Part of ingestToPostMs: until the collector's signalWithStart opened the alert workflow (server clock, same host). */
  ingestToWorkflowMs: number;
  clickAnswerMs: number;
  clickToChainMs: number;
  clickToUpdateMs: number;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  // Nearest-rank: with 20 samples p99 is the maximum.
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const st = await startAlertStack({
    rules: [{ ...TEMP_RULE, for: '0s' }],
    // One level with a long wait: no escalation replies while measuring.
    levels: [{ name: 'on-call', channel: ALERT_CHANNEL, users: ['U0ONCALL1'], waitFor: '1h' }],
  });
  console.error(`stack up in ${Math.round(performance.now() - t0)} ms; running ${N} alerts`);
  const ledger = await st.ledger();
  const samples: Sample[] = [];
  try {
    // Warm-up: one alert not counted (first workflow bundle load, first activity, JIT).
    for (let i = -1; i < N; i++) {
      const device = `GPU-bench-${i < 0 ? 'warmup' : String(i).padStart(3, '0')}`;
      const alertId = alertWorkflowId(device, TEMP_RULE.name);
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const points = [
        { device, ts: String(nowNs - 2_000_000_000n), fields: { temperature_c: 70 } },
        { device, ts: String(nowNs - 1_000_000_000n), fields: { temperature_c: 80 } },
        { device, ts: String(nowNs), fields: { temperature_c: 96 } },
      ];

      const ingestAt = Date.now();
      const res = await fetch(`${st.api.url}/v1/telemetry`, { method: 'POST', headers: API_HEADERS, body: JSON.stringify({ batchId: `bench-${device}`, points }) });
      if (res.status !== 202) throw new Error(`POST /v1/telemetry: ${res.status} ${await res.text()}`);
      const post = (await eventually(async () => alertPosts(st.slack, alertId)[0], (p) => p !== undefined, 60_000, `post for ${device}`, 20))!;
      const state = await eventually(() => getAlert(st.api, alertId), (s) => s?.slack !== undefined && s.raisedReceipt !== undefined, 30_000, 'posted + raised', 50);
      const ref = state!.slack!;
      const wfStartedAt = (await st.temporal.workflow.getHandle(alertId).describe()).startTime.getTime();

      const clickAt = Date.now();
      const click = await clickButton({ url: `${st.api.url}/slack/interactions`, signingSecret: SIGNING_SECRET, alertId, action: 'ack', user: { id: 'U0BENCH01', name: 'bench' }, channel: ref.channel, messageTs: ref.ts });
      if (click.status !== 200) throw new Error(`click: ${click.status} ${click.body}`);
      const key = ledgerKey(state!.alert);
      let chainAt = 0;
      const ack = (await eventually(
        async () => {
          const evs = await ledger.getAlertEvents(key);
          const e = evs.find((x) => x.kind === 'acknowledged');
          if (e && !chainAt) chainAt = Date.now();
          return e;
        },
        (e) => e !== undefined,
        30_000,
        `ack on chain for ${device}`,
        50,
      ))!;
      const update = (await eventually(async () => updatesOf(st.slack, ref.ts).find((u) => allText(u.body).includes(ack.txHash)), (u) => u !== undefined, 30_000, 'update with tx', 20))!;

      if (i >= 0) {
        const s: Sample = {
          device,
          ingestToPostMs: post.at - ingestAt,
          ingestToWorkflowMs: wfStartedAt - ingestAt,
          clickAnswerMs: Math.round(click.elapsedMs),
          clickToChainMs: chainAt - clickAt,
          clickToUpdateMs: update.at - clickAt,
        };
        samples.push(s);
        console.error(`${device}: ingest→post ${s.ingestToPostMs} ms (workflow at ${s.ingestToWorkflowMs}), click→chain ${s.clickToChainMs} ms, click→update ${s.clickToUpdateMs} ms`);
      }
      await sleep(200);
    }
  } finally {
    await st.stop();
  }

  const cols: [string, keyof Sample][] = [
    ['HTTP ingest (202 sent) → Slack chat.postMessage', 'ingestToPostMs'],
    ['  of which: ingest → alert workflow started', 'ingestToWorkflowMs'],
    ['click → interactions endpoint answered', 'clickAnswerMs'],
    ['click → Acknowledged event on chain (50 ms poll)', 'clickToChainMs'],
    ['click → Slack chat.update with tx hash', 'clickToUpdateMs'],
  ];
  const figures = Object.fromEntries(
    cols.map(([, k]) => {
      const v = samples.map((s) => s[k] as number);
      return [k, { p50: pct(v, 50), p99: pct(v, 99), min: Math.min(...v), max: Math.max(...v) }];
    }),
  ) as Record<string, { p50: number; p99: number; min: number; max: number }>;

  console.log(`\nalert latency, ${samples.length} alerts (sequential, one device each), ms`);
  console.log(`${'path'.padEnd(52)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}`);
  for (const [label, k] of cols) {
    const f = figures[k]!;
    console.log(`${label.padEnd(52)}${String(f.p50).padStart(8)}${String(f.p99).padStart(8)}${String(f.min).padStart(8)}${String(f.max).padStart(8)}`);
  }
  console.log(
    '\nnote: the fake Slack server imposes no rate limit; real Slack allows ~1 chat.postMessage/s per channel, so a burst of alerts is paced by Slack, not by this pipeline. p99 of 20 samples is the maximum (nearest rank).',
  );
  console.log(JSON.stringify({ bench: 'alert-latency', n: samples.length, slackRateLimit: 'none (fake server); real Slack ~1 msg/s/channel', ...figures }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
