/**
 * Where schedules live: one JSON file (ONCALL_SCHEDULES_FILE), re-read when
 * it changes. A file, not a KV bucket, because schedules are reviewed config
 * (kept in git, shipped as a Helm ConfigMap, which the kubelet updates in
 * place): an edit changes the next page without restarting anything, and the
 * history of who was on call is the file's history. Checked with one stat()
 * per call (at most every `checkEveryMs`), so resolution at page time always
 * sees the current file.
 *
 * A bad edit never stops paging: the last good version stays in force, the
 * error is logged and counted (`oncall_schedule_reload_errors_total`), and
 * `status()` reports it.
 */
import { readFileSync, statSync } from 'node:fs';
import { Counter, register } from 'prom-client';
import type { Logger } from '../logger.ts';
import { parseScheduleFile, ScheduleFileError, SCHEDULE_LIMITS, type ScheduleFile } from './schedule-schema.ts';
import { whoIsOnCall, whoIsOnCallEverywhere, type OnCallAnswer } from './resolve.ts';
import { resolveTargets, type LevelTarget, type ResolvedTargets } from './targets.ts';

const reloadErrors =
  (register.getSingleMetric('oncall_schedule_reload_errors_total') as Counter | undefined) ??
  new Counter({ name: 'oncall_schedule_reload_errors_total', help: 'Schedule file versions rejected (the last good version stays in force)' });

export interface ScheduleStoreStatus {
  file: string;
  loadedAt?: string;
  /** mtime of the version in force. */
  version?: string;
  lastError?: string;
}

export class ScheduleStore {
  private current?: ScheduleFile;
  private stamp = '';
  private checkedAt = 0;
  private loadedAt?: string;
  private lastError?: string;

  constructor(
    readonly file: string,
    private readonly opts: { logger?: Logger; checkEveryMs?: number } = {},
  ) {}

  /** The schedules in force (re-read first if the file changed). Throws ScheduleFileError when no version was ever valid. */
  schedules(): ScheduleFile {
    const now = Date.now();
    if (!this.current || now - this.checkedAt >= (this.opts.checkEveryMs ?? 0)) {
      this.checkedAt = now;
      this.reloadIfChanged();
    }
    if (!this.current) throw new ScheduleFileError(this.lastError ?? `no schedules loaded from ${this.file}`);
    return this.current;
  }

  who(schedule: string, atMs: number): OnCallAnswer {
    return whoIsOnCall(this.schedules(), schedule, atMs);
  }

  everyone(atMs: number): OnCallAnswer[] {
    return whoIsOnCallEverywhere(this.schedules(), atMs);
  }

  /** The concrete recipients of a level at `atMs` (see targets.ts). */
  resolveTargets(level: { targets?: readonly LevelTarget[] }, atMs: number): ResolvedTargets {
    return resolveTargets(level, atMs, this.schedules());
  }

  status(): ScheduleStoreStatus {
    return { file: this.file, loadedAt: this.loadedAt, version: this.stamp || undefined, lastError: this.lastError };
  }

  private reloadIfChanged(): void {
    let stamp: string;
    try {
      const st = statSync(this.file);
      if (st.size > SCHEDULE_LIMITS.fileBytes) throw new ScheduleFileError(`schedule file ${this.file} is ${st.size} bytes (limit ${SCHEDULE_LIMITS.fileBytes})`);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp === this.stamp) return;
      const text = readFileSync(this.file, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new ScheduleFileError(`schedule file ${this.file} is not JSON: ${(err as Error).message}`, [], { cause: err });
      }
      this.current = parseScheduleFile(json, `schedule file ${this.file}`);
      this.stamp = stamp;
      this.loadedAt = new Date().toISOString();
      this.lastError = undefined;
      this.opts.logger?.info({ file: this.file, schedules: Object.keys(this.current.schedules).length }, 'on-call schedules loaded');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message === this.lastError) return; // the same bad version: counted once
      this.lastError = message;
      reloadErrors.inc();
      this.opts.logger?.error({ file: this.file, err: message }, this.current ? 'schedule file rejected; the last good version stays in force' : 'schedule file rejected');
    }
  }
}
