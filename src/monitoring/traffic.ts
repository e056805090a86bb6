import type { FailedEvent, PipelineObserver, ScoredEvent, ScoreSource } from '../scoring/pipeline-hooks.js';

/** Monitoring's own scoring (compare, evaluate, profile, drift) is work, not traffic: not counted. */
const NOT_TRAFFIC: ReadonlySet<ScoreSource> = new Set(['evaluate', 'compare', 'profile', 'drift']);

/** Seconds of traffic kept in memory (one slot a second). */
export const TRAFFIC_SECONDS = 300;
/** Series (model × version × source) kept at most; the oldest idle one makes room for a new one. */
export const MAX_SERIES = 256;

// Latency histogram: bucket i holds latencies below 0.1 ms × 1.5^i (the last one is open).
const BUCKETS = 32;
const BASE_MS = 0.1;
const GROWTH = 1.5;
const bucketOf = (ms: number) => Math.min(BUCKETS - 1, ms <= BASE_MS ? 0 : Math.ceil(Math.log(ms / BASE_MS) / Math.log(GROWTH)));
const upperMs = (i: number) => BASE_MS * GROWTH ** i;

interface Slot {
  second: number;
  requests: number;
  rows: number;
  errors: Map<string, number>;
  latency: Uint32Array;
}

interface Series {
  readonly model: string;
  readonly version: string;
  readonly source: ScoreSource;
  readonly slots: (Slot | undefined)[];
  lastSecond: number;
}

/** One point of a traffic series (a step of `step` seconds ending at `t`, ms since the epoch). */
export interface TrafficPoint {
  readonly t: number;
  readonly rps: number;
  readonly rowsPerS: number;
  readonly errors: number;
  /** Milliseconds (upper edge of the histogram bucket); null when nothing was scored in the step. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface TrafficSeries {
  readonly model: string;
  readonly version: string;
  readonly source: ScoreSource;
  readonly requests: number;
  readonly rows: number;
  /** Errors by code (HTTP status and Ferry code, e.g. "400 FERRY_E_SIGNATURE_MISMATCH"). */
  readonly errors: Readonly<Record<string, number>>;
  /** Average rows per run (the batch size the model saw). */
  readonly rowsPerRequest: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly points: readonly TrafficPoint[];
}

/** The last seconds of every series as plain data: what the processes of one server exchange (`serve --processes`) to show their traffic together. */
export interface TrafficExport {
  readonly series: readonly {
    readonly model: string;
    readonly version: string;
    readonly source: ScoreSource;
    readonly slots: readonly { readonly second: number; readonly requests: number; readonly rows: number; readonly errors: readonly (readonly [string, number])[]; readonly latency: readonly number[] }[];
  }[];
}

export interface TrafficSnapshot {
  readonly now: number;
  readonly seconds: number;
  readonly step: number;
  readonly series: readonly TrafficSeries[];
}

/**
 * Live traffic from an in-memory ring buffer (no Prometheus needed): a pipeline observer counts
 * every scored and failed run per second by model, version and source, with a log-bucket latency
 * histogram for percentiles. Bounded: TRAFFIC_SECONDS slots per series, MAX_SERIES series.
 */
