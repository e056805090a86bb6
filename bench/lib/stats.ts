/** Latency samples and the numbers a table cell shows. */

/** What one measured run produced. */
export interface Measurement {
  /** Successful (2xx / OK) responses. */
  readonly ok: number;
  /** Failed requests: non-2xx answers, connection errors, timeouts, gRPC errors. */
  readonly errors: number;
  /** Wall time of the measured run. */
  readonly seconds: number;
  /** Latency of every successful request, in milliseconds. */
  readonly latenciesMs: readonly number[];
  /** CPU time the server process (all threads) and the load generator used during the run, in ms. */
  readonly serverCpuMs?: number;
  readonly clientCpuMs?: number;
  /** Cores other processes on the machine kept busy during the run (noise). */
  readonly otherCores?: number;
}

/** What a table cell shows. */
export interface Summary {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly ok: number;
  /** CPU microseconds per successful request in the server and in the load generator (NaN: not measured). */
  readonly serverCpuUs: number;
  readonly clientCpuUs: number;
  readonly otherCores: number;
}

/** Collects per-request latencies (ms) with a hard cap on how many are kept. */
export class LatencyRecorder {
  readonly #samples: number[] = [];
  #errors = 0;

  ok(ms: number): void {
    this.#samples.push(ms);
  }

  error(): void {
    this.#errors++;
  }

  get count(): number {
    return this.#samples.length + this.#errors;
  }

  measurement(seconds: number, extraErrors = 0): Measurement {
    return { ok: this.#samples.length, errors: this.#errors + extraErrors, seconds, latenciesMs: this.#samples };
  }
}

/** Nearest-rank percentile of already sorted samples (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function summarize(m: Measurement): Summary {
  const sorted = [...m.latenciesMs].sort((a, b) => a - b);
  return {
    rps: m.seconds > 0 ? m.ok / m.seconds : 0,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: m.errors,
    ok: m.ok,
    serverCpuUs: perRequestUs(m.serverCpuMs, m.ok),
    clientCpuUs: perRequestUs(m.clientCpuMs, m.ok),
    otherCores: m.otherCores ?? Number.NaN,
  };
}

function perRequestUs(ms: number | undefined, ok: number): number {
  return ms === undefined || ok === 0 ? Number.NaN : (ms * 1000) / ok;
}
