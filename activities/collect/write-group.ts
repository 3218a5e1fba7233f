/**
 * Writes the lines of one fetched group and narrows every data error down to
 * the lines InfluxDB rejects, so a bad line costs only itself: the other lines
 * of its chunk are written (re-writing an accepted line is harmless, InfluxDB
 * overwrites identical series + timestamp).
 *
 * - `data` (400 unparsable / 422 partial write): lines named in the answer are
 *   set aside and the rest is retried; otherwise the chunk is bisected down to
 *   single lines. A single line that still fails is bad.
 * - `too-large` (413): bisected; a single line that is too large is bad.
 * - any other kind (auth, not-found, config, transient) is about us, not the
 *   data: the chunk's lines are reported `unwritten` and the error returned,
 *   the other chunks still go on.
 */
import { InfluxWriteError, lineText, namedBadLines, type InfluxWriter, type Line } from '../../lib/influx/writer.ts';

export interface GroupWriteResult {
  /** Line indexes InfluxDB rejected for their content, with its reason. */
  bad: Map<number, string>;
  /** Line indexes not written because of an error about us (first such error in `error`). */
  unwritten: Set<number>;
  error?: InfluxWriteError;
  requests: number;
}

export async function writeGroup(writer: Pick<InfluxWriter, 'writeRequest' | 'batchLines'>, lines: readonly Line[], concurrency = 2): Promise<GroupWriteResult> {
  const res: GroupWriteResult = { bad: new Map(), unwritten: new Set(), requests: 0 };
  const chunks: number[][] = [];
  for (let i = 0; i < lines.length; i += writer.batchLines) {
    const c: number[] = [];
    for (let j = i; j < Math.min(lines.length, i + writer.batchLines); j++) c.push(j);
    chunks.push(c);
  }

  const writeRange = async (idx: number[]): Promise<void> => {
    if (idx.length === 0) return;
    // After an error about us, do not hammer InfluxDB with the rest: it is all held.
    if (res.error) {
      for (const i of idx) res.unwritten.add(i);
      return;
    }
    res.requests++;
    try {
      await writer.writeRequest(idx.map((i) => lines[i]!));
    } catch (err) {
      if (!(err instanceof InfluxWriteError)) throw err;
      if (err.kind !== 'data' && err.kind !== 'too-large') {
        res.error ??= err;
        for (const i of idx) res.unwritten.add(i);
        return;
      }
      if (idx.length === 1) {
        res.bad.set(idx[0]!, `${err.status ?? ''} ${err.body}`.trim());
        return;
      }
      if (err.kind === 'data') {
        const named = new Set(namedBadLines(err.body));
        if (named.size) {
          const rest: number[] = [];
          for (const i of idx) {
            if (named.has(lineText(lines[i]!))) res.bad.set(i, `${err.status} ${err.body}`);
            else rest.push(i);
          }
          if (rest.length < idx.length) return writeRange(rest);
        }
      }
      const mid = idx.length >> 1;
      await writeRange(idx.slice(0, mid));
      await writeRange(idx.slice(mid));
    }
  };

  let next = 0;
  const run = async () => {
    while (next < chunks.length) await writeRange(chunks[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, run));
  return res;
}