export class TrafficRecorder implements PipelineObserver {
  readonly #series = new Map<string, Series>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  scored(e: ScoredEvent): undefined {
    if (NOT_TRAFFIC.has(e.source)) return undefined;
    const slot = this.#slot(e.version.model, String(e.version.version), e.source);
    slot.requests++;
    slot.rows += e.rows;
    const b = bucketOf(e.latencyMs);
    slot.latency[b] = (slot.latency[b] ?? 0) + 1;
    return undefined;
  }

  failed(e: FailedEvent): void {
    if (NOT_TRAFFIC.has(e.source)) return;
    // Unknown model names come from URLs: they share one series instead of growing the map.
    const model = e.error.code === 'FERRY_E_MODEL_NOT_SERVED' || e.error.code === 'FERRY_E_MODEL_NOT_FOUND' ? '(not served)' : e.model;
    const slot = this.#slot(model, e.version === undefined ? 'none' : String(e.version), e.source);
    slot.requests++;
    const code = `${e.error.httpStatus} ${e.error.code}`;
    slot.errors.set(code, (slot.errors.get(code) ?? 0) + 1);
  }

  /** The last `seconds` (≤ TRAFFIC_SECONDS) in steps of `step` seconds, for one model or all. */
  snapshot(options: { model?: string | undefined; seconds?: number | undefined; step?: number | undefined } = {}): TrafficSnapshot {
    const seconds = Math.min(TRAFFIC_SECONDS, Math.max(1, Math.floor(options.seconds ?? 60)));
    const step = Math.min(seconds, Math.max(1, Math.floor(options.step ?? Math.ceil(seconds / 60))));
    const nowSecond = Math.floor(this.#now() / 1000);
    const first = nowSecond - seconds + 1;
    const series: TrafficSeries[] = [];
    for (const s of this.#series.values()) {
      if (options.model !== undefined && s.model !== options.model) continue;
      if (s.lastSecond < first) continue;
      const total = new Uint32Array(BUCKETS);
      const errors: Record<string, number> = {};
      let requests = 0;
      let rows = 0;
      const points: TrafficPoint[] = [];
      for (let start = first; start <= nowSecond; start += step) {
        const hist = new Uint32Array(BUCKETS);
        let req = 0;
        let r = 0;
        let err = 0;
        for (let sec = start; sec < start + step && sec <= nowSecond; sec++) {
          const slot = s.slots[sec % TRAFFIC_SECONDS];
          if (!slot || slot.second !== sec) continue;
          req += slot.requests;
          r += slot.rows;
          for (const [code, n] of slot.errors) {
            err += n;
            errors[code] = (errors[code] ?? 0) + n;
          }
          for (let i = 0; i < BUCKETS; i++) hist[i] = (hist[i] ?? 0) + (slot.latency[i] ?? 0);
        }
        for (let i = 0; i < BUCKETS; i++) total[i] = (total[i] ?? 0) + (hist[i] ?? 0);
        requests += req;
        rows += r;
        points.push({ t: (start + step) * 1000, rps: req / step, rowsPerS: r / step, errors: err, p50: quantile(hist, 0.5), p95: quantile(hist, 0.95), p99: quantile(hist, 0.99) });
      }
      const scoredRuns = total.reduce((a, b) => a + b, 0);
      series.push({
        model: s.model, version: s.version, source: s.source, requests, rows, errors,
        rowsPerRequest: scoredRuns > 0 ? rows / scoredRuns : 0,
        p50: quantile(total, 0.5), p95: quantile(total, 0.95), p99: quantile(total, 0.99), points,
      });
    }
    series.sort((a, b) => a.model.localeCompare(b.model) || a.version.localeCompare(b.version, undefined, { numeric: true }) || a.source.localeCompare(b.source));
    return { now: nowSecond * 1000, seconds, step, series };
  }

  /** Requests per second of each model over the last `seconds` (the models list shows it). */
  rates(seconds = 60): Map<string, number> {
    const nowSecond = Math.floor(this.#now() / 1000);
    const rates = new Map<string, number>();
    for (const s of this.#series.values()) {
      if (s.lastSecond <= nowSecond - seconds) continue;
      let n = 0;
      for (let sec = nowSecond - seconds + 1; sec <= nowSecond; sec++) {
        const slot = s.slots[sec % TRAFFIC_SECONDS];
        if (slot?.second === sec) n += slot.requests;
      }
      rates.set(s.model, (rates.get(s.model) ?? 0) + n / seconds);
    }
    return rates;
  }

  /** The slots of the last `seconds` (≤ TRAFFIC_SECONDS) of every series. */
  export(seconds = TRAFFIC_SECONDS): TrafficExport {
    const nowSecond = Math.floor(this.#now() / 1000);
    const first = nowSecond - Math.min(TRAFFIC_SECONDS, seconds) + 1;
    const series: TrafficExport['series'][number][] = [];
    for (const s of this.#series.values()) {
      if (s.lastSecond < first) continue;
      const slots = s.slots.filter((x): x is Slot => x !== undefined && x.second >= first && x.second <= nowSecond)
        .map((x) => ({ second: x.second, requests: x.requests, rows: x.rows, errors: [...x.errors], latency: [...x.latency] }));
      series.push({ model: s.model, version: s.version, source: s.source, slots });
    }
    return { series };
  }

  /** Add another recorder's export (another process of the server) to this one's counts. */
  absorb(data: TrafficExport): void {
    for (const s of data.series) {
      const key = `${s.model}\u0000${s.version}\u0000${s.source}`;
      for (const x of s.slots) {
        // Clocks a second apart can put a second that has just left the window on a newer one's slot: keep the newer.
        const held = this.#series.get(key)?.slots[x.second % TRAFFIC_SECONDS];
        if (held && held.second > x.second) continue;
        const slot = this.#slot(s.model, s.version, s.source, x.second);
        slot.requests += x.requests;
        slot.rows += x.rows;
        for (const [code, n] of x.errors) slot.errors.set(code, (slot.errors.get(code) ?? 0) + n);
        for (let i = 0; i < BUCKETS; i++) slot.latency[i] = (slot.latency[i] ?? 0) + (x.latency[i] ?? 0);
      }
    }
  }

  #slot(model: string, version: string, source: ScoreSource, second = Math.floor(this.#now() / 1000)): Slot {
    const key = `${model}\u0000${version}\u0000${source}`;
    let s = this.#series.get(key);
    if (!s) {
      if (this.#series.size >= MAX_SERIES) this.#evictOldest();
      s = { model, version, source, slots: new Array<Slot | undefined>(TRAFFIC_SECONDS), lastSecond: second };
      this.#series.set(key, s);
    }
    s.lastSecond = Math.max(s.lastSecond, second);
    const i = second % TRAFFIC_SECONDS;
    let slot = s.slots[i];
    if (!slot) {
      slot = { second, requests: 0, rows: 0, errors: new Map(), latency: new Uint32Array(BUCKETS) };
      s.slots[i] = slot;
    } else if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.rows = 0;
      slot.errors.clear();
      slot.latency.fill(0);
    }
    return slot;
  }

  #evictOldest(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [key, s] of this.#series) {
      if (s.lastSecond < at) {
        at = s.lastSecond;
        oldest = key;
      }
    }
    if (oldest !== undefined) this.#series.delete(oldest);
  }
}

function quantile(hist: Uint32Array, q: number): number | null {
  let n = 0;
  for (const c of hist) n += c;
  if (n === 0) return null;
  const rank = Math.ceil(q * n);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return Math.round(upperMs(i) * 1000) / 1000;
  }
  return Math.round(upperMs(BUCKETS - 1) * 1000) / 1000;
}
