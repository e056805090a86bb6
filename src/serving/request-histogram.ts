import type { Registry } from 'prom-client';

/** One metric as prom-client's registry reads it from `get()` (its typings say `type` is an enum; at run time it is the Prometheus type name). */
interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: { labels: Record<string, string | number>; value: number; metricName: string }[];
}

/** One label set's observations: per-bucket counts (not cumulative; the last is +Inf), sum and count. */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** What a request handler observes into: one label set of a histogram. */
export interface HistogramSeries {
  observe(value: number): void;
}

/**
 * A Prometheus histogram for the per-request path, registered on a prom-client registry and
 * exported exactly as prom-client's `Histogram` is (same series, label order and aggregation
 * across processes), but observed for the price of an array increment: prom-client hashes and
 * validates the labels on every `observe`, even through a cached `labels()` child, which cost
 * a few percent of a server's CPU at tens of thousands of requests per second.
 */
export class RequestHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();
  /** The one series of a histogram without labels (exported at zero from the start, as prom-client does). */
  #unlabelled: HistogramSeries | undefined;

  constructor(options: { name: string; help: string; labelNames?: readonly L[]; buckets: readonly number[]; registers: readonly Registry[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames ?? [];
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const r of options.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
    if (this.#labelNames.length === 0) this.#unlabelled = this.labels();
  }

  /** The series of these label values (in `labelNames` order), created at zero on first use; keep it to observe into. */
  labels(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      this.#labelNames.forEach((name, i) => { labels[name] = values[i] ?? ''; });
      series = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    const s = series;
    const bounds = this.#bounds;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) return;
        let i = 0;
        while (i < bounds.length && value > (bounds[i] as number)) i++;
        (s.counts as { [i: number]: number })[i]! += 1;
        s.sum += value;
        s.count += 1;
      },
    };
  }

  /** Observe into the series without labels. */
  observe(value: number): void {
    this.#unlabelled ??= this.labels();
    this.#unlabelled.observe(value);
  }

  reset(): void {
    this.#series.clear();
    this.#unlabelled = this.#labelNames.length === 0 ? this.labels() : undefined;
  }

  /** prom-client's JSON of a histogram (`Registry.getMetricsAsJSON`, `metrics()`). */
  get(): Promise<MetricJson> {
    const values: MetricJson['values'] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i] ?? 0;
        values.push({ labels: { le, ...s.labels }, value: acc, metricName: bucket });
      });
      values.push(
        { labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket },
        { labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` },
        { labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}
