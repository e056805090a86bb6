import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, onKeyChange } from './api.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

/**
 * Read an endpoint, again whenever `path` or `query` change, every `pollMs` when given (live
 * views), and after a new API key is entered. A stale answer never overwrites a newer one.
 */
export function useJson<T>(path: string | null, query: Record<string, string | number | undefined> = {}, pollMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | Error | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const queryKey = JSON.stringify(query);
  useEffect(() => onKeyChange(() => setTick((t) => t + 1)), []);
  useEffect(() => {
    if (path === null) return undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const mine = ++seq.current;
      setState((s) => ({ ...s, loading: true }));
      try {
        const data = await getJson<T>(path, query);
        if (!stopped && mine === seq.current) setState({ data, error: undefined, loading: false });
      } catch (err) {
        if (!stopped && mine === seq.current) setState((s) => ({ data: s.data, error: err as Error, loading: false }));
      }
      if (!stopped && pollMs) timer = setTimeout(() => void load(), pollMs);
    };
    void load();
    return () => { stopped = true; if (timer) clearTimeout(timer); };
  }, [path, queryKey, pollMs, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** The current location hash as a route: `#/models/iris?tab=x` → ['models', 'iris']. */
export function useRoute(): string[] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter((p) => p !== '').map(decodeURIComponent);
}
