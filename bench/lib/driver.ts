import type { Measurement } from './stats.js';

/** How long and how much one run may drive. */
export interface LoadBounds {
  readonly concurrency: number;
  readonly seconds: number;
  /** Hard cap on requests sent in the run, whatever the duration. */
  readonly maxRequests: number;
}

/** A closed-loop load generator for one endpoint: `concurrency` requests in flight at all times. */
export interface Driver {
  /** Request size on the wire (body / message), for MB/s. */
  readonly requestBytes: number;
  /** One request, checked: throws when the endpoint does not answer correctly. */
  preflight(): Promise<void>;
  run(bounds: LoadBounds): Promise<Measurement>;
  close(): void;
}
