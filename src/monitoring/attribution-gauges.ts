import { Gauge, type Registry } from 'prom-client';
import type { RegistryDb } from '../registry/registry-db.js';
import { attributionSummary, type AttributionSummary } from './attributions.js';

/** Window of the gauges, and how long one computation is reused across scrapes. */
const WINDOW_MS = 3_600_000;
const REUSE_MS = 30_000;

/**
 * Prometheus gauges of the attributions over the last hour, per logged model:
 * `ferry_attribution_mean_abs{model, feature}` (mean |contribution| of the explained predictions),
 * `ferry_attribution_share{model, feature}` and `ferry_attribution_rows{model}`. Computed on scrape
 * from the prediction log (at most the newest `maxRows` explained rows), at most every 30 s per model;
 * a model without explained predictions in the hour has no series. Every process of a server reads
 * the same log, so summing processes takes one figure (`aggregator: first`).
 */
export class AttributionGauges {
  readonly #db: RegistryDb;
  readonly #models: () => readonly string[];
  readonly #maxRows: number | undefined;
  readonly #cache = new Map<string, { at: number; value: AttributionSummary | undefined }>();

  constructor(db: RegistryDb, registry: Registry, models: () => readonly string[], maxRows?: number) {
    this.#db = db;
    this.#models = models;
    this.#maxRows = maxRows;
    const self = this.#snapshot.bind(this);
    new Gauge({
      name: 'ferry_attribution_mean_abs', help: 'Mean absolute contribution per input column over the last hour of explained, logged predictions (see ferry monitor attributions).', labelNames: ['model', 'feature'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const a of await self()) for (const f of a.features) this.labels(a.model, f.feature).set(f.mean_abs);
      },
    });
    new Gauge({
      name: 'ferry_attribution_share', help: 'Share of the total mean absolute contribution per input column over the last hour.', labelNames: ['model', 'feature'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const a of await self()) for (const f of a.features) this.labels(a.model, f.feature).set(f.share);
      },
    });
    new Gauge({
      name: 'ferry_attribution_rows', help: 'Explained, logged predictions of the last hour.', labelNames: ['model'], registers: [registry], aggregator: 'first',
      async collect() {
        this.reset();
        for (const a of await self()) this.labels(a.model).set(a.rows);
      },
    });
  }

  /** The summaries of every logged model with explained rows, reusing computations younger than 30 s; failures are skipped. */
  async #snapshot(): Promise<AttributionSummary[]> {
    const now = Date.now();
    const out: AttributionSummary[] = [];
    for (const model of this.#models()) {
      let entry = this.#cache.get(model);
      if (!entry || now - entry.at > REUSE_MS) {
        let value: AttributionSummary | undefined;
        try {
          value = await attributionSummary(this.#db, { model, since: now - WINDOW_MS, last: this.#maxRows }, now);
        } catch {
          value = undefined; // a scrape must not fail because of one model
        }
        entry = { at: now, value };
        this.#cache.set(model, entry);
      }
      if (entry.value && entry.value.rows > 0) out.push(entry.value);
    }
    return out;
  }
}
