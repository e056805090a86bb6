import { Gauge, type Registry } from 'prom-client';
import type { RegistryDb } from '../registry/registry-db.js';
import { liveMetrics, type LiveMetrics } from './live-metrics.js';

/** Window of the live-metric gauges, and how long one computation is reused across scrapes. */
const WINDOW_MS = 3_600_000;
const REUSE_MS = 30_000;

/**
 * Prometheus gauges of the live metrics over the last hour, per logged model:
 * `ferry_live_metric{model, metric}` (accuracy, f1, roc_auc, … or mae, rmse, r2),
 * `ferry_live_label_coverage{model}`, `ferry_live_predictions{model, kind="total"|"labelled"|"low_confidence"}`.
 * Computed on scrape from the prediction log, at most every 30 s per model, over at most the newest
 * `maxRows` predictions of the hour (a busy server logs millions an hour: reading them all on every
 * scrape would hold its event loop for seconds); every process of a
 * server reads the same log, so summing processes takes one figure (`aggregator: first`), not their sum.
 */
export class LiveMetricGauges {
  readonly #db: RegistryDb;
  readonly #models: () => readonly string[];
  readonly #maxRows: number | undefined;
  readonly #cache = new Map<string, { at: number; value: LiveMetrics | undefined }>();

  /** `maxRows`: read at most the newest this many predictions of the hour (the server's `monitoring_max_rows`). */
  constructor(db: RegistryDb, registry: Registry, models: () => readonly string[], maxRows?: number) {
    this.#db = db;
    this.#models = models;
    this.#maxRows = maxRows;
    const self = this.#snapshot.bind(this);
    new Gauge({
      name: 'ferry_live_metric', help: 'Model quality over the last hour of logged predictions with ground truth (see ferry monitor metrics).', labelNames: ['model', 'metric'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const m of await self()) for (const [metric, v] of Object.entries(m.metrics)) if (v !== null) this.labels(m.model, metric).set(v);
      },
    });
    new Gauge({
      name: 'ferry_live_label_coverage', help: 'Share of the last hour\'s logged predictions that have ground truth.', labelNames: ['model'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const m of await self()) this.labels(m.model).set(m.coverage);
      },
    });
    new Gauge({
      name: 'ferry_live_predictions', help: 'Logged predictions of the last hour: total, labelled, low_confidence.', labelNames: ['model', 'kind'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const m of await self()) {
          this.labels(m.model, 'total').set(m.total);
          this.labels(m.model, 'labelled').set(m.labelled);
          this.labels(m.model, 'low_confidence').set(m.lowConfidence);
        }
      },
    });
  }

  /** The metrics of every logged model, reusing computations younger than 30 s; failures are skipped. */
  async #snapshot(): Promise<LiveMetrics[]> {
    const now = Date.now();
    const out: LiveMetrics[] = [];
    for (const model of this.#models()) {
      let entry = this.#cache.get(model);
      if (!entry || now - entry.at > REUSE_MS) {
        let value: LiveMetrics | undefined;
        try {
          value = await liveMetrics(this.#db, { model, since: now - WINDOW_MS }, this.#maxRows === undefined ? {} : { maxRows: this.#maxRows });
        } catch {
          value = undefined; // a scrape must not fail because one model's outputs are odd
        }
        entry = { at: now, value };
        this.#cache.set(model, entry);
      }
      if (entry.value) out.push(entry.value);
    }
    return out;
  }
}
