/** The part of autocannon's programmatic API the bench uses (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      /** Stop after this many responses overall (with `duration`, whichever comes first). */
      maxOverallRequests?: number;
      /** Seconds before a request counts as a timeout. */
      timeout?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Requests in turn; `setupRequest` may change each one (e.g. a different body per request). */
      requests?: { setupRequest?: (request: Record<string, unknown>) => Record<string, unknown> }[];
    }

    interface Result {
      /** Seconds. */
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      mismatches: number;
      resets: number;
      requests: { total: number };
      throughput: { total: number };
    }

    /** A running job: emits `response` (client, statusCode, bytes, milliseconds) and resolves with the result. */
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
