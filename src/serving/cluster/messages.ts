import type { TrafficExport } from '../../monitoring/traffic.js';
import type { MetricsSnapshot, ServedChange } from '../process-group.js';

/**
 * The IPC messages of `ferry serve --processes N` (Node's cluster channel, JSON). The primary
 * is a relay: a server process asks a question of the others through it, and gets every
 * answer back in one message.
 */
export type Question =
  | { readonly kind: 'metrics' }
  | { readonly kind: 'traffic'; readonly seconds: number }
  | { readonly kind: 'change'; readonly change: ServedChange };

/** What a question is answered with: a snapshot for `metrics`, an export for `traffic`, nothing for `change`. */
export type Answer = MetricsSnapshot | TrafficExport | null;

/** Server process → primary. */
export type ToPrimary =
  /** Listening on the shared ports. */
  | { readonly ferry: 'listening'; readonly http: string; readonly grpc: number | null }
  /** Ask `question` of every process (`self`: this one too); answered by `answers` with the same id. */
  | { readonly ferry: 'ask'; readonly id: number; readonly question: Question; readonly self: boolean }
  /** The answer to the primary's `question` with this id. */
  | { readonly ferry: 'answer'; readonly id: number; readonly answer: Answer };

/** Primary → server process. */
export type ToServer =
  | { readonly ferry: 'question'; readonly id: number; readonly question: Question }
  | { readonly ferry: 'answers'; readonly id: number; readonly answers: readonly Answer[] };

/** The environment variable that tells a forked process its slot (1…N) in the group. */
export const SLOT_ENV = 'FERRY_SERVE_PROCESS';

export function isToPrimary(m: unknown): m is ToPrimary {
  return typeof m === 'object' && m !== null && typeof (m as { ferry?: unknown }).ferry === 'string';
}

export function isToServer(m: unknown): m is ToServer {
  return typeof m === 'object' && m !== null && ((m as { ferry?: unknown }).ferry === 'question' || (m as { ferry?: unknown }).ferry === 'answers');
}
