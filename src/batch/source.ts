import type { Frame } from '../core/frame.js';
import type { SourcePosition } from './types.js';

/** Where a row came from: file (or table) and 1-based row (or the row's key). */
export interface RowPosition {
  readonly source: string;
  readonly row: number | string;
}

/** Rows read together; a chunk never spans two files, so its end is one position. */
export interface SourceChunk {
  readonly frame: Frame;
  /** Parsed as far as a row could be; a row that could not be read at all is here as a reject. */
  readonly unreadable: readonly { readonly index: number; readonly code: 'FERRY_E_INPUT_FORMAT'; readonly message: string }[];
  /** Where row `index` of the chunk came from (asked only for rejected rows: no object per row). */
  readonly position: (index: number) => RowPosition;
  /** The position just after the chunk: resuming from it reads the next row. */
  readonly end: SourcePosition;
  /** The source kept only the run's shard (the filter ran in the query): every row is the shard's. */
  readonly sharded?: boolean;
  /** Rows of the input the query passed over before this chunk's last row (other shards'), where known. */
  readonly passed?: number;
}

/** Column types as DuckDB names them (BIGINT, DOUBLE, VARCHAR, …), where the source knows them. */
export type ColumnTypes = ReadonlyMap<string, string>;

/**
 * One kind of input (files through DuckDB, PostgreSQL). Reading resumes from a position;
 * the same position always yields the same rows in the same order.
 */
export interface BatchSource {
  readonly description: string;
  /** Column types, known once the first chunk has been read (or from the schema). */
  columnTypes(): ColumnTypes;
  /** Rows in all (for progress), when cheap to know. */
  count(): Promise<number | undefined>;
  read(from: SourcePosition | undefined, chunkSize: number): AsyncIterable<SourceChunk>;
  close(): Promise<void>;
}
