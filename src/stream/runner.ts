import { hostname } from 'node:os';
import { EXPLAIN_STAGE } from '../scoring/explain-stage.js';
import { explanationsFromColumns, type ExplainOptions } from '../scoring/explanations.js';
import { asFerryError, ferry, type FerryError } from '../core/errors.js';
import { ColumnFrame } from '../core/frame.js';
import type { Lease } from '../scoring/deployments.js';
import type { Pipeline } from '../scoring/pipeline.js';
import { predictionRecords } from '../scoring/records.js';
import { RECENT_DEAD_LETTERS, type ConsumerHeartbeat, type DeadLetterSummary, type Delivery, type OutMessage, type PublishOutcome, type StreamSink, type StreamSource } from './broker.js';
import { deadLetterKey, deadLetterMessage, idOf, outputMessage, parseMessage, type InputMessage } from './messages.js';
import type { StreamMetrics } from './metrics.js';

/** Where the runner gets the version to score a micro-batch with (`Deployments`: alias moves are picked up live). */
export interface ModelSource {
  acquire(): Promise<Lease>;
}

export interface RunnerOptions {
  readonly group: string;
  readonly consumer: string;
  /** Most messages in one micro-batch. */
  readonly maxBatch: number;
  /** Longest a micro-batch waits to fill up after its first message (ms). */
  readonly maxWaitMs: number;
  /** Micro-batches scored or published at once; the next fetch waits for a free slot (backpressure). */
  readonly maxInflight: number;
  /** Deliveries of one message before it goes to the dead letters. */
  readonly maxDeliver: number;
  readonly heartbeatMs: number;
  /** The model reference being served, for heartbeats. */
  readonly model: string;
  /** Where dead letters go (a stream URL), for heartbeats. */
  readonly deadLetterTo?: string;
}

export interface RunnerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RunnerParts {
  readonly source: StreamSource;
  readonly sink: StreamSink;
  readonly deadLetters: StreamSink;
  readonly models: ModelSource;
  /** The one inference pipeline (its observers log predictions when asked). */
  readonly pipeline: Pick<Pipeline, 'run'>;
  readonly metrics: StreamMetrics;
  readonly log: RunnerLog;
  /** Share of micro-batches to log (`--log-predictions`); absent = not logged. */
  readonly logPredictions?: number | undefined;
  /** `--explain`: each output row carries its explanation (the pipeline's explain stage). */
  readonly explain?: ExplainOptions | undefined;
}

/** What one message became. */
type Outcome =
  | { readonly kind: 'output'; readonly delivery: Delivery; readonly message: OutMessage }
  | { readonly kind: 'dead'; readonly delivery: Delivery; readonly message: OutMessage; readonly summary: DeadLetterSummary }
  | { readonly kind: 'retry'; readonly delivery: Delivery };

/**
 * The stream consumer: fetch a micro-batch (up to maxBatch messages, at most maxWaitMs
 * after the first), score it in one call of the scoring core, publish each output with the
 * input id as its idempotency key, send bad messages to the dead letters, and only then
 * acknowledge. A crash anywhere before the ack means redelivery, and the idempotent publish
 * turns the redelivery into at most one output per id.
 */
export class StreamRunner {
  readonly #parts: RunnerParts;
  readonly #options: RunnerOptions;
  readonly #inflight = new Set<Promise<void>>();
  readonly #lastError = new Map<string, string>();
  readonly #startedAt = new Date().toISOString();
  #stopping = false;
  #slotFreed: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #version: number | null = null;
  readonly stats = { scored: 0, duplicates: 0, deadLetters: 0, retried: 0 };
  /** The newest dead letters, newest first, for heartbeats (the dashboard shows their reasons). */
  readonly #recentDead: DeadLetterSummary[] = [];

  constructor(parts: RunnerParts, options: RunnerOptions) {
    this.#parts = parts;
    this.#options = options;
  }

