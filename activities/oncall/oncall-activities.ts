/**
 * The on-call activity the escalation workflow runs right before each page:
 * is the alert silenced (page nobody), and who exactly is paged (schedule
 * targets resolved at the page's instant). It reads live data — the schedule
 * file as it is now, the silences bucket as it is now — which is why it is an
 * activity and not workflow code.
 *
 * Never blocks a page: a schedule file that never loaded, or a silences
 * bucket that cannot be read, leaves the fixed targets to be paged and says
 * why in `unresolved` / the log.
 */
import type { Logger } from '../../lib/logger.ts';
import type { ScheduleStore } from '../../lib/oncall/schedule-store.ts';
import type { SilenceStore } from '../../lib/oncall/silence-store.ts';
import { resolveTargets, isScheduleRef } from '../../lib/oncall/targets.ts';
import type { AlertOncallActivities, PreparePageInput, PreparePageResult } from '../../workflows/alert-activities.ts';

export interface OncallDeps {
  /** Absent: schedule targets are reported unresolved (ONCALL_SCHEDULES_FILE unset). */
  schedules?: Pick<ScheduleStore, 'resolveTargets'>;
  /** Absent: nothing is ever silenced. */
  silences?: Pick<SilenceStore, 'activeFor'>;
  logger: Logger;
}

export function createOncallActivities(deps: OncallDeps) {
  async function preparePage(input: PreparePageInput): Promise<PreparePageResult> {
    const silence = deps.silences ? await deps.silences.activeFor(input.alert, input.atMs) : undefined;
    const level = { targets: input.targets ?? [] };
    let resolved: PreparePageResult;
    try {
      resolved = deps.schedules ? deps.schedules.resolveTargets(level, input.atMs) : resolveTargets(level, input.atMs, undefined);
    } catch (err) {
      // The schedule file never loaded: page the fixed targets, name the problem for each schedule target.
      const reason = err instanceof Error ? err.message : String(err);
      resolved = resolveTargets({ targets: level.targets.filter((t) => !isScheduleRef(t.target)) }, input.atMs, undefined);
      resolved.unresolved = level.targets.flatMap((t) => (isScheduleRef(t.target) ? [{ channel: t.channel, schedule: t.target.schedule, reason }] : []));
    }
    for (const u of resolved.unresolved)
      deps.logger.warn({ alertId: input.alert.alertId, level: input.level.index, ...u }, 'schedule target resolved to nobody');
    if (silence) deps.logger.info({ alertId: input.alert.alertId, silence: silence.id, level: input.level.index }, 'page suppressed by silence');
    return silence ? { ...resolved, silence } : resolved;
  }
  return { preparePage } satisfies AlertOncallActivities;
}
