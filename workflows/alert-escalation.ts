/**
 * `alertEscalation`: one workflow per open alert (id `alert-<device>-<rule>`).
 *
 * Lifecycle: raised → Slack post at level 0 (and ledger record, concurrently)
 * → each level waits `waitFor` on a durable timer; unacknowledged, the next
 * level is paged (thread reply + chat.update); after the last level the list
 * is walked again `repeat` times, then escalation stops (the alert stays open).
 * Ack (update or signal) records on chain once, updates Slack with the tx hash
 * and stops escalation. Recovery starts the auto-resolve quiet period; firing
 * again inside it cancels it. Resolve (by hand or auto) records on chain,
 * updates Slack and completes.
 *
 * Deterministic: only @temporalio/workflow (+ common for search-attribute
 * keys), types, and a pure duration parser. Time is workflow time (Date.now()
 * is replay-safe here). Escalation timing is anchored to deadlines kept in
 * state, so activity latency does not drift the schedule, and a worker restart
 * (replay) or continue-as-new keeps the same deadlines.
 */
import { ledgerKey } from '../lib/alerts/ids.ts';
import * as wf from '@temporalio/workflow';
import type { AlertInput, AlertState, AlertStatus, ChainReceipt, SlackMessageRef } from '../lib/alerts/types.ts';
import type { EscalationPolicy } from '../lib/alerts/policy.ts';
import { formatDurationMs, tryParseDurationMs } from '../lib/alerts/rules-duration.ts';
import type { AlertLedgerActivities, AlertSlackActivities } from './alert-activities.ts';
import { LEDGER_REVERT_ERROR, SLACK_PERMANENT_ERROR } from './alert-activities.ts';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  AlertDeviceKey,
  AlertLevelKey,
  AlertRuleKey,
  AlertSeverityKey,
  AlertStatusKey,
  firingAgainSignal,
  recoveredSignal,
  resolveSignal,
  snoozeSignal,
  stateQuery,
  type AcknowledgeInput,
  type AcknowledgeResult,
  type AlertStateView,
  type FiringAgainInput,
  type ResolveInput,
} from './alert-messages.ts';

const slack = wf.proxyActivities<AlertSlackActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [SLACK_PERMANENT_ERROR],
  },
});

// The ledger is the audit trail: keep retrying through chain outages (bounded by a day), never past a revert.
const ledger = wf.proxyActivities<AlertLedgerActivities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '1 day',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    // maximumAttempts unset = unlimited; scheduleToCloseTimeout bounds the whole.
    nonRetryableErrorTypes: [LEDGER_REVERT_ERROR],
  },
});

/** Bound on `history` entries kept in state (the first, "raised", entry is always kept). */
export const MAX_HISTORY_ENTRIES = 50;

/** What survives continue-as-new besides the input alert and policy. Times are workflow-time ms. */
export interface EscalationCarry {
  state: AlertState;
  /** Next page while firing. */
  deadlineMs?: number;
  /** Remaining wait of the current level while escalation is paused (snoozed / recovered). */
  pausedRemainingMs?: number;
  /** Auto-resolve deadline while recovered. */
  quietUntilMs?: number;
  /** All levels and repeats paged; the alert stays open without further pages. */
  escalationDone?: boolean;
  /** The raise is on chain (or gave up): ack/resolve records may follow. */
  raised?: boolean;
  /** The Slack post happened (ref may still be null in console mode). */
  posted?: boolean;
}

export interface AlertEscalationInput {
  alert: AlertInput;
  policy: EscalationPolicy;
  /** Set by continue-as-new only. */
  carry?: EscalationCarry;
  /** Test hook: continue as new once history reaches this many events (besides the server's suggestion). */
  continueAsNewAtHistoryLength?: number;
}

