import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, apiKey, setApiKey } from './api.js';

/** An alias as a chip. */
export function Chip({ children, kind }: { children: ComponentChildren; kind?: string }) {
  return <span class={`chip${kind ? ` chip-${kind}` : ''}`}>{children}</span>;
}

/** What went wrong, or the key form when the server wants one. */
export function Failure({ error }: { error: Error | undefined }) {
  if (!error) return null;
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return <KeyForm error={error} />;
  return <p class="error" role="alert">{error.message}</p>;
}

/** Ask for an API key (kept in session storage only): predict scope reads, admin scope acts. */
export function KeyForm({ error }: { error?: ApiError }) {
  const [value, setValue] = useState('');
  return (
    <form class="card key-form" onSubmit={(e) => { e.preventDefault(); setApiKey(value.trim() || null); }}>
      <h2>API key needed</h2>
      <p role="alert">{error?.status === 403 ? `This key may not do that: ${error.message}` : 'This server runs with --auth. Enter an API key (ferry apikey create): predict scope to look, admin scope to act.'}</p>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} placeholder="fk_…" />
      <button type="submit">Use this key</button>
      {apiKey() ? <button type="button" onClick={() => setApiKey(null)}>Forget the current key</button> : null}
    </form>
  );
}

/** Numbers for people: 3 significant digits, thousands separated. */
export function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Previous / next over a server page. */
export function Pager({ total, offset, limit, onOffset, label }: { total: number; offset: number; limit: number; onOffset(offset: number): void; label: string }) {
  const last = Math.min(total, offset + limit);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>← Previous</button>
      <span aria-live="polite">{total === 0 ? 'none' : `${fmt(offset + 1)}–${fmt(last)} of ${fmt(total)}`}</span>
      <button type="button" disabled={last >= total} onClick={() => onOffset(offset + limit)}>Next →</button>
    </nav>
  );
}
