/**
 * On-call and silences over the real stores, shared by the REST API and the
 * CLI (`telemetry-stack oncall who`, `telemetry-stack silence …`).
 *
 * Adding a silence stores it first, then signals every running alert
 * workflow it matches (found through the AlertDevice/AlertRule search
 * attributes), so escalations already in flight pause at once. An alert the
 * listing misses (visibility is eventually consistent, or it started a moment
 * later) still finds the silence at its next page (`preparePage`), so the
 * store, not the signal, is the source of truth.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OnCallAnswer } from '../lib/oncall/resolve.ts';
import type { ScheduleStore } from '../lib/oncall/schedule-store.ts';
import type { SilenceStore } from '../lib/oncall/silence-store.ts';
import { isActive, silenceVisibilityQuery, toActive, type Silence } from '../lib/oncall/silences.ts';
import { silenceSignal, unsilenceSignal } from '../workflows/alert-messages.ts';

/** Running alert workflows signalled per silence change at most; the rest pause at their next page. */
export const MAX_SIGNALLED_PER_SILENCE = 10_000;
const SIGNAL_CONCURRENCY = 16;

export interface SilenceChange {
  silence: Silence;
  /** Running alert workflows signalled (matched by device/rule; host is checked by each workflow). */
  signalled: number;
  /** More matched than MAX_SIGNALLED_PER_SILENCE: the rest pause at their next page. */
  truncated: boolean;
}

export interface OncallService {
  /** Who is on call now (or at `atMs`), for one schedule or all. Throws when no schedule file is configured. */
  who(input: { schedule?: string; atMs?: number }): OnCallAnswer[];
  silences: {
    list(): Promise<Silence[]>;
    add(request: unknown): Promise<SilenceChange>;
    end(id: string, by: string, reason?: string): Promise<SilenceChange>;
  };
}

/** No ONCALL_SCHEDULES_FILE. */
export class NoSchedulesError extends Error {
  override name = 'NoSchedulesError';
  constructor() {
    super('no on-call schedules configured (set ONCALL_SCHEDULES_FILE)');
  }
}

export function createOncallService(deps: { client: Client; schedules?: ScheduleStore; silences: SilenceStore }): OncallService {
  async function signalMatching(s: Silence, send: (id: string) => Promise<void>): Promise<{ signalled: number; truncated: boolean }> {
    const ids: string[] = [];
    let truncated = false;
    for await (const wf of deps.client.workflow.list({ query: silenceVisibilityQuery(s.matchers) })) {
      if (ids.length >= MAX_SIGNALLED_PER_SILENCE) {
        truncated = true;
        break;
      }
      ids.push(wf.workflowId);
    }
    let signalled = 0;
    for (let i = 0; i < ids.length; i += SIGNAL_CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + SIGNAL_CONCURRENCY).map(async (id) => {
          try {
            await send(id);
            signalled++;
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err; // closed in between: nothing to pause
          }
        }),
      );
    }
    return { signalled, truncated };
  }

  return {
    who({ schedule, atMs = Date.now() }) {
      if (!deps.schedules) throw new NoSchedulesError();
      return schedule ? [deps.schedules.who(schedule, atMs)] : deps.schedules.everyone(atMs);
    },
    silences: {
      list: () => deps.silences.list(),
      async add(request) {
        const silence = await deps.silences.add(request);
        // A planned window pauses nothing yet: alerts find it at their next page once it starts.
        if (!isActive(silence, Date.now())) return { silence, signalled: 0, truncated: false };
        const active = toActive(silence);
        const r = await signalMatching(silence, (id) => deps.client.workflow.getHandle(id).signal(silenceSignal, active));
        return { silence, ...r };
      },
      async end(id, by, reason) {
        const silence = await deps.silences.end(id, by, reason);
        const r = await signalMatching(silence, (wid) => deps.client.workflow.getHandle(wid).signal(unsilenceSignal, { id, by }));
        return { silence, ...r };
      },
    },
  };
}
