import { ferry } from '../core/errors.js';
import { RECENT_DEAD_LETTERS, type DeadLetterSummary, type GroupStatus } from './broker.js';
import { brokerFor, parseStreamUrl, streamUrlForms } from './brokers.js';

/** A consumer group the server was asked to watch (`ferry serve --watch-stream <url>#<group>`). */
export interface WatchedStream {
  readonly url: string;
  readonly group: string;
}

/** Parse `<url>#<group>` (the group after the last `#`). */
export function parseWatchedStream(text: string): WatchedStream {
  const at = text.lastIndexOf('#');
  if (at <= 0 || at === text.length - 1) throw ferry('FERRY_E_STREAM_URL_INVALID', { url: text, detail: 'a watched stream needs its consumer group after "#" (e.g. redis://127.0.0.1:6379/orders#ferry-churn)', forms: streamUrlForms() });
  const url = text.slice(0, at);
  parseStreamUrl(url);
  return { url, group: text.slice(at + 1) };
}

/** Status answers are reused this long, so many open dashboards cost the brokers one query per group. */
const CACHE_MS = 1500;
/** A broker that does not answer in this time is reported as unreachable. */
const TIMEOUT_MS = 3000;

/** A watched group: its status, and the newest dead letters its live consumers sent, with their reasons. */
export type WatchedStatus = (GroupStatus | { stream: string; group: string; error: string; lag: null; pending: null; consumers: [] }) & {
  readonly deadLetters: readonly (DeadLetterSummary & { readonly consumer: string })[];
  /** Where the consumers send dead letters (every message with its reason and payload is there). */
  readonly deadLetterTo: readonly string[];
};

/**
 * The watched groups' status as `ferry stream status` reports it (lag, pending, live consumers
 * with their processed and dead-letter counts, the newest dead letters from their heartbeats),
 * each asked in parallel with a time limit.
 */
export function streamOverview(watched: readonly WatchedStream[], stateUrl: string): () => Promise<WatchedStatus[]> {
  let cached: { at: number; value: Promise<Awaited<ReturnType<ReturnType<typeof streamOverview>>>> } | undefined;
  const ask = () => Promise.all(watched.map(async (w) => {
    const url = parseStreamUrl(w.url);
    let timer: NodeJS.Timeout | undefined;
    try {
      const status = await Promise.race([
        brokerFor(url).status(url, w.group, stateUrl),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS); }),
      ]);
      const deadLetters = status.consumers.flatMap((c) => (c.recentDeadLetters ?? []).map((d) => ({ ...d, consumer: c.consumer })))
        .sort((a, b) => b.at.localeCompare(a.at)).slice(0, RECENT_DEAD_LETTERS);
      const deadLetterTo = [...new Set(status.consumers.flatMap((c) => (c.deadLetterTo ? [c.deadLetterTo] : [])))];
      return { ...status, deadLetters, deadLetterTo };
    } catch (err) {
      return { stream: url.text, group: w.group, error: `status unavailable: ${(err as Error).message}`, lag: null, pending: null, consumers: [] as [], deadLetters: [], deadLetterTo: [] };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }));
  return () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) cached = { at: Date.now(), value: ask() };
    return cached.value;
  };
}
