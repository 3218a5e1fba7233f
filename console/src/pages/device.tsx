/** Device: live charts (SSE over fetch) on top of downsampled history, health timeline, driver signals, incidents. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, session } from '../api.ts';
import { usePoll, useNow } from '../hooks.ts';
import { ErrorLine, HealthBadge, Section, SeverityBadge } from '../components.tsx';
import { SeriesBuffer, nsToSeconds } from '../series-buffer.ts';
import { SseParser } from '../sse.ts';
import { formatAgo } from '../format.ts';
import { Chart } from './chart.tsx';
import type { HealthAnswer, HistoryAnswer } from '../../../api/console/wire.ts';

const FIELDS = [
  { field: 'temperature_c', unit: '°C' },
  { field: 'power_w', unit: 'W' },
  { field: 'util_gpu_pct', unit: '%' },
  { field: 'sm_clock_mhz', unit: 'MHz' },
] as const;
/** Windows the charts can show (history below, the stream on top): buttons, so zooming works from the keyboard too. */
const WINDOWS = [
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 86_400_000 },
] as const;
/** The health timeline's span. */
const HEALTH_SPAN_MS = 6 * 3_600_000;

type History = HistoryAnswer;
type Health = HealthAnswer;
interface AlertRow {
  id: string;
  rule?: string;
  severity?: string;
  status?: string;
  level?: number;
  startedAt?: string;
}

