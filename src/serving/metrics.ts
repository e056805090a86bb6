import { asFerryError } from '../core/errors.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LogObserver, LogStats } from '../monitoring/prediction-log-writer.js';
import { PROTOCOL_SOURCES, type PipelineObserver } from '../scoring/pipeline-hooks.js';
import type { ScoreObserver } from '../scoring/scorer.js';
import { RequestHistogram, type HistogramSeries } from './request-histogram.js';

/** The model label of requests for a model this server does not serve. */
const NOT_SERVED = '(not served)';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics, on a registry passed in (never the global one), named
 * after Prometheus conventions (`ferry_` prefix, `_total` counters, `_seconds` durations).
 */
export class ServingMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'model' | 'version' | 'protocol' | 'code'>;
  readonly requestDuration: RequestHistogram<'model' | 'protocol'>;
  readonly queueDuration: RequestHistogram<'model'>;
  readonly computeDuration: RequestHistogram<'model'>;
  readonly batchSize: RequestHistogram<never>;
  readonly modelsLoaded: Gauge<never>;
  readonly cacheLookups: Counter<'model' | 'result'>;
  readonly shadowRequests: Counter<'model' | 'outcome'>;
  readonly predictionLogWritten: Counter<never>;
  readonly predictionLogDropped: Counter<'reason'>;
  readonly predictionLogQueued: Gauge<never>;
  /** Inference requests this process answered (ferry_requests_total without labels), read on scrape. */
  #answered = 0;
  #logStats: (() => LogStats) | undefined;

  /** `processSlot`: this process's slot under `serve --processes N` (1…N), 0 when it serves alone. */
  constructor(registry: Registry = new Registry(), processSlot = 0) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry, prefix: 'ferry_process_' });
    // Counted per request in #counts (prom-client hashes the labels on every inc, even through a
    // cached child) and added to the counter when it is read.
    const counts = this.#counts;
    this.requests = new Counter({
      name: 'ferry_requests_total', help: 'Inference requests by model, version, protocol and result code (HTTP status).', labelNames: ['model', 'version', 'protocol', 'code'], registers: [registry],
      collect() {
        for (const c of counts.values()) {
          if (c.n === 0) continue;
          this.labels(...c.labels).inc(c.n);
          c.n = 0;
        }
      },
    });
    this.requestDuration = new RequestHistogram({ name: 'ferry_request_duration_seconds', help: 'Time from request parsed to response ready.', labelNames: ['model', 'protocol'], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.queueDuration = new RequestHistogram({ name: 'ferry_queue_duration_seconds', help: 'Time requests waited in a dynamic-batching queue.', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.computeDuration = new RequestHistogram({ name: 'ferry_compute_duration_seconds', help: 'Time spent in the model runtime per request.', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.batchSize = new RequestHistogram({ name: 'ferry_batch_size', help: 'Rows per runtime call under dynamic batching (average = sum / count).', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] });
    // Every process of a server loads the same versions: their maximum, not their sum, is what the server serves.
    this.modelsLoaded = new Gauge({ name: 'ferry_models_loaded', help: 'Model versions loaded in this server (in each of its processes).', registers: [registry], aggregator: 'max' });
    this.cacheLookups = new Counter({ name: 'ferry_cache_lookups_total', help: 'Response cache lookups by result (hit or miss).', labelNames: ['model', 'result'], registers: [registry] });
    this.shadowRequests = new Counter({ name: 'ferry_shadow_requests_total', help: 'Requests mirrored to a shadow version, by outcome (agree, differ, error).', labelNames: ['model', 'outcome'], registers: [registry] });
    this.predictionLogWritten = new Counter({ name: 'ferry_prediction_log_written_total', help: 'Predictions (rows) written to the prediction log.', registers: [registry] });
    this.predictionLogDropped = new Counter({ name: 'ferry_prediction_log_dropped_total', help: 'Predictions (rows) not logged: shed (sampled down evenly while the buffer was filling), buffer_full (the bounded buffer was full) or write_failed (the database refused the batch).', labelNames: ['reason'], registers: [registry] });
    // Both series exist from the start, so `rate(…[5m]) > 0` alerts work before the first drop.
    for (const reason of ['shed', 'buffer_full', 'write_failed']) this.predictionLogDropped.labels(reason).inc(0);
    // Counted as a plain number (no label lookup per request) and copied into the counter on scrape; the
    // process label keeps one series per process when a server's processes are summed.
    const answered = () => this.#answered;
    const slot = String(processSlot);
    new Counter({
      name: 'ferry_process_requests_total', help: 'Inference requests answered by each process of the server (process: 1…N under serve --processes N, 0 for a single process).', labelNames: ['process'], registers: [registry],
      collect() {
        this.reset();
        this.labels(slot).inc(answered());
      },
    });
    const queued = () => this.#logStats?.().queued ?? 0;
    this.predictionLogQueued = new Gauge({
      name: 'ferry_prediction_log_queued', help: 'Predictions (rows) waiting in the prediction log buffer.', registers: [registry],
      collect() { this.set(queued()); },
    });
  }

  /** Requests counted since ferry_requests_total was last read, by label set. */
  readonly #counts = new Map<string, { readonly labels: [string, string, string, string]; n: number }>();
  readonly #durations = new Map<string, HistogramSeries>();
  readonly #queued = new Map<string, HistogramSeries>();
  readonly #computed = new Map<string, HistogramSeries>();

  /** Count one request. */
  countRequest(model: string, version: string, protocol: string, code: string): void {
    const key = `${model}\u0000${version}\u0000${protocol}\u0000${code}`;
    let count = this.#counts.get(key);
    if (!count) {
      count = { labels: [model, version, protocol, code], n: 0 };
      this.#counts.set(key, count);
    }
    count.n++;
    this.#answered++;
  }

  /**
   * Run an adapter's parsing, counting the request when it is refused before it reaches the
   * pipeline (whose observer counts everything after): every request, good or bad, counts once.
   */
  countRefused<T>(model: string, version: string | undefined, protocol: string, parse: () => T): T {
    const refused = (err: unknown): never => {
      const error = asFerryError(err);
      // Unknown model names come from URLs: never let them become metric label values.
      this.countRequest(error.code === 'FERRY_E_MODEL_NOT_SERVED' ? NOT_SERVED : model, version ?? 'none', protocol, String(error.httpStatus));
      throw err;
    };
    try {
      const parsed = parse();
      return (parsed instanceof Promise ? parsed.catch(refused) : parsed) as T;
    } catch (err) {
      return refused(err);
    }
  }

  observeRequest(model: string, protocol: string, seconds: number): void {
    const key = `${model}\u0000${protocol}`;
    let child = this.#durations.get(key);
    if (!child) {
      child = this.requestDuration.labels(model, protocol);
      this.#durations.set(key, child);
    }
    child.observe(seconds);
  }

  /** Counters for the prediction log writer; `stats` feeds the queue gauge on scrape. */
  predictionLogObserver(stats: () => LogStats): LogObserver {
    this.#logStats = stats;
    return {
      onWritten: (rows) => this.predictionLogWritten.inc(rows),
      onDropped: (rows, reason) => this.predictionLogDropped.labels(reason).inc(rows),
    };
  }

  /**
   * Request counts, latency and batching waits of the protocol requests the pipeline scores
   * (batch jobs run inside the server are not requests and are left out).
   */
  pipelineObserver(): PipelineObserver {
    return {
      scored: (e) => {
        if (!PROTOCOL_SOURCES.has(e.source)) return undefined;
        if (e.queueMs > 0) child(this.#queued, e.version.model, () => this.queueDuration.labels(e.version.model)).observe(e.queueMs / 1000);
        this.countRequest(e.version.model, String(e.version.version), e.source, '200');
        this.observeRequest(e.version.model, e.source, e.latencyMs / 1000);
        return undefined;
      },
      failed: (e) => {
        if (!PROTOCOL_SOURCES.has(e.source)) return;
        const model = e.error.code === 'FERRY_E_MODEL_NOT_SERVED' ? NOT_SERVED : e.model;
        this.countRequest(model, e.version === undefined ? 'none' : String(e.version), e.source, String(e.error.httpStatus));
      },
    };
  }

  /** Hooks for the scoring core. */
  scoreObserver(): ScoreObserver {
    return {
      onBatch: (rows) => this.batchSize.observe(rows),
      onQueued: () => undefined,
      onCompute: (model, ms) => child(this.#computed, model, () => this.computeDuration.labels(model)).observe(ms / 1000),
    };
  }
}

/** A cached label child (prom-client hashes the labels on every `.labels()` call). */
function child<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let c = cache.get(key);
  if (c === undefined) {
    c = make();
    cache.set(key, c);
  }
  return c;
}
