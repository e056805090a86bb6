/** Messages between a server and its drift thread (drift-thread.ts). */
import type { ErrorCode, ErrorParams } from '../core/errors.js';
import type { DriftOptions, DriftResult } from './drift.js';
import type { RawLoggedRow } from './log-columns.js';
import type { Profile } from './profile.js';

export type DriftJobRequest =
  | { readonly kind: 'start'; readonly job: number; readonly profile: Profile; readonly inputColumns: Readonly<Record<string, readonly string[]>>; readonly options: DriftOptions }
  | { readonly kind: 'rows'; readonly job: number; readonly rows: readonly RawLoggedRow[] }
  | { readonly kind: 'finish'; readonly job: number }
  | { readonly kind: 'cancel'; readonly job: number };

export type DriftJobReply =
  | { readonly job: number; readonly result: { readonly features: DriftResult; readonly predictions: DriftResult | null } }
  | { readonly job: number; readonly error: { readonly code: ErrorCode; readonly params: ErrorParams } };