/** One workflow per open alert: pages through the policy until acknowledged, resolved or auto-resolved. */
export async function alertEscalation(input: AlertEscalationInput): Promise<AlertStateView> {
  const { policy } = input;
  const levels = policy.levels;
  const waitMs = (i: number): number => tryParseDurationMs(levels[i]!.waitFor) ?? 300_000;
  const autoResolveMs = tryParseDurationMs(policy.autoResolveAfter) ?? 600_000;
  const snoozeMaxMs = tryParseDurationMs(policy.snoozeMax) ?? 86_400_000;
  const now = (): number => Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();

  const c: EscalationCarry = input.carry ?? {
    state: { alert: input.alert, status: 'firing', level: 0, repeats: 0, history: [] },
    deadlineMs: now() + waitMs(0),
  };
  const state = c.state;
  let ackPromise: Promise<ChainReceipt | null> | undefined;
  let reopen: FiringAgainInput | undefined;
  let snoozeVersion = 0;
  let pending = 0; // background work (Slack/ledger) that must finish before completing
  let slackVersion = 0;
  let slackSynced = 0;
  let slackFlushing = false;

  // ------------------------------------------------------------- helpers

  function record(event: string): void {
    state.history.push({ at: iso(now()), event });
    if (state.history.length > MAX_HISTORY_ENTRIES) state.history.splice(1, state.history.length - MAX_HISTORY_ENTRIES);
  }

  function view(): AlertStateView {
    const v = JSON.parse(JSON.stringify(state)) as AlertStateView;
    if (state.status === 'firing' && !c.escalationDone && c.deadlineMs !== undefined) v.nextEscalationAt = iso(c.deadlineMs);
    if (state.status === 'snoozed' && state.snoozedUntil && c.pausedRemainingMs !== undefined) {
      v.nextEscalationAt = iso(Date.parse(state.snoozedUntil) + c.pausedRemainingMs);
    }
    if (state.status === 'recovered' && c.quietUntilMs !== undefined) v.autoResolveAt = iso(c.quietUntilMs);
    return v;
  }

  let lastAttrs = '';
  function upsertAttributes(): void {
    const key = `${state.status}/${state.level}`;
    if (key === lastAttrs) return;
    lastAttrs = key;
    wf.upsertSearchAttributes([
      { key: AlertDeviceKey, value: state.alert.device },
      { key: AlertSeverityKey, value: state.alert.severity },
      { key: AlertRuleKey, value: state.alert.rule },
      { key: AlertStatusKey, value: state.status },
      { key: AlertLevelKey, value: state.level },
    ]);
  }

  function setStatus(status: AlertStatus): void {
    state.status = status;
    upsertAttributes();
  }

  function track(work: () => Promise<void>): void {
    pending++;
    void work().finally(() => pending--);
  }

  function errorText(err: unknown): string {
    const cause = err instanceof wf.ActivityFailure ? (err.cause ?? err) : err;
    return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  }

  /** Slack is best effort: a failed page must not stop the escalation clock. */
  async function safeSlack<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      wf.log.warn('alert slack call failed', { what, alertId: state.alert.alertId, error: errorText(err) });
      record(`slack ${what} failed: ${errorText(err)}`);
      return undefined;
    }
  }

  /** The ledger may revert (non-retryable) or stay down past the retry budget: note it and go on. */
  async function safeLedger(what: string, call: () => Promise<ChainReceipt | null>): Promise<ChainReceipt | null> {
    try {
      return await call();
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      wf.log.warn('alert ledger call failed', { what, alertId: state.alert.alertId, error: errorText(err) });
      record(`ledger ${what} failed: ${errorText(err)}`);
      return null;
    }
  }

  /** Records a state change and brings the Slack message up to date (coalesced, in order). */
  function touch(event?: string): void {
    if (event) record(event);
    upsertAttributes();
    slackVersion++;
    if (!slackFlushing) track(flushSlack);
  }

  async function flushSlack(): Promise<void> {
    slackFlushing = true;
    try {
      await wf.condition(() => c.posted === true);
      while (slackSynced < slackVersion) {
        const version = slackVersion;
        await safeSlack('update', () => slack.updateAlertMessage({ state: view(), ref: state.slack ?? null }));
        slackSynced = version;
      }
    } finally {
      slackFlushing = false;
    }
  }

  const mentionsFor = (i: number): string[] => [
    ...(levels[i]!.users ?? []).map((u) => `<@${u}>`),
    ...(levels[i]!.groups ?? []).map((g) => `<!subteam^${g}>`),
  ];

  function continueAsNewWanted(): boolean {
    const info = wf.workflowInfo();
    const limit = input.continueAsNewAtHistoryLength;
    return info.continueAsNewSuggested || (limit !== undefined && info.historyLength >= limit);
  }

  function resolve(by: string, reason: string): void {
    if (state.status === 'resolved') return;
    state.resolved = { by, at: iso(now()), reason };
    delete state.snoozedUntil;
    setStatus('resolved');
    record(`resolved by ${by}: ${reason}`);
  }

  // ------------------------------------------------------------- handlers (registered before any await)

  wf.setHandler(stateQuery, () => view());

  async function acknowledge({ by, via }: AcknowledgeInput): Promise<AcknowledgeResult> {
    if (!ackPromise) {
      if (state.status === 'resolved') {
        throw wf.ApplicationFailure.nonRetryable(`alert ${state.alert.alertId} is already resolved`, 'AlertResolved');
      }
      const ackedAtMs = now();
      const ack: NonNullable<AlertState['ack']> = { by, via, at: iso(ackedAtMs) };
      state.ack = ack;
      if (state.status === 'firing' || state.status === 'snoozed') {
        delete state.snoozedUntil;
        delete c.pausedRemainingMs;
        setStatus('acknowledged');
      }
      touch(`acknowledged by ${by} via ${via}`); // Slack shows the ack at once, the tx hash follows
      ackPromise = (async () => {
        await wf.condition(() => c.raised === true);
        const receipt = await safeLedger('ack', () =>
          ledger.recordAckOnChain({ alertId: ledgerKey(state.alert), responder: by, via, ackedAtMs }),
        );
        if (receipt) ack.receipt = receipt;
        touch(); // Slack shows the ack with its tx hash
        return receipt;
      })();
    }
    const receipt = await ackPromise;
    return { receipt, state: view() };
  }

  wf.setHandler(acknowledgeUpdate, acknowledge, {
    validator: (input: AcknowledgeInput) => {
      if (!input || typeof input.by !== 'string' || input.by.trim() === '') throw new Error('acknowledge needs "by"');
      if (!['slack', 'api', 'console'].includes(input.via)) throw new Error(`acknowledge "via" must be slack|api|console`);
      if (state.status === 'resolved') throw new Error(`alert ${state.alert.alertId} is already resolved`);
    },
  });

  wf.setHandler(acknowledgeSignal, async (input: AcknowledgeInput) => {
    if (state.status === 'resolved' || !input?.by) return;
    try {
      await acknowledge(input);
    } catch (err) {
      wf.log.warn('acknowledge signal failed', { alertId: state.alert.alertId, error: errorText(err) });
    }
  });

  wf.setHandler(resolveSignal, ({ by, reason }: ResolveInput) => resolve(by, reason));

  wf.setHandler(recoveredSignal, ({ at }) => {
    const from = state.status;
    if (from === 'resolved' || from === 'recovered') return; // duplicate: keep the first quiet timer
    if (from === 'firing') {
      // Escalation measures unacknowledged *firing* time: pause the level clock while recovered.
      c.pausedRemainingMs = c.escalationDone || c.deadlineMs === undefined ? undefined : Math.max(0, c.deadlineMs - now());
    }
    state.recoveredAt = at;
    c.quietUntilMs = now() + autoResolveMs;
    setStatus('recovered');
    touch(`recovered at ${at}`);
  });

  wf.setHandler(firingAgainSignal, (input: FiringAgainInput) => {
    if (state.status === 'resolved') {
      reopen = input; // lands after resolution: start a fresh episode instead of losing it
      return;
    }
    if (input?.values) state.alert.values = input.values;
    // Still firing (or the signalWithStart's own initial signal): nothing changes.
    if (state.status !== 'recovered') return;
    delete state.recoveredAt;
    delete c.quietUntilMs;
    if (state.ack) {
      setStatus('acknowledged');
    } else if (state.snoozedUntil && Date.parse(state.snoozedUntil) > now()) {
      setStatus('snoozed');
    } else {
      delete state.snoozedUntil;
      c.deadlineMs = c.escalationDone ? undefined : now() + (c.pausedRemainingMs ?? 0);
      delete c.pausedRemainingMs;
      setStatus('firing');
    }
    touch(`firing again at ${input.at}`);
  });

  wf.setHandler(snoozeSignal, ({ by, duration }) => {
    if (state.status !== 'firing' && state.status !== 'snoozed') return; // nothing to pause
    const requested = tryParseDurationMs(duration ?? '');
    if (requested === undefined || requested <= 0) {
      record(`snooze by ${by} ignored: bad duration "${duration}"`);
      return;
    }
    const ms = Math.min(requested, snoozeMaxMs);
    if (state.status === 'firing') {
      c.pausedRemainingMs = c.escalationDone || c.deadlineMs === undefined ? undefined : Math.max(0, c.deadlineMs - now());
    }
    state.snoozedUntil = iso(now() + ms);
    snoozeVersion++;
    setStatus('snoozed');
    touch(`snoozed by ${by} for ${formatDurationMs(ms)}${ms < requested ? ` (capped by snoozeMax ${policy.snoozeMax})` : ''}`);
  });

  // ------------------------------------------------------------- start

  upsertAttributes();
  if (!input.carry) record(`raised: ${state.alert.summary}`);
  if (!c.raised) {
    track(async () => {
      const receipt = await safeLedger('raise', () =>
        ledger.recordAlertOnChain({
          alertId: ledgerKey(state.alert),
          device: state.alert.device,
          severity: state.alert.severity,
          raisedAtMs: Date.parse(state.alert.firedAt) || now(),
        }),
      );
      if (receipt) state.raisedReceipt = receipt;
      c.raised = true;
      if (receipt) touch();
    });
  }
  if (!c.posted) {
    track(async () => {
      const ref = await safeSlack('post', () =>
        slack.postAlertMessage({ state: view(), channel: levels[0]!.channel, mentions: mentionsFor(0) }),
      );
      if (ref) state.slack = ref as SlackMessageRef;
      c.posted = true;
    });
  }

  async function escalate(): Promise<void> {
    let next = state.level + 1;
    if (next >= levels.length) {
      if (state.repeats >= policy.repeat) {
        c.escalationDone = true;
        delete c.deadlineMs;
        touch(`escalation exhausted at level ${state.level} (${levels[state.level]!.name})`);
        return;
      }
      state.repeats++;
      next = 0;
    }
    // Anchor on the deadline that just passed so the schedule does not drift by task latency;
    // when far overdue (e.g. no worker for a while) count from now instead of paging every level at once.
    const due = c.deadlineMs ?? now();
    c.deadlineMs = (now() - due <= 60_000 ? due : now()) + waitMs(next);
    state.level = next;
    upsertAttributes();
    record(`escalated to level ${next} (${levels[next]!.name})${state.repeats ? `, repeat ${state.repeats}` : ''}`);
    await wf.condition(() => c.posted === true);
    await safeSlack('escalation reply', () =>
      slack.postEscalationReply({
        state: view(),
        ref: state.slack ?? null,
        level: { index: next, name: levels[next]!.name },
        mentions: mentionsFor(next),
        channel: levels[next]!.channel,
      }),
    );
    touch();
  }

  // ------------------------------------------------------------- main loop

  for (;;) {
    if (state.status === 'resolved') break;
    if (continueAsNewWanted()) {
      await wf.condition(() => pending === 0 && wf.allHandlersFinished());
      // Handlers may have resolved the alert while we waited (TS cannot see that mutation).
      if ((state.status as AlertStatus) !== 'resolved') {
        return await wf.continueAsNew<typeof alertEscalation>({ ...input, carry: c });
      }
      break;
    }
    const status = state.status;
    const leave = () => state.status !== status || continueAsNewWanted();
    switch (status) {
      case 'firing': {
        if (c.escalationDone || c.deadlineMs === undefined) {
          await wf.condition(leave);
          break;
        }
        const wait = c.deadlineMs - now();
        if (wait > 0 && (await wf.condition(leave, wait))) break;
        if (state.status === 'firing') await escalate();
        break;
      }
      case 'snoozed': {
        const version = snoozeVersion;
        const wait = Date.parse(state.snoozedUntil ?? '') - now();
        if (wait > 0 && (await wf.condition(() => leave() || snoozeVersion !== version, wait))) break;
        if (state.status !== 'snoozed') break;
        delete state.snoozedUntil;
        c.deadlineMs = c.escalationDone || c.pausedRemainingMs === undefined ? undefined : now() + c.pausedRemainingMs;
        delete c.pausedRemainingMs;
        setStatus('firing');
        touch('snooze ended');
        break;
      }
      case 'acknowledged':
        await wf.condition(leave);
        break;
      case 'recovered': {
        const wait = (c.quietUntilMs ?? now()) - now();
        if (wait > 0 && (await wf.condition(leave, wait))) break;
        if (state.status === 'recovered') resolve('auto', `recovered and quiet for ${policy.autoResolveAfter}`);
        break;
      }
    }
  }

  // ------------------------------------------------------------- resolved: chain record, final Slack update, finish

  const resolved = state.resolved!;
  await wf.condition(() => c.raised === true);
  if (ackPromise) await ackPromise; // the chain wants raise → ack → resolve
  const receipt = await safeLedger('resolve', () =>
    ledger.recordResolveOnChain({
      alertId: ledgerKey(state.alert),
      by: resolved.by,
      reason: resolved.reason,
      resolvedAtMs: Date.parse(resolved.at),
    }),
  );
  if (receipt) resolved.receipt = receipt;
  touch();
  await wf.condition(() => pending === 0 && wf.allHandlersFinished());
  if (reopen) {
    // The condition came back after resolution: a new episode under the same id.
    return await wf.continueAsNew<typeof alertEscalation>({
      alert: { ...state.alert, firedAt: reopen.at, values: reopen.values },
      policy,
    });
  }
  return view();
}
