/**
 * `alertEscalation`: one workflow per open alert (id `alert-<device>-<rule>`).
 *
 * Lifecycle: raised → level 0 paged on every channel it names, through the
 * notifier boundary (one `notifyPost` per channel; ledger record concurrently)
 * → each level waits `waitFor` on a durable timer; unacknowledged, the next
 * level is paged (`notifyFollowUp`: thread reply, new event/mail/push) and
 * every page brought up to date (`notifyUpdate`); after the last level the list
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
import type { AlertInput, AlertState, AlertStatus, ChainReceipt } from '../lib/alerts/types.ts';
import type { EscalationPolicy, LevelTarget } from '../lib/alerts/policy.ts';
import { groupByChannel, levelTargets, type FixedTarget } from '../lib/notify/targets.ts';
import { formatDurationMs, tryParseDurationMs } from '../lib/alerts/rules-duration.ts';
import type { AlertLedgerActivities, AlertNotifyActivities, AlertOncallActivities, NotifyRef, PreparePageResult } from './alert-activities.ts';
import { silenceMatches, type ActiveSilence } from '../lib/oncall/silence-match.ts';
import { LEDGER_REVERT_ERROR, NOTIFY_PERMANENT_ERROR, NOTIFY_UNKNOWN_CHANNEL, SLACK_PERMANENT_ERROR } from './alert-activities.ts';
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
  ruleFiringSignal,
  resolveSignal,
  snoozeSignal,
  silenceSignal,
  unsilenceSignal,
  stateQuery,
  type AcknowledgeInput,
  type AcknowledgeResult,
  type AlertStateView,
  type FiringAgainInput,
  type ResolveInput,
  type RuleFiringInput,
} from './alert-messages.ts';
import { applyRuleFiring } from '../lib/alerts/incident.ts';
import { remediationRecordedSignal, remediationWorkflowId } from './remediation-messages.ts';
import type { RemediationRecord, RemediationRequest } from '../lib/kube/remediation-types.ts';
import { addRemediationRecord } from '../lib/kube/remediation-records.ts';

// Channels go through the notifier boundary (activities/notify). A page may wait its turn in the
// channel's delivery queue (storms), so the bound is long and liveness comes from heartbeats.
const NOTIFY_OPTIONS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [SLACK_PERMANENT_ERROR, NOTIFY_PERMANENT_ERROR, NOTIFY_UNKNOWN_CHANNEL],
  },
} satisfies wf.ActivityOptions;
const notify = wf.proxyActivities<AlertNotifyActivities>(NOTIFY_OPTIONS);
const { maximumAttempts: _capped, ...unboundedRetry } = NOTIFY_OPTIONS.retry;

// On-call check before each page (silences, schedule targets): short; on failure the fixed targets are paged.
const ONCALL_OPTIONS = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 3 },
} satisfies wf.ActivityOptions;
const oncall = wf.proxyActivities<AlertOncallActivities>(ONCALL_OPTIONS);

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
  // With a fallback bound, a channel that keeps failing gives up after it (then the fallback is paged).
  const primary = policy.fallbackAfter
    ? wf.proxyActivities<AlertNotifyActivities>({
        ...NOTIFY_OPTIONS,
        scheduleToCloseTimeout: policy.fallbackAfter,
        // No attempt cap: scheduleToCloseTimeout is the bound. Temporal gives up early when the next
        // backoff would pass it, so a short maximumInterval keeps the fallback within 10 s of the bound.
        retry: { ...unboundedRetry, maximumInterval: '10s' },
      })
    : notify;
  let ackPromise: Promise<ChainReceipt | null> | undefined;
  let reopen: FiringAgainInput | undefined;
  let snoozeVersion = 0;
  let silenceVersion = 0;
  let lastPaged: string[] | undefined; // current level's recipients, for the Temporal UI's details
  let pending = 0; // background work (Slack/ledger) that must finish before completing
  let slackVersion = 0;
  let slackSynced = 0;
  let slackFlushing = false;

  // ------------------------------------------------------------- helpers

  function record(event: string): void {
    state.history.push({ at: iso(now()), event });
    if (state.history.length > MAX_HISTORY_ENTRIES) state.history.splice(1, state.history.length - MAX_HISTORY_ENTRIES);
    describe();
  }

  /** The Temporal UI's "current details" of this alert (shown on the workflow page; replay-safe metadata). */
  function describe(): void {
    const a = state.alert;
    const lines = [`**${a.device}** · ${a.rule} · ${a.severity} · ${state.status} · level ${state.level} (${levels[state.level]?.name ?? '?'})`];
    if (state.oncall?.people.length)
      lines.push(`paged: ${state.oncall.people.map((p) => `${p.person ?? 'nobody'} (${p.schedule})`).join(', ')}`);
    // Recipients of the current level: as resolved at its page, else the level's fixed targets.
    const to = lastPaged ?? levelTargets(levels[state.level] ?? { name: '', waitFor: '' }).flatMap((t) => (typeof t.target === 'object' ? [] : [`${t.channel}:${t.target ?? 'default'}`]));
    if (to.length) lines.push(`to: ${to.slice(0, 20).join(', ')}`);
    if (state.ack) lines.push(`acknowledged by ${state.ack.by} via ${state.ack.via} at ${state.ack.at}`);
    if (state.silence) lines.push(`silenced until ${state.silence.endsAt} by ${state.silence.by}: ${state.silence.reason}`);
    if (state.resolved) lines.push(`resolved by ${state.resolved.by}: ${state.resolved.reason}`);
    wf.setCurrentDetails(lines.join('\n\n'));
  }

  function view(): AlertStateView {
    const v = JSON.parse(JSON.stringify(state)) as AlertStateView;
    if (state.status === 'firing' && !c.escalationDone && c.deadlineMs !== undefined) v.nextEscalationAt = iso(c.deadlineMs);
    if (state.status === 'snoozed' && state.snoozedUntil && c.pausedRemainingMs !== undefined) {
      v.nextEscalationAt = iso(Date.parse(state.snoozedUntil) + c.pausedRemainingMs);
    }
    if (state.status === 'recovered' && c.quietUntilMs !== undefined) v.autoResolveAt = iso(c.quietUntilMs);
    if (state.status === 'silenced' && state.silence?.onEnd === 'resume' && c.pausedRemainingMs !== undefined)
      v.nextEscalationAt = iso(Date.parse(state.silence.endsAt) + c.pausedRemainingMs);
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

  /** Channels are best effort: a failed page must not stop the escalation clock (it is recorded, and may fall back). */
  async function safeNotify<T>(what: string, call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return { ok: true, value: await call() };
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      wf.log.warn('alert notify call failed', { what, alertId: state.alert.alertId, error: errorText(err) });
      record(`${what} failed: ${errorText(err)}`);
      return { ok: false };
    }
  }

  /** Stores (or replaces) the channel's ref; the Slack adapter's ref also fills `state.slack`. */
  function keepRef(ref: NotifyRef): void {
    const list = (state.notifications ??= []);
    const i = list.findIndex((r) => r.channel === ref.channel);
    if (i >= 0) list[i] = ref;
    else list.push(ref);
    if (ref.slack) state.slack = ref.slack;
  }

  const refFor = (channel: string): NotifyRef | null => state.notifications?.find((r) => r.channel === channel) ?? null;

  /**
   * Fixed targets of a level. `{ schedule }` targets need the on-call resolver (lib/oncall,
   * resolved when the level fires); until one is wired here they are recorded and skipped.
   */
  function fixedTargets(targets: LevelTarget[]): FixedTarget[] {
    const out: FixedTarget[] = [];
    for (const t of targets) {
      if (t.target === undefined || typeof t.target === 'string') out.push({ channel: t.channel, target: t.target });
      else record(`schedule target ${t.target.schedule} on ${t.channel} skipped: no on-call resolver`);
    }
    return out;
  }

  /**
   * Pages one level on every channel it names, concurrently (one activity per channel).
   * A channel that fails past its bound pages the level's fallback targets instead.
   */
  async function pageLevel(index: number, first: boolean, page?: PreparePageResult): Promise<void> {
    const level = levels[index]!;
    // `page`: the level's targets with schedules resolved just now (lib/oncall); without it, the fixed ones.
    const groups = groupByChannel(page ? page.targets : fixedTargets(levelTargets(level)));
    const failed: string[] = [];
    await Promise.all(
      groups.map(async ({ channel, targets }) => {
        const ref = refFor(channel);
        const res =
          first || !ref
            ? first
              ? await safeNotify(`${channel} post`, () => primary.notifyPost({ state: view(), channel, targets }))
              : await safeNotify(`${channel} page`, () =>
                  primary.notifyFollowUp({ state: view(), channel, ref: null, level: { index, name: level.name }, targets }),
                )
            : await safeNotify(`${channel} escalation reply`, () =>
                primary.notifyFollowUp({ state: view(), channel, ref, level: { index, name: level.name }, targets }),
              );
        if (!res.ok) failed.push(channel);
        else if (res.value && (!ref || first)) keepRef(res.value);
      }),
    );
    if (failed.length && level.fallback?.length) {
      record(`fallback for ${failed.join(', ')} at level ${index}`);
      await Promise.all(
        groupByChannel(fixedTargets(level.fallback)).map(async ({ channel, targets }) => {
          const res = await safeNotify(`${channel} fallback`, () =>
            notify.notifyFollowUp({ state: view(), channel, ref: refFor(channel), level: { index, name: level.name }, targets }),
          );
          if (res.ok && res.value && !refFor(channel)) keepRef(res.value);
        }),
      );
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

  /** Records a state change and brings every page up to date (coalesced, in order). */
  function touch(event?: string): void {
    if (event) record(event);
    upsertAttributes();
    slackVersion++;
    if (!slackFlushing) track(flushNotify);
  }

  async function flushNotify(): Promise<void> {
    slackFlushing = true;
    try {
      await wf.condition(() => c.posted === true);
      while (slackSynced < slackVersion) {
        const version = slackVersion;
        for (const ref of [...(state.notifications ?? [])]) {
          const res = await safeNotify(`${ref.channel} update`, () => notify.notifyUpdate({ state: view(), ref }));
          if (res.ok && res.value) keepRef(res.value);
        }
        slackSynced = version;
      }
    } finally {
      slackFlushing = false;
    }
  }

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

  /** Silences and schedules are live data: ask right before paging level `index` (undefined = check failed, page fixed targets). */
  async function preparePage(index: number): Promise<PreparePageResult | undefined> {
    const level = levels[index]!;
    try {
      const page = await oncall.preparePage.executeWithOptions(
        { ...ONCALL_OPTIONS, summary: `silences + on-call for level ${index} (${level.name})` },
        [{ alert: state.alert, level: { index, name: level.name }, targets: levelTargets(level), atMs: now() }],
      );
      if (!page.silence) lastPaged = page.targets.map((t) => `${t.channel}:${t.target ?? 'default'}`);
      for (const u of page.unresolved) record(`schedule ${u.schedule} on ${u.channel} paged nobody: ${u.reason}`);
      if (page.oncall.length && !page.silence) {
        state.oncall = { level: index, at: iso(now()), people: page.oncall.map(({ schedule, person, source }) => ({ schedule, person, source })) };
        record(`on call at level ${index}: ${page.oncall.map((o) => `${o.schedule} → ${o.person ?? 'nobody'}`).join(', ')}`);
      }
      return page;
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      record(`on-call check failed, paging the fixed targets: ${errorText(err)}`);
      return undefined;
    }
  }

  /**
   * Pauses paging for a silence (a signal, or found at page time). `pausedMs` is what is left of
   * the level's wait afterwards (0 when the page was due now). False when it does not apply.
   */
  function applySilence(s: ActiveSilence, pausedMs?: number): boolean {
    if (!silenceMatches(s, state.alert) || Date.parse(s.endsAt) <= now()) return false;
    if (state.status !== 'firing' && state.status !== 'snoozed' && state.status !== 'silenced') return false;
    if (state.status === 'silenced' && state.silence && state.silence.endsAt >= s.endsAt) return true; // already paused as long
    if (state.status === 'firing')
      c.pausedRemainingMs = pausedMs ?? (c.escalationDone || c.deadlineMs === undefined ? undefined : Math.max(0, c.deadlineMs - now()));
    delete state.snoozedUntil;
    state.silence = { id: s.id, endsAt: s.endsAt, onEnd: s.onEnd, reason: s.reason, by: s.by };
    silenceVersion++;
    setStatus('silenced');
    touch(`silenced by ${s.by} until ${s.endsAt} (${s.id}: ${s.reason}); on end: ${s.onEnd}`);
    return true;
  }

  /** The window is over (or ended early): resume the paused level clock, or resolve, as the silence says. */
  function endSilence(why: string): void {
    const s = state.silence!;
    delete state.silence;
    if (s.onEnd === 'resolve') {
      resolve(`silence:${s.id}`, `${why} (silence ${s.id} resolves on end)`);
      return;
    }
    c.deadlineMs = c.escalationDone || c.pausedRemainingMs === undefined ? undefined : now() + c.pausedRemainingMs;
    delete c.pausedRemainingMs;
    setStatus('firing');
    touch(`silence ${s.id} ${why}: escalation resumes`);
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
      if (state.status === 'firing' || state.status === 'snoozed' || state.status === 'silenced') {
        delete state.snoozedUntil;
        delete state.silence;
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
      if (!['slack', 'api', 'console', 'email', 'ntfy', 'webhook'].includes(input.via))
        throw new Error(`acknowledge "via" must be slack|api|console|email|ntfy|webhook`);
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

  const onRecovered = ({ at }: { at: string }): void => {
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
  };
  wf.setHandler(recoveredSignal, onRecovered);

  const onFiringAgain = (input: FiringAgainInput): void => {
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
  };
  wf.setHandler(firingAgainSignal, onFiringAgain);

  // Grouped incidents (lib/alerts/incident.ts): each rule firing is recorded; the incident recovers
  // only when none of its rules is still firing.
  wf.setHandler(ruleFiringSignal, (f: RuleFiringInput) => {
    if (state.status === 'resolved' && f.type === 'recovered') return;
    const r = applyRuleFiring(state.firings ?? [], f);
    if (state.status !== 'resolved') state.firings = r.firings;
    if (f.type === 'firing') onFiringAgain({ at: f.at, values: f.values });
    else if (r.allRecovered) onRecovered({ at: f.at });
  });

  wf.setHandler(silenceSignal, (s: ActiveSilence) => void applySilence(s));

  wf.setHandler(unsilenceSignal, ({ id, by }) => {
    if (state.status === 'silenced' && state.silence?.id === id) endSilence(`ended early by ${by}`);
  });

  // Node remediation (workflows/node-remediation.ts) reports here when done: the timeline and the page show it.
  // A repeat that changed nothing (a double click, a second policy check) is noted on the timeline only.
  wf.setHandler(remediationRecordedSignal, (r: RemediationRecord) => {
    if (!r?.action || !r.node) return;
    addRemediationRecord((state.remediations ??= []), r);
    touch(`${r.action} ${r.node} by ${r.by} via ${r.via}: ${r.outcome} — ${r.detail}`);
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
      // A silenced alert is recorded (workflow, ledger) but posts nothing until its window ends.
      for (;;) {
        const page = await preparePage(0);
        if (!page?.silence || !applySilence(page.silence)) {
          await pageLevel(0, true, page);
          break;
        }
        await wf.condition(() => state.status !== 'silenced');
        if ((state.status as AlertStatus) === 'resolved') break; // resolved inside its window: never paged
      }
      c.posted = true;
    });
  }

  async function escalate(): Promise<void> {
    // Silenced now? Then this level is not paged; it is paged when the silence ends (if it resumes).
    const peek = state.level + 1 < levels.length ? state.level + 1 : state.repeats < policy.repeat ? 0 : undefined;
    const page = peek === undefined ? undefined : await preparePage(peek);
    if (state.status !== 'firing') return; // acknowledged/resolved while we asked
    if (page?.silence && applySilence(page.silence, 0)) return;
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
    await pageLevel(next, false, page);
    touch();
  }

  /**
   * Release by policy: the incident recovered and stayed quiet (auto-resolve), and its
   * quarantine asked to be released then (REMEDIATION_RELEASE_ON_RECOVERY). The release runs
   * as its own workflow (abandoned by this one, which completes now).
   */
  async function releaseAfterRecovery(): Promise<void> {
    const held = new Map<string, RemediationRecord>();
    for (const r of state.remediations ?? []) {
      if (r.action === 'release') held.delete(r.node);
      else if (r.outcome === 'done' && r.releaseOnRecovery) held.set(r.node, r);
    }
    for (const r of held.values()) {
      const req: RemediationRequest = { action: 'release', node: r.node, gpu: r.gpu, by: 'policy', via: 'policy', reason: 'incident recovered and quiet' };
      try {
        await wf.startChild('nodeRemediation', {
          workflowId: remediationWorkflowId(r.node, 'release', `${state.alert.alertId}@${state.alert.firedAt}`),
          args: [req],
          parentClosePolicy: 'ABANDON',
        });
        record(`release of ${r.node} started by policy (recovered and quiet)`);
      } catch (err) {
        record(`release of ${r.node} by policy not started: ${errorText(err)}`);
      }
    }
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
      case 'silenced': {
        const version = silenceVersion;
        const wait = Date.parse(state.silence?.endsAt ?? '') - now();
        if (wait > 0 && (await wf.condition(() => leave() || silenceVersion !== version, wait))) break;
        if (state.status === 'silenced' && silenceVersion === version) endSilence('window ended');
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

  // ------------------------------------------------------------- resolved: chain record, final page updates, finish

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
  if (resolved.by === 'auto') await releaseAfterRecovery();
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
