import { createHash } from 'node:crypto';

/** Result of storing bytes: their digest and whether this call created the blob. */
export interface PutResult {
  readonly digest: string;
  readonly size: number;
  /** False when an identical blob was already stored (content addressing dedupes it). */
  readonly created: boolean;
}

/**
 * Content-addressed storage of model artifacts, keyed by `sha256:<hex>`. Every read is
 * verified against its digest: a modified or truncated blob is refused, never returned.
 */
export interface ArtifactStore {
  /** Where the blobs live, for messages (a directory, a bucket URL…). */
  readonly location: string;
  put(bytes: Uint8Array): Promise<PutResult>;
  /** The verified bytes of `digest`; `label` names the model in error messages. */
  get(digest: string, label: string): Promise<Uint8Array>;
  has(digest: string): Promise<boolean>;
  delete(digest: string): Promise<void>;
  /** Every stored digest (for garbage collection). */
  list(): Promise<string[]>;
  /** When a blob was stored, or undefined if it is not there. */
  storedAt(digest: string): Promise<Date | undefined>;
  /** Remove leftovers of writes that never finished (a crash mid-write), older than `olderThanMs`. */
  sweepIncomplete(olderThanMs: number): Promise<number>;
  /** Release connections (stores that hold any). */
  close?(): Promise<void>;
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}
