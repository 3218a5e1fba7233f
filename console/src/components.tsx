/** Shared bits of markup: health badge, KPI tile, error line. */
import type { ComponentChildren } from 'preact';

export function HealthBadge({ health }: { health: string }) {
  return <span class={`badge badge-${health}`}>{health}</span>;
}

export function SeverityBadge({ severity }: { severity?: string | null }) {
  return <span class={`badge sev-${severity ?? 'none'}`}>{severity ?? '–'}</span>;
}

export function Kpi({ label, value, title }: { label: string; value: string; title?: string }) {
  return (
    <div class="kpi" title={title}>
      <div class="kpi-value">{value}</div>
      <div class="kpi-label">{label}</div>
    </div>
  );
}

export function ErrorLine({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
