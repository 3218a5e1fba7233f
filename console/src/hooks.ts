/** Small hooks: polling a JSON endpoint, the clock, the hash route. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';

export function usePoll<T>(path: string | null, everyMs: number): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let stop = false;
    const ctl = new AbortController();
    const load = () =>
      api<T>(path, { signal: ctl.signal }).then(
        (d) => {
          if (stop) return;
          setData(d);
          setError(undefined);
        },
        (e: Error) => {
          if (!stop && e.name !== 'AbortError') setError(e.message);
        },
      );
    void load();
    const t = everyMs > 0 ? setInterval(() => void load(), everyMs) : undefined;
    return () => {
      stop = true;
      ctl.abort();
      if (t) clearInterval(t);
    };
  }, [path, everyMs, tick]);
  return { data, error, reload: () => setTick((x) => x + 1) };
}

export function useNow(everyMs = 5_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function useHashRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/fleet');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/fleet');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}
