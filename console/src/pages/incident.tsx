/**
 * One incident: state, who is paged, Acknowledge / Resolve / Snooze (the
 * same workflow messages as Slack; the API records the key's identity), the
 * timeline and the on-chain audit. The buttons show only for a key with the
 * ack scope (the API refuses the others anyway). In link mode the signed
 * notification token is the credential and Acknowledge is the only action.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { usePoll } from '../hooks.ts';
import { ErrorLine, Section, SeverityBadge } from '../components.tsx';
import { shortHash } from '../format.ts';
import type { TimelineAnswer } from '../../../api/console/wire.ts';

export type Timeline = TimelineAnswer;
interface Audit {
  verified: boolean;
  tx: string | null;
  block: { number: number; hash: string } | null;
  confirmations: number;
  mismatches: unknown[];
  pending: string[];
}

export function IncidentView({ t, actions, audit }: { t: Timeline; actions?: preact.ComponentChildren; audit?: Audit | null }) {
  return (
    <>
      <h1>
        <SeverityBadge severity={t.severity} /> {t.rule} · {t.device}
      </h1>
      <p class="summary">{t.summary}</p>
      <dl class="facts">
        <div>
          <dt>Status</dt>
          <dd data-testid="incident-status">{t.status}</dd>
        </div>
        <div>
          <dt>Level</dt>
          <dd>{t.level}</dd>
        </div>
        <div>
          <dt>Paged</dt>
          <dd>{t.paged.length ? t.paged.join(', ') : '–'}</dd>
        </div>
        <div>
          <dt>Acknowledged</dt>
          <dd>{t.ack ? `${t.ack.by} via ${t.ack.via}` : '–'}</dd>
        </div>
        {t.ack?.txHash && (
          <div>
            <dt>Ack tx</dt>
            <dd data-testid="ack-tx">
              <code title={t.ack.txHash}>{t.ack.txHash}</code>
            </dd>
          </div>
        )}
        {t.temporalUrl && (
          <div>
            <dt>Workflow</dt>
            <dd>
              <a href={t.temporalUrl} target="_blank" rel="noopener noreferrer">
                Temporal UI
              </a>
            </dd>
          </div>
        )}
      </dl>
      {actions}
      {audit !== undefined && (
        <Section title="On-chain audit">
          {audit === null ? (
            <p class="note">No ledger record yet.</p>
          ) : (
            <p data-testid="audit">
              <span class={`badge ${audit.verified ? 'badge-healthy' : 'badge-critical'}`}>{audit.verified ? 'verified' : 'NOT verified'}</span> tx{' '}
              <code title={audit.tx ?? ''}>{shortHash(audit.tx)}</code> · block {audit.block?.number ?? '–'} · {audit.confirmations} confirmations
              {audit.pending.length > 0 && ` · pending: ${audit.pending.join(', ')}`}
              {audit.mismatches.length > 0 && ` · ${audit.mismatches.length} mismatches`}
            </p>
          )}
        </Section>
      )}
      <Section title="Timeline">
        <ol class="timeline">
          {t.entries.map((e) => (
            <li class={`tl-${e.kind}`}>
              <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time> <span class="kind">{e.kind}</span> {e.text}
              {e.txHash && (
                <>
                  {' '}
                  · tx <code title={e.txHash}>{shortHash(e.txHash)}</code> (block {e.block})
                </>
              )}
            </li>
          ))}
        </ol>
      </Section>
    </>
  );
}

export function IncidentPage({ id, canAck }: { id: string; canAck: boolean }) {
  const enc = encodeURIComponent(id);
  const t = usePoll<Timeline>(`/v1/console/incidents/${enc}/timeline`, 3_000);
  const audit = usePoll<Audit>(t.data?.ack || t.data?.status === 'resolved' ? `/v1/alerts/${enc}/audit` : null, 5_000);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<string>();
  const [err, setErr] = useState<string>();
  const act = async (what: 'ack' | 'resolve' | 'snooze') => {
    setBusy(true);
    setErr(undefined);
    try {
      const body = what === 'snooze' ? { duration: '1h' } : what === 'resolve' ? { reason: 'resolved from the console' } : {};
      const r = await api<{ receipt?: { txHash?: string } | null; chain?: string; by?: string }>(`/v1/alerts/${enc}/${what}`, { method: 'POST', body });
      setMsg(what === 'ack' ? `Acknowledged as ${r.by ?? 'you'}${r.receipt?.txHash ? ` · tx ${r.receipt.txHash}` : r.chain === 'pending' ? ' · ledger write pending' : ''}` : `${what} sent`);
      t.reload();
      audit.reload();
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  if (!t.data) return <main>{t.error ? <ErrorLine error={t.error} /> : <p>Loading…</p>}</main>;
  const closed = t.data.status === 'resolved';
  const actions = canAck ? (
    <div class="actions" role="group" aria-label="Actions">
      <button type="button" class="primary" disabled={busy || closed || !!t.data.ack} onClick={() => void act('ack')}>
        Acknowledge
      </button>
      <button type="button" disabled={busy || closed} onClick={() => void act('resolve')}>
        Resolve
      </button>
      <button type="button" disabled={busy || closed} onClick={() => void act('snooze')}>
        Snooze 1 h
      </button>
      {/* Remediation (Quarantine / Drain / Release) goes here when the API offers it. */}
    </div>
  ) : (
    <p class="note" data-testid="read-only">
      Read-only key: no actions.
    </p>
  );
  return (
    <main>
      <p>
        <a href="#/incidents">← Incidents</a>
      </p>
      <IncidentView t={t.data} audit={t.data.ack || closed ? (audit.data ?? null) : undefined} actions={actions} />
      {msg && (
        <p class="ok" role="status">
          {msg}
        </p>
      )}
      <ErrorLine error={err ?? audit.error} />
    </main>
  );
}

/** A signed notification link: the token shows this one incident and may acknowledge it. */
export function LinkPage({ token }: { token: string }) {
  const q = `token=${encodeURIComponent(token)}`;
  const link = usePoll<{ alertId: string; via: string; target: string; expiresAt: string; incident: Timeline }>(`/v1/console/link?${q}`, 5_000);
  const [msg, setMsg] = useState<string>();
  const [err, setErr] = useState<string>();
  const ack = async () => {
    try {
      const res = await fetch(`/v1/notify/ack?${q}`, { method: 'POST', headers: { accept: 'application/json' } });
      const j = (await res.json()) as { message?: string; by?: string };
      if (!res.ok) throw new Error(j.message ?? String(res.status));
      setMsg(`Acknowledged as ${j.by}`);
      link.reload();
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  if (!link.data) return <main>{link.error ? <ErrorLine error={link.error} /> : <p>Loading…</p>}</main>;
  const t = link.data.incident;
  return (
    <main>
      <p class="note">
        Signed link for {link.data.target} (via {link.data.via}), valid until {new Date(link.data.expiresAt).toLocaleString()}.
      </p>
      <IncidentView
        t={t}
        actions={
          <div class="actions">
            <button type="button" class="primary" disabled={!!t.ack || t.status === 'resolved'} onClick={() => void ack()}>
              Acknowledge
            </button>
          </div>
        }
      />
      {msg && <p class="ok">{msg}</p>}
      <ErrorLine error={err} />
    </main>
  );
}
