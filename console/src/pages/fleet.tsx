/** Fleet: every device with health, last seen and open incidents; filter, sort; counts and KPIs. */
import { useState } from 'preact/hooks';
import { usePoll, useNow } from '../hooks.ts';
import { ErrorLine, HealthBadge, Kpi } from '../components.tsx';
import { filterRows, sortRows, type FleetFilter, type SortKey } from '../fleet-model.ts';
import { formatAgo, formatCompact, formatDuration, formatPct } from '../format.ts';
import type { FleetAnswer } from '../../../api/console/wire.ts';


const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'device', label: 'Device' },
  { key: 'model', label: 'Model' },
  { key: 'host', label: 'Host' },
  { key: 'health', label: 'Health' },
  { key: 'score', label: 'Score' },
  { key: 'lastSeen', label: 'Last seen' },
  { key: 'openIncidents', label: 'Incidents' },
];

export function FleetPage() {
  const { data, error } = usePoll<FleetAnswer>('/v1/console/fleet', 5_000);
  const now = useNow();
  const [filter, setFilter] = useState<FleetFilter>({ text: '', health: 'all', onlyWithIncidents: false });
  const [sort, setSort] = useState<{ key: SortKey; dir: 'asc' | 'desc' }>({ key: 'health', dir: 'asc' });
  const rows = data ? sortRows(filterRows(data.rows, filter), sort.key, sort.dir) : [];
  const k = data?.kpis;
  const toggle = (key: SortKey) => setSort((s) => ({ key, dir: s.key === key && s.dir === 'asc' ? 'desc' : 'asc' }));
  return (
    <main>
      <h1>Fleet</h1>
      <ErrorLine error={error} />
      <div class="kpis" aria-label="Fleet KPIs">
        <Kpi label="devices" value={formatCompact(k?.devices)} />
        <Kpi label="utilisation" value={formatPct(k?.utilisationPct)} title="mean of the latest util_gpu_pct" />
        <Kpi label="availability" value={formatPct(k?.availabilityPct)} title="not critical, and seen within 5 min of the fleet's newest point" />
        <Kpi label="points/s" value={formatCompact(k?.pointsPerSecond)} title="written by the collectors, between two polls" />
        <Kpi label="MTBI" value={formatDuration(k?.mtbiS)} title="mean time between incidents" />
        <Kpi label="MTTR" value={formatDuration(k?.mttrS)} title="mean time to resolve" />
        <Kpi label="time to ack" value={formatDuration(k?.mttaS)} title="mean time to acknowledge" />
        <Kpi label="open incidents" value={formatCompact(k?.openIncidents)} />
      </div>
      <div class="counts" role="group" aria-label="Filter by health">
        {(['all', 'critical', 'degraded', 'healthy', 'unknown'] as const).map((h) => (
          <button
            type="button"
            class={`chip ${filter.health === h ? 'on' : ''}`}
            aria-pressed={filter.health === h}
            data-testid={`count-${h}`}
            onClick={() => setFilter({ ...filter, health: h })}
          >
            {h} {h === 'all' ? (data?.total ?? 0) : (data?.counts[h] ?? 0)}
          </button>
        ))}
      </div>
      <div class="filters">
        <label>
          Search <input type="search" value={filter.text} placeholder="device, host, model, reason" onInput={(e) => setFilter({ ...filter, text: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          <input type="checkbox" checked={filter.onlyWithIncidents} onChange={(e) => setFilter({ ...filter, onlyWithIncidents: (e.target as HTMLInputElement).checked })} /> with open incidents only
        </label>
      </div>
      {data?.truncated && <p class="note">Showing {data.rows.length} of {data.total} devices.</p>}
      <div class="table-wrap">
        <table class="fleet">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th scope="col" class={`col-${c.key}`} aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" class="sort" onClick={() => toggle(c.key)}>
                    {c.label}
                    {sort.key === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-device={r.device} class={r.stale ? 'stale' : ''}>
                <td>
                  <a href={`#/device/${encodeURIComponent(r.device)}`}>{r.device}</a>
                </td>
                <td class="col-model">{r.model ?? '–'}</td>
                <td class="col-host">{r.host ?? '–'}</td>
                <td>
                  <HealthBadge health={r.health} />
                  {r.reasons.length > 0 && <span class="reasons"> {r.reasons.slice(0, 2).join(', ')}</span>}
                </td>
                <td class="num">{r.score === null ? '–' : r.score.toFixed(2)}</td>
                <td>{formatAgo(r.lastSeen, now)}</td>
                <td class="num">{r.openIncidents ? <a href={`#/incidents?device=${encodeURIComponent(r.device)}`}>{r.openIncidents}</a> : '0'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && rows.length === 0 && <p class="note">No device matches.</p>}
    </main>
  );
}
