/** The on-call console: hash routes, API-key login kept in session storage, one page per view. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session, setUnauthorizedHandler, type Session } from './api.ts';
import { useHashRoute } from './hooks.ts';
import { FleetPage } from './pages/fleet.tsx';
import { DevicePage } from './pages/device.tsx';
import { IncidentsPage } from './pages/incidents.tsx';
import { IncidentPage, LinkPage } from './pages/incident.tsx';
import { PipelinePage } from './pages/pipeline.tsx';

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const s = await api<Session>('/v1/console/session', { key: key.trim() });
      session.set(key.trim());
      onLogin(s);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="login">
      <h1>Telemetry Stack console</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="current-password" required value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary">
          Log in
        </button>
        <p class="note">Kept in this tab's session storage only. A key with the read scope sees everything; Acknowledge needs the ack scope.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function App() {
  const route = useHashRoute();
  const [me, setMe] = useState<Session | null | undefined>(session.key() ? undefined : null);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      session.clear();
      setMe(null);
    });
    if (session.key())
      api<Session>('/v1/console/session').then(setMe, () => {
        session.clear();
        setMe(null);
      });
  }, []);
  const [path, query] = route.slice(1).split('?') as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  // A signed notification link needs no key: the token is the credential.
  if (path === '/link') return <LinkPage token={params.get('token') ?? ''} />;
  if (me === undefined) return <p>Loading…</p>;
  if (me === null) return <Login onLogin={setMe} />;
  const seg = path.split('/').filter(Boolean);
  const page =
    seg[0] === 'device' && seg[1] ? (
      <DevicePage id={decodeURIComponent(seg[1])} />
    ) : seg[0] === 'incidents' ? (
      <IncidentsPage device={params.get('device') ?? undefined} />
    ) : seg[0] === 'incident' && seg[1] ? (
      <IncidentPage id={decodeURIComponent(seg[1])} canAck={me.canAck} />
    ) : seg[0] === 'pipeline' ? (
      <PipelinePage />
    ) : (
      <FleetPage />
    );
  const nav = (href: string, label: string, active: boolean) => (
    <a href={href} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header>
        <nav aria-label="Main">
          <strong class="brand">GPU on-call</strong>
          {nav('#/fleet', 'Fleet', !seg[0] || seg[0] === 'fleet' || seg[0] === 'device')}
          {nav('#/incidents', 'Incidents', seg[0] === 'incidents' || seg[0] === 'incident')}
          {nav('#/pipeline', 'Pipeline', seg[0] === 'pipeline')}
        </nav>
        <span class="who">
          {me.name}
          {me.canAck ? '' : ' (read-only)'}{' '}
          <button
            type="button"
            onClick={() => {
              session.clear();
              setMe(null);
            }}
          >
            Log out
          </button>
        </span>
      </header>
      {page}
    </>
  );
}

render(<App />, document.getElementById('app')!);
