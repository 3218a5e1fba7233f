/** Pipeline: partitions (collector stats), lag, write rate, DLQ, workers, Temporal UI links. */
import { usePoll, useNow } from '../hooks.ts';
import { ErrorLine, Kpi } from '../components.tsx';
import { formatAgo, formatCompact } from '../format.ts';
import type { PipelineAnswer as Pipeline } from '../../../api/console/wire.ts';


export function PipelinePage() {
  const { data, error } = usePoll<Pipeline>('/v1/console/pipeline', 3_000);
  const now = useNow(3_000);
  const lag = data?.partitions.reduce((s, p) => s + (p.stats?.lag ?? 0), 0);
  return (
    <main>
      <h1>Pipeline</h1>
      <ErrorLine error={error} />
      <div class="kpis">
        <Kpi label="points written" value={formatCompact(data?.pointsWritten)} />
        <Kpi label="write rate, points/s" value={formatCompact(data?.pointsPerSecond)} />
        <Kpi label="lag, batches" value={formatCompact(lag)} />
        <Kpi label="stream, batches" value={formatCompact(data?.stream?.messages)} />
        <Kpi label="DLQ, batches" value={formatCompact(data?.dlq?.messages)} />
      </div>
      <h2>Workers</h2>
      <ul class="plain">
        {data?.workers.map((w) => (
          <li data-queue={w.taskQueue}>
            <span class={`badge ${w.pollers > 0 ? 'badge-healthy' : 'badge-critical'}`}>{w.pollers > 0 ? 'up' : 'down'}</span> {w.taskQueue}: {w.pollers} pollers, last poll {formatAgo(w.lastAccess, now)}
          </li>
        ))}
      </ul>
      <h2>Partitions</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Partition</th>
              <th scope="col">Collector</th>
              <th scope="col">Lag</th>
              <th scope="col">Points</th>
              <th scope="col">DLQ</th>
              <th scope="col">Last batch</th>
            </tr>
          </thead>
          <tbody>
            {data?.partitions.map((p) => (
              <tr data-partition={p.partition}>
                <td>p{p.partition}</td>
                <td>
                  {p.temporalUrl ? (
                    <a href={p.temporalUrl} target="_blank" rel="noopener noreferrer">
                      {p.workflowId}
                    </a>
                  ) : (
                    p.workflowId
                  )}{' '}
                  <small>
                    {p.status.toLowerCase()}
                    {p.stats?.paused ? ' · paused' : ''}
                  </small>
                  {(p.stats?.lastError ?? p.error) && <div class="error">{(p.stats?.lastError ?? p.error)!.slice(0, 160)}</div>}
                </td>
                <td class="num">{p.stats?.lag ?? '–'}</td>
                <td class="num">{formatCompact(p.stats?.pointsWritten)}</td>
                <td class="num">{p.stats?.dlq ?? '–'}</td>
                <td>{formatAgo(p.stats?.lastBatchAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data?.temporalUi && (
        <p>
          <a href={data.temporalUi} target="_blank" rel="noopener noreferrer">
            Open the Temporal UI
          </a>
        </p>
      )}
    </main>
  );
}
