/** Incidents: open first, then recent; severity, status, level, who is paged. */
import { usePoll, useNow } from '../hooks.ts';
import { ErrorLine, SeverityBadge } from '../components.tsx';
import { formatAgo } from '../format.ts';
import type { IncidentRow } from '../../../api/console/wire.ts';


export function IncidentsPage({ device }: { device?: string }) {
  const q = device ? `&device=${encodeURIComponent(device)}` : '';
  // Open first, then recent (ordered by the API).
  const { data, error } = usePoll<{ incidents: IncidentRow[] }>(`/v1/console/incidents?limit=100${q}`, 3_000);
  const now = useNow();
  const rows = data?.incidents ?? [];
  return (
    <main>
      <h1>Incidents{device ? ` of ${device}` : ''}</h1>
      <ErrorLine error={error} />
      {data && rows.length === 0 && <p class="note">No incidents.</p>}
      <div class="table-wrap">
        <table class="incidents">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Incident</th>
              <th scope="col">Device</th>
              <th scope="col">Status</th>
              <th scope="col">Level</th>
              <th scope="col">Paged</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr data-alert={a.id} class={a.open ? 'open' : 'closed'}>
                <td>
                  <SeverityBadge severity={a.severity} />
                </td>
                <td>
                  <a href={`#/incident/${encodeURIComponent(a.id)}`}>{a.rule ?? a.id}</a>
                </td>
                <td>{a.device ?? '–'}</td>
                <td class="status">{a.status ?? a.workflowStatus.toLowerCase()}</td>
                <td class="num">{a.level ?? 0}</td>
                <td>
                  {a.paged?.join(', ') ?? '–'}
                  {a.ackBy && <small> · ack {a.ackBy}</small>}
                </td>
                <td>{formatAgo(a.startedAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