  /** Consume until `stop()`; in-flight batches finish (and are acknowledged) before it resolves. */
  async run(): Promise<void> {
    // Heartbeats are for operators: a failing one is logged, never fatal.
    await this.#beat().catch((err: unknown) => this.#parts.log.warn({ err: asFerryError(err).message }, 'heartbeat failed'));
    this.#timer = setInterval(() => { this.#beat().catch((err: unknown) => this.#parts.log.warn({ err: asFerryError(err).message }, 'heartbeat failed')); }, this.#options.heartbeatMs);
    this.#timer.unref();
    let failures = 0;
    while (!this.#stopping) {
      if (this.#inflight.size >= this.#options.maxInflight) {
        await new Promise<void>((resolve) => { this.#slotFreed = resolve; });
        continue;
      }
      let batch: Delivery[];
      try {
        batch = await this.#collect();
        failures = 0;
      } catch (err) {
        failures++;
        this.#parts.log.warn({ err: asFerryError(err).message }, 'fetching from the broker failed; retrying');
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (batch.length === 0) continue;
      const job = this.#process(batch)
        .catch((err: unknown) => this.#parts.log.warn({ err: asFerryError(err).message }, 'batch failed; its messages will be delivered again'))
        .finally(() => {
          this.#inflight.delete(job);
          this.#parts.metrics.inflight.set(this.#inflight.size);
          this.#slotFreed?.();
          this.#slotFreed = undefined;
        });
      this.#inflight.add(job);
      this.#parts.metrics.inflight.set(this.#inflight.size);
    }
    await Promise.all([...this.#inflight]);
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Stop fetching; `run()` resolves once in-flight batches are done. */
  stop(): void {
    this.#stopping = true;
    this.#slotFreed?.();
  }

  /** Up to maxBatch messages: wait for the first (briefly, to notice a stop), then at most maxWaitMs for more. */
  async #collect(): Promise<Delivery[]> {
    const { maxBatch, maxWaitMs } = this.#options;
    const batch = await this.#parts.source.fetch(maxBatch, 250);
    if (batch.length === 0 || maxWaitMs <= 0) return batch;
    const deadline = performance.now() + maxWaitMs;
    while (batch.length < maxBatch && !this.#stopping) {
      const left = deadline - performance.now();
      if (left < 1) break;
      const more = await this.#parts.source.fetch(maxBatch - batch.length, left);
      batch.push(...more);
    }
    return batch;
  }

  async #process(batch: Delivery[]): Promise<void> {
    const { metrics } = this.#parts;
    metrics.batchSize.observe(batch.length);
    const outcomes = await this.#score(batch);
    const outputs = outcomes.filter((o): o is Extract<Outcome, { kind: 'output' }> => o.kind === 'output');
    const dead = outcomes.filter((o): o is Extract<Outcome, { kind: 'dead' }> => o.kind === 'dead');
    const retry = outcomes.filter((o) => o.kind === 'retry').map((o) => o.delivery);
    const { published, deadPublished, acked } = await this.#deliver(outputs, dead);
    const now = Date.now();
    const done: Delivery[] = [];
    for (const [i, o] of outputs.entries()) {
      const r = published[i];
      if (r === undefined) { retry.push(o.delivery); continue; }
      done.push(o.delivery);
      if (r === 'published') {
        this.stats.scored++;
        metrics.messages.labels('scored').inc();
        if (o.delivery.enqueuedAt !== undefined) metrics.endToEnd.observe(Math.max(0, now - o.delivery.enqueuedAt) / 1000);
      } else {
        this.stats.duplicates++;
        metrics.messages.labels('duplicate').inc();
      }
    }
    for (const [i, o] of dead.entries()) {
      if (deadPublished[i] === undefined) { retry.push(o.delivery); continue; }
      done.push(o.delivery);
      if (deadPublished[i] === 'published') {
        this.stats.deadLetters++;
        metrics.messages.labels('dead_letter').inc();
        metrics.deadLetters.labels(o.summary.code).inc();
        this.#recentDead.unshift(o.summary);
        this.#recentDead.length = Math.min(this.#recentDead.length, RECENT_DEAD_LETTERS);
      }
    }
    // Acknowledge only what was produced; the rest comes back.
    if (!acked) await this.#parts.source.ack(done);
    if (retry.length > 0) {
      await sleep(200); // a failing model or broker is not hammered in a tight loop
      this.stats.retried += retry.length;
      metrics.messages.labels('retried').inc(retry.length);
      await this.#parts.source.nak(retry);
    }
  }

  /**
   * Publish outputs and dead letters. A source that publishes them on its own channel and then
   * acknowledges (RabbitMQ, outputs on the same broker) does both (`acked`); otherwise each sink
   * publishes idempotently and the caller acknowledges.
   */
  async #deliver(outputs: readonly { message: OutMessage; delivery: Delivery }[], dead: readonly { message: OutMessage; delivery: Delivery }[]): Promise<{ published: (PublishOutcome | undefined)[]; deadPublished: (PublishOutcome | undefined)[]; acked: boolean }> {
    const { source, sink, deadLetters } = this.#parts;
    if (source.commit && source.includes?.(sink) && source.includes(deadLetters)) {
      try {
        await source.commit([{ sink, messages: outputs.map((o) => o.message) }, { sink: deadLetters, messages: dead.map((d) => d.message) }], [...outputs, ...dead].map((o) => o.delivery));
        return { published: outputs.map(() => 'published'), deadPublished: dead.map(() => 'published'), acked: true };
      } catch (err) {
        this.#parts.log.warn({ err: asFerryError(err).message, messages: outputs.length + dead.length }, 'publishing failed; the messages will be delivered again');
        return { published: outputs.map(() => undefined), deadPublished: dead.map(() => undefined), acked: true };
      }
    }
    const [published, deadPublished] = await Promise.all([this.#publish(sink, outputs), this.#publish(deadLetters, dead)]);
    return { published, deadPublished, acked: false };
  }

  /** Publish; a failed publish leaves its messages unacknowledged (undefined outcomes). */
  async #publish(sink: StreamSink, items: readonly { message: OutMessage }[]): Promise<(PublishOutcome | undefined)[]> {
    if (items.length === 0) return [];
    try {
      return await sink.publish(items.map((i) => i.message));
    } catch (err) {
      this.#parts.log.warn({ err: asFerryError(err).message, messages: items.length }, 'publishing failed; the messages will be delivered again');
      return items.map(() => undefined);
    }
  }

  /** Parse and score a batch: one scoring-core call for every valid message. */
  async #score(batch: readonly Delivery[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const parsed: { delivery: Delivery; input: InputMessage }[] = [];
    for (const delivery of batch) {
      let input: InputMessage;
      try {
        input = parseMessage(delivery.payload);
      } catch (err) {
        outcomes.push(this.#dead(delivery, idOf(delivery.payload), asFerryError(err)));
        continue;
      }
      if (delivery.attempts > this.#options.maxDeliver) {
        const detail = this.#lastError.get(input.id) ?? 'its consumer failed or stopped before acknowledging it';
        outcomes.push(this.#dead(delivery, input.id, ferry('FERRY_E_STREAM_MAX_DELIVER', { id: input.id, attempts: delivery.attempts, detail })));
        this.#lastError.delete(input.id);
        continue;
      }
      parsed.push({ delivery, input });
    }
    if (parsed.length === 0) return outcomes;
    let lease: Lease;
    try {
      lease = await this.#parts.models.acquire();
    } catch (err) {
      return [...outcomes, ...this.#retry(parsed, asFerryError(err))];
    }
    try {
      this.#version = lease.loaded.version.version;
      const scoredAt = new Date();
      for (const r of await this.#scoreMessages(lease, parsed.map((p) => p.input))) {
        const { delivery, input } = parsed[r.index] as { delivery: Delivery; input: InputMessage };
        if ('error' in r) {
          // The catalog says whose fault it is: the message's goes to the dead letters, the system's is retried.
          if (!r.error.retryable) outcomes.push(this.#dead(delivery, input.id, r.error));
          else outcomes.push(...this.#retry([{ delivery, input }], r.error));
        } else {
          const { version } = lease.loaded;
          outcomes.push({ kind: 'output', delivery, message: { key: input.id, payload: outputMessage(input, version.model, version.version, r.outputs, scoredAt, r.ids) } });
        }
      }
    } finally {
      lease.release();
    }
    return outcomes;
  }

  /**
   * Score messages in one call; when the batch as a whole is refused for bad input (a column
   * no model input uses, say) or some rows are rejected, score those messages alone, so each
   * gets its own verdict with row numbers of its own.
   */
  async #scoreMessages(lease: Lease, inputs: readonly InputMessage[]): Promise<({ index: number; outputs: Record<string, unknown>[]; ids?: string[] | undefined } | { index: number; error: FerryError })[]> {
    const rows = inputs.flatMap((m) => m.rows);
    const owner = inputs.flatMap((m, i) => m.rows.map(() => i));
    const frame = ColumnFrame.fromRows(rows);
    let run;
    try {
      // A message's rows stand or fall together: rows of a message with a bad row are neither returned nor logged.
      const explain = this.#parts.explain;
      run = await this.#parts.pipeline.run({
        model: { lease }, input: { kind: 'frame', frame }, source: 'stream', groups: owner, log: this.#parts.logPredictions,
        ...(explain ? { extras: { [EXPLAIN_STAGE]: explain } } : {}),
      });
    } catch (err) {
      const error = asFerryError(err);
      if (inputs.length === 1 || error.retryable) return inputs.map((_, index) => ({ index, error }));
      return (await Promise.all(inputs.map((m, index) => this.#scoreMessages(lease, [m]).then((r) => r.map((x) => ({ ...x, index })))))).flat();
    }
    const { result } = run;
    const records = predictionRecords(result, frame);
    const explained = run.extras?.[EXPLAIN_STAGE];
    if (explained?.kind === 'columns') explanationsFromColumns(explained.columns, result.rows.length).forEach((e, i) => { if (records[i]) records[i] = { ...records[i], explanation: e }; });
    const byRow = new Map<number, Record<string, unknown>>();
    result.rows.forEach((row, i) => byRow.set(row, records[i] ?? {}));
    const rejected = new Map<number, FerryError>();
    for (const r of result.rejects) {
      const index = owner[r.row] ?? 0;
      if (!rejected.has(index)) rejected.set(index, r.error);
    }
    const ids = idsByRow(result.rows, run.predictionIds);
    const out: ({ index: number; outputs: Record<string, unknown>[]; ids?: string[] | undefined } | { index: number; error: FerryError })[] = [];
    let row = 0;
    for (const [index, m] of inputs.entries()) {
      const first = row;
      row += m.rows.length;
      const error = rejected.get(index);
      if (error) {
        if (inputs.length === 1) out.push({ index, error });
        else out.push(...(await this.#scoreMessages(lease, [m])).map((x) => ({ ...x, index })));
        continue;
      }
      out.push({ index, outputs: m.rows.map((_, j) => byRow.get(first + j) ?? {}), ids: messageIds(ids, first, m.rows.length) });
    }
    return out;
  }

  #dead(delivery: Delivery, id: string | null, error: FerryError): Outcome {
    const message = deadLetterMessage(delivery.payload, id, error, { consumer: this.#options.consumer, group: this.#options.group, attempts: delivery.attempts, at: new Date() });
    return { kind: 'dead', delivery, message: { key: deadLetterKey(delivery.payload, id), payload: message }, summary: { id, code: error.code, reason: error.message, attempts: delivery.attempts, at: new Date().toISOString() } };
  }

  #retry(items: readonly { delivery: Delivery; input: InputMessage }[], error: FerryError): Outcome[] {
    this.#parts.log.warn({ code: error.code, err: error.message, messages: items.length }, 'scoring failed; the messages will be delivered again');
    for (const { input } of items) {
      if (this.#lastError.size > 10_000) this.#lastError.clear();
      this.#lastError.set(input.id, `${error.code}: ${error.message}`);
    }
    return items.map(({ delivery }) => ({ kind: 'retry', delivery }));
  }

  async #beat(): Promise<void> {
    const beat: ConsumerHeartbeat = {
      consumer: this.#options.consumer,
      group: this.#options.group,
      pid: process.pid,
      host: hostname(),
      model: this.#options.model,
      version: this.#version,
      processed: this.stats.scored,
      deadLetters: this.stats.deadLetters,
      ...(this.#options.deadLetterTo ? { deadLetterTo: this.#options.deadLetterTo } : {}),
      recentDeadLetters: [...this.#recentDead],
      startedAt: this.#startedAt,
      at: new Date().toISOString(),
    };
    await this.#parts.source.heartbeat(beat, this.#options.heartbeatMs * 3);
    const lag = await this.#parts.source.lag().catch(() => null);
    this.#parts.metrics.lag.set(lag ?? -1);
  }
}

/** Each logged Frame row's prediction id (undefined when nothing was logged). */
function idsByRow(rows: readonly number[], ids: readonly string[] | undefined): Map<number, string> | undefined {
  if (!ids) return undefined;
  const byRow = new Map<number, string>();
  rows.forEach((row, i) => { const id = ids[i]; if (id !== undefined) byRow.set(row, id); });
  return byRow;
}

/** The ids of a message's rows (Frame rows first … first + count − 1), when every one was logged. */
function messageIds(byRow: ReadonlyMap<number, string> | undefined, first: number, count: number): string[] | undefined {
  if (!byRow) return undefined;
  const ids: string[] = [];
  for (let r = first; r < first + count; r++) {
    const id = byRow.get(r);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
