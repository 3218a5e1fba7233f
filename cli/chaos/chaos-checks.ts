/**
 * What a chaos scenario reads back from the real servers to judge itself:
 * the points of its devices in InfluxDB (count and value sums per device,
 * against what the file holds), the pages its alert produced in Slack, the
 * alert's state in Temporal (through the API) and its record on chain, and
 * the dead-letter stream. Every reader tolerates a server that is down at
 * that moment (a fault may still be in progress): callers poll.
 */
import { InfluxDB, flux, fluxDateTime } from '@influxdata/influxdb-client';
import type { JetStreamManager } from 'nats';
import { ALERT_METADATA_EVENT } from '../../activities/slack/action-ids.ts';
import type { FakeSlackServer, RecordedCall } from '../../infra/stack/fake-slack-server.ts';
import { ledgerKey } from '../../lib/alerts/ids.ts';
import { MEASUREMENT } from '../../lib/influx/line-protocol.ts';
import { dlqStreamName } from '../../lib/stream/jetstream.ts';
import type { Config } from '../../lib/config.ts';
import type { AlertStateView } from '../../workflows/alert-messages.ts';
import type { LedgerClient } from '../../activities/ledger/ledger-client.ts';
import type { ChaosDataSet } from './chaos-data.ts';

/** The development key of the throw-away stack's API (API_KEYS unset, NODE_ENV=test). */
export const CHAOS_API_HEADERS = { 'content-type': 'application/json', 'x-api-key': 'dev-admin-key' } as const;

export interface StoreCheck {
  /** Distinct (device, timestamp) points of the data set in InfluxDB. */
  points: number;
  /** Devices whose stored points or value sums differ from the file's (a point lost, doubled or rewritten with other values). */
  mismatchedDevices: string[];
  /** Points stored beyond the file's (written twice at different times). */
  extraPoints: number;
  /**
   * Rows InfluxDB returned more than once for the same series and time. Not a second point (a point
   * is unique per series and time; both copies must carry the file's value or the sums disagree),
   * but reported: influxd 2.7 was seen returning such twins for batches rewritten after a redelivery.
   */
  repeatedRows: number;
}

/**
 * Per device, over the data set's time range: rows, distinct times, and the sums of temperature_c
 * and power_w over the first and over the last row of each time. A time whose rows carry different
 * values makes the first-row and last-row sums differ from the file's.
 */
export async function checkStore(influx: { url: string; token: string; org: string; bucket: string }, data: ChaosDataSet): Promise<StoreCheck> {
  const q = new InfluxDB({ url: influx.url, token: influx.token, timeout: 60_000 }).getQueryApi(influx.org);
  // A regex on the tag, not contains(): influxd pushes it down to the index, where contains() scans every row
  // of the range — and the range holds every scenario's points (they all end "now").
  const devicesRe = new RegExp(`^(${[...data.devices.keys()].map((d) => d.replace(/[^A-Za-z0-9-]/g, '\\$&')).join('|')})$`);
  const base = flux`from(bucket: ${influx.bucket})
  |> range(start: ${fluxDateTime(new Date(data.startMs - 1_000).toISOString())}, stop: ${fluxDateTime(new Date(data.endMs + 1_000).toISOString())})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and (r._field == "temperature_c" or r._field == "power_w"))
  |> filter(fn: (r) => r.device =~ ${devicesRe})
  |> group(columns: ["device", "_field"])`;
  const sums = flux`reduce(identity: {n: 0, s: 0.0}, fn: (r, accumulator) => ({n: accumulator.n + 1, s: accumulator.s + float(v: r._value)}))`;
  type Row = { device: string; _field: string; n: number; s: number };
  const [all, first, last] = await Promise.all([
    q.collectRows<Row>(flux`${base} |> ${sums}`),
    q.collectRows<Row>(flux`${base} |> sort(columns: ["_time"]) |> unique(column: "_time") |> ${sums}`),
    q.collectRows<Row>(flux`${base} |> sort(columns: ["_time"], desc: true) |> unique(column: "_time") |> ${sums}`),
  ]);
  const index = (rows: Row[]) => {
    const m = new Map<string, { points: number; temperatureSum: number; powerSum: number }>();
    for (const r of rows) {
      const e = m.get(r.device) ?? { points: 0, temperatureSum: 0, powerSum: 0 };
      if (r._field === 'temperature_c') {
        e.points = Number(r.n);
        e.temperatureSum = Number(r.s);
      } else e.powerSum = Number(r.s);
      m.set(r.device, e);
    }
    return m;
  };
  const [rowsBy, firstBy, lastBy] = [index(all), index(first), index(last)];
  const none = { points: 0, temperatureSum: 0, powerSum: 0 };
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  let points = 0;
  let extraPoints = 0;
  let repeatedRows = 0;
  const mismatchedDevices: string[] = [];
  for (const [device, want] of data.devices) {
    const f = firstBy.get(device) ?? none;
    const l = lastBy.get(device) ?? none;
    points += f.points;
    extraPoints += Math.max(0, f.points - want.points);
    repeatedRows += (rowsBy.get(device)?.points ?? 0) - f.points;
    const same = (g: typeof f) => g.points === want.points && close(g.temperatureSum, want.temperatureSum) && close(g.powerSum, want.powerSum);
    if (!same(f) || !same(l)) mismatchedDevices.push(device);
  }
  return { points, mismatchedDevices, extraPoints, repeatedRows };
}

/** Successful top-level posts of the alert's message (not thread replies), by the message metadata. */
export function alertPosts(slack: FakeSlackServer, alertId: string): RecordedCall[] {
  return attemptsToPost(slack, alertId).filter((c) => c.ok);
}

/** Every attempt (any outcome) to post the alert's top-level message. */
export function attemptsToPost(slack: FakeSlackServer, alertId: string): RecordedCall[] {
  return slack.callsOf('chat.postMessage').filter((c) => {
    const md = c.body.metadata as { event_type?: string; event_payload?: { alert_id?: unknown } } | undefined;
    return c.body.thread_ts === undefined && md?.event_type === ALERT_METADATA_EVENT && md.event_payload?.alert_id === alertId;
  });
}

/** The alert as the API shows it (from its Temporal workflow); undefined while it does not exist. */
export async function alertState(apiUrl: string, alertId: string): Promise<AlertStateView | undefined> {
  const res = await fetch(`${apiUrl}/v1/alerts/${encodeURIComponent(alertId)}`, { headers: CHAOS_API_HEADERS, signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /v1/alerts/${alertId}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as AlertStateView;
}

/** The acknowledgements recorded on chain for this firing of the alert. */
export async function acksOnChain(ledger: LedgerClient, state: AlertStateView): Promise<number> {
  const events = await ledger.getAlertEvents(ledgerKey(state.alert));
  return events.filter((e) => e.kind === 'acknowledged').length;
}

/** Messages in the dead-letter stream. */
export async function dlqMessages(jsm: JetStreamManager, cfg: Config): Promise<number> {
  return (await jsm.streams.info(dlqStreamName(cfg))).state.messages;
}