export function DevicePage({ id }: { id: string }) {
  const buffers = useMemo(() => new Map(FIELDS.map((f) => [f.field, new SeriesBuffer()])), [id]);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string>();
  const [live, setLive] = useState<'connecting' | 'live' | 'paused' | 'error'>('connecting');
  const [every, setEvery] = useState<number>();
  const [zoom, setZoom] = useState<{ from: number; to: number } | null>(null);
  const [windowMs, setWindowMs] = useState<number>(WINDOWS[0].ms);
  const now = useNow();
  // Fixed per device: a path that changed on every render would refetch on every render.
  const healthFrom = useMemo(() => new Date(Date.now() - HEALTH_SPAN_MS).toISOString(), [id]);
  const health = usePoll<Health>(`/v1/console/devices/${encodeURIComponent(id)}/health?from=${healthFrom}`, 15_000);
  const incidents = usePoll<{ alerts: AlertRow[] }>(`/v1/alerts?device=${encodeURIComponent(id)}&limit=20`, 10_000);

  // History for the window (or the zoomed range), downsampled by the API.
  useEffect(() => {
    const ctl = new AbortController();
    const to = zoom ? zoom.to * 1000 : Date.now();
    const from = zoom ? zoom.from * 1000 : to - windowMs;
    api<History>(
      `/v1/console/devices/${encodeURIComponent(id)}/history?fields=${FIELDS.map((f) => f.field).join(',')}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&points=600`,
      { signal: ctl.signal },
    ).then(
      (h) => {
        for (const s of h.series) buffers.get(s.field as (typeof FIELDS)[number]['field'])?.setHistory(s.points);
        setEvery(h.everySeconds);
        setVersion((v) => v + 1);
      },
      (e: Error) => e.name !== 'AbortError' && setError(e.message),
    );
    return () => ctl.abort();
  }, [id, zoom, windowMs]);

  // Live points while not zoomed: /v1/stream for this device, read with fetch (EventSource cannot send the key).
  useEffect(() => {
    if (zoom) {
      setLive('paused');
      return;
    }
    const ctl = new AbortController();
    const parser = new SseParser();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', 'x-api-key': session.key() ?? '' };
        if (parser.lastEventId) headers['last-event-id'] = parser.lastEventId;
        const res = await fetch(`/v1/stream?device=${encodeURIComponent(id)}&field=${FIELDS.map((f) => f.field).join(',')}`, { headers, signal: ctl.signal });
        if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
        setLive('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          let changed = false;
          for (const ev of parser.push(value)) {
            if (ev.event !== 'points') continue;
            const pts = JSON.parse(ev.data) as { device: string; ts: string; fields: Record<string, number> }[];
            for (const p of pts) {
              if (p.device !== id) continue;
              const t = nsToSeconds(p.ts);
              for (const [f, v] of Object.entries(p.fields)) changed = buffers.get(f as (typeof FIELDS)[number]['field'])?.push(t, v) || changed;
            }
          }
          if (changed) setVersion((v) => v + 1);
        }
        throw new Error('stream ended');
      } catch (e) {
        if ((e as Error).name === 'AbortError') return;
        setLive('error');
        retry = setTimeout(() => void connect(), 2_000);
      }
    };
    void connect();
    return () => {
      ctl.abort();
      if (retry) clearTimeout(retry);
    };
  }, [id, zoom]);

  const h = health.data;
  return (
    <main>
      <p>
        <a href="#/fleet">← Fleet</a>
      </p>
      <h1>
        {id} {h?.latest && <HealthBadge health={h.latest.class} />}
      </h1>
      <ErrorLine error={error ?? health.error} />
      <p class="note" aria-live="polite">
        <span class={`live live-${live}`} data-testid="live-state">
          {live}
        </span>{' '}
        {every !== undefined && `history: ${every} s means`}
        {zoom && (
          <>
            {' '}
            · zoomed{' '}
            <button type="button" onClick={() => setZoom(null)}>
              back to live
            </button>
          </>
        )}
        {' '}· drag on a chart to zoom
      </p>
      <div class="counts" role="group" aria-label="Time window">
        {WINDOWS.map((w) => (
          <button
            type="button"
            class={`chip ${!zoom && windowMs === w.ms ? 'on' : ''}`}
            aria-pressed={!zoom && windowMs === w.ms}
            onClick={() => {
              setZoom(null);
              setWindowMs(w.ms);
            }}
          >
            {w.label}
          </button>
        ))}
      </div>
      <div class="charts">
        {FIELDS.map((f) => (
          <Chart field={f.field} unit={f.unit} buffer={buffers.get(f.field)!} version={version} onZoom={(a, b) => setZoom({ from: a, to: b })} onReset={() => setZoom(null)} />
        ))}
      </div>
      <Section title="Health timeline (last 6 h)">
        {h && h.segments.length === 0 && <p class="note">No health lines yet.</p>}
        <ol class="timeline health-timeline">
          {h?.segments
            .slice()
            .reverse()
            .map((s) => (
              <li>
                <HealthBadge health={s.class} /> {new Date(s.from).toLocaleTimeString()} – {new Date(s.to).toLocaleTimeString()}
                {s.maxScore !== null && ` · score ≤ ${s.maxScore.toFixed(2)}`}
                {s.reasons.length > 0 && <span class="reasons"> · {s.reasons.join(', ')}</span>}
              </li>
            ))}
        </ol>
      </Section>
      <Section title="Driver signals">
        {h && h.signals.length === 0 && <p class="note">This device reports none of the driver's verdict fields.</p>}
        <dl class="signals">
          {h?.signals.map((s) => (
            <div class={s.value !== 0 && !s.field.startsWith('temp_') && s.field !== 'fabric_state' ? 'signal bad' : 'signal'}>
              <dt>{s.field}</dt>
              <dd>
                {s.value} <small>{formatAgo(s.time, now)}</small>
              </dd>
            </div>
          ))}
        </dl>
      </Section>
      <Section title="Incidents of this GPU">
        <ErrorLine error={incidents.error} />
        {incidents.data?.alerts.length === 0 && <p class="note">None.</p>}
        <ul class="plain">
          {incidents.data?.alerts.map((a) => (
            <li>
              <SeverityBadge severity={a.severity} /> <a href={`#/incident/${encodeURIComponent(a.id)}`}>{a.rule ?? a.id}</a> · {a.status} · level {a.level ?? 0} · {formatAgo(a.startedAt, now)}
            </li>
          ))}
        </ul>
      </Section>
    </main>
  );
}
