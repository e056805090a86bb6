/** The JSON endpoints the dashboard reads (docs/api.md), with the API key kept in session storage. */

const KEY = 'ferry.apiKey';

/** Raised when the server wants a key (401) or a stronger one (403). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  for (const l of keyListeners) l();
}

const keyListeners = new Set<() => void>();
export function onKeyChange(listener: () => void): () => void {
  keyListeners.add(listener);
  return () => keyListeners.delete(listener);
}

/**
 * A URL of this server relative to the page (…/ui/), so a reverse proxy's path prefix is kept:
 * `url('ferry/v1/models')` is `<prefix>/ferry/v1/models`.
 */
export function url(path: string, query: Record<string, string | number | undefined> = {}): string {
  const u = new URL(`../${path}`, document.baseURI);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
  return u.toString();
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  if (!res.ok) {
    const b = (body ?? {}) as { error?: string; message?: string; code?: string; ferry_code?: string };
    throw new ApiError(res.status, b.code ?? b.ferry_code ?? String(res.status), b.error ?? b.message ?? res.statusText);
  }
  return body as T;
}

export async function getJson<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  return parse<T>(await fetch(url(path, query), { headers: headers() }));
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return parse<T>(await fetch(url(path), { method, headers: headers({ 'content-type': 'application/json' }), body: body === undefined ? null : JSON.stringify(body) }));
}
