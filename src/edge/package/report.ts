/**
 * The package's report to the server's prediction log: every `predict` call's rows, outputs and
 * prediction ids are queued and posted in batches to `POST /ferry/v1/models/{model}/edge-predictions`,
 * so the server's drift, live metrics and feedback cover predictions made on devices. Bounded:
 * past `maxRows` queued rows the oldest are dropped (and counted). Never throws into the caller:
 * a post that fails is retried later (server errors, no network) or dropped (refused by the server).
 */

/** Where and how to report (`ferry export --report-url`, or `report({ url })` at run time). */
export interface ReportOptions {
  /** The Ferry server (`https://ferry.example.com`), or the full edge-predictions URL. */
  readonly url: string;
  /** Sent with each post, e.g. `{ authorization: 'Bearer <predict key>' }`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Rows per post (default 100). */
  readonly batchRows?: number;
  /** Rows held while the server cannot be reached; the oldest go first past it (default 1000). */
  readonly maxRows?: number;
  /** Queued rows are posted at least this often (ms, default 5000). */
  readonly intervalMs?: number;
}

/** What the reporter did since it started. */
export interface ReportStats {
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
  /** Posts that failed (their rows were kept for a retry, or dropped when the server refused them). */
  readonly failedPosts: number;
}

interface Batch { readonly at: number; readonly latency_ms: number; readonly predictions: readonly { readonly prediction_id: string; readonly inputs: Record<string, unknown>; readonly outputs: Record<string, unknown> }[] }

type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; keepalive?: boolean }) => Promise<{ readonly ok: boolean; readonly status: number }>;
interface Timer { unref?(): void }
const timers = globalThis as unknown as { setTimeout(f: () => void, ms: number): Timer; clearTimeout(t: Timer): void };

/** A uuid v7 (time-ordered, as the server's own ids) from the platform's random numbers. */
export function predictionId(): string {
  const b = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (crypto) crypto.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  const ms = Date.now();
  for (let i = 0; i < 6; i++) b[i] = Math.floor(ms / 2 ** (8 * (5 - i))) % 256;
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Reporter {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #batchRows: number;
  readonly #maxRows: number;
  readonly #intervalMs: number;
  readonly #envelope: { readonly version: number; readonly digest: string };
  readonly #queue: Batch[] = [];
  #queued = 0;
  #sent = 0;
  #dropped = 0;
  #failedPosts = 0;
  #backoff = 0;
  #timer: Timer | undefined;
  #posting: Promise<void> | undefined;

  constructor(options: ReportOptions, model: string, version: number, digest: string) {
    this.#url = options.url.includes('/edge-predictions') ? options.url : `${options.url.replace(/\/+$/, '')}/ferry/v1/models/${encodeURIComponent(model)}/edge-predictions`;
    this.#headers = { 'content-type': 'application/json', ...options.headers };
    this.#batchRows = Math.max(1, options.batchRows ?? 100);
    this.#maxRows = Math.max(this.#batchRows, options.maxRows ?? 1000);
    this.#intervalMs = Math.max(10, options.intervalMs ?? 5000);
    this.#envelope = { version, digest };
  }

  /**
   * Give each prediction of one `predict` call an id (`prediction_id`, set on the prediction) and
   * queue the call: its inputs without the key columns, and its outputs.
   */
  record(rows: readonly Readonly<Record<string, unknown>>[], predictions: Record<string, unknown>[], keys: readonly string[], names: readonly string[], latencyMs: number): void {
    const reported = predictions.map((p, i) => {
      const id = predictionId();
      p.prediction_id = id;
      const inputs: Record<string, unknown> = { ...rows[i] };
      for (const key of keys) delete inputs[key];
      const outputs: Record<string, unknown> = {};
      for (const name of names) outputs[name] = p[name];
      return { prediction_id: id, inputs, outputs };
    });
    this.add({ at: Date.now(), latency_ms: latencyMs, predictions: reported });
  }

  /** Queue one predict call's rows (never throws, never waits). */
  add(batch: Batch): void {
    this.#queue.push(batch);
    this.#queued += batch.predictions.length;
    this.#trim();
    if (this.#queued >= this.#batchRows && this.#backoff === 0) {
      this.stop();
      this.#schedule(0);
    } else {
      this.#schedule();
    }
  }

  stats(): ReportStats {
    return { queued: this.#queued, sent: this.#sent, dropped: this.#dropped, failedPosts: this.#failedPosts };
  }

  /** Post everything queued now; resolves when done or when a post failed (never rejects). */
  async flush(keepalive = false): Promise<void> {
    while (this.#queue.length > 0) {
      const before = this.#failedPosts;
      await this.#post(keepalive);
      if (this.#failedPosts !== before) return;
    }
  }

  stop(): void {
    if (this.#timer) timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Drop the oldest rows past the bound. */
  #trim(): void {
    while (this.#queued > this.#maxRows && this.#queue.length > 0) {
      const old = this.#queue.shift()!;
      this.#queued -= old.predictions.length;
      this.#dropped += old.predictions.length;
    }
  }

  #schedule(ms?: number): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = ms ?? Math.min(60_000, this.#intervalMs * 2 ** this.#backoff);
    this.#timer = timers.setTimeout(() => {
      this.#timer = undefined;
      this.#post(false).then(() => this.#schedule(this.#queued >= this.#batchRows && this.#backoff === 0 ? 0 : undefined), () => undefined);
    }, wait);
    // Under Node, a queued report must not keep the process alive (call flushReports() before exiting).
    this.#timer.unref?.();
  }

  #post(keepalive: boolean): Promise<void> {
    this.#posting ??= this.#send(keepalive).finally(() => { this.#posting = undefined; });
    return this.#posting;
  }

  async #send(keepalive: boolean): Promise<void> {
    const batches: Batch[] = [];
    let rows = 0;
    while (this.#queue.length > 0 && (rows === 0 || rows + this.#queue[0]!.predictions.length <= this.#batchRows)) {
      const b = this.#queue.shift()!;
      batches.push(b);
      rows += b.predictions.length;
    }
    if (rows === 0 && batches.length === 0) return;
    this.#queued -= rows;
    const fetch = (globalThis as { fetch?: Fetch }).fetch;
    let retry = true;
    try {
      // No fetch (an old runtime): the rows wait, and are dropped past maxRows like any unsent rows.
      const res = await fetch!(this.#url, { method: 'POST', headers: this.#headers, body: JSON.stringify({ ...this.#envelope, batches }), ...(keepalive ? { keepalive } : {}) });
      if (res.ok) {
        this.#sent += rows;
        this.#backoff = 0;
        return;
      }
      // Refused (a bad request, an unknown model or version, no permission): retrying cannot help.
      retry = res.status >= 500 || res.status === 429 || res.status === 408;
    } catch {
      retry = true;
    }
    this.#failedPosts++;
    if (retry) {
      this.#backoff = Math.min(this.#backoff + 1, 6);
      this.#queue.unshift(...batches);
      this.#queued += rows;
      this.#trim();
    } else {
      this.#dropped += rows;
    }
  }
}
