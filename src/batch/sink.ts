import type { OutputTable } from '../data/output-table.js';
import type { SinkState } from './types.js';

/**
 * One kind of output. Exactly once: `write` writes a chunk and returns the state to checkpoint,
 * `sync` makes everything written so far durable (the runner calls it before each checkpoint);
 * `open` puts the destination back to a checkpointed state, dropping whatever a crashed attempt
 * wrote after it (or, for PostgreSQL, lets the uniqueness constraint skip it).
 */
export interface BatchSink {
  readonly description: string;
  open(state: SinkState | null): Promise<void>;
  /** Write chunk `seq` (1, 2, …); durable only after the next `sync`. */
  write(seq: number, table: OutputTable): Promise<SinkState>;
  /** Make every chunk written so far durable (fsync). */
  sync(): Promise<void>;
  /** Make the output final (Parquet: the complete file appears under its name). Safe to repeat. */
  finish(): Promise<void>;
  /** Remove what only `finish` needed (staged parts); called once the run is recorded as finished. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}
