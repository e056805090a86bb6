/** HTTP load through autocannon's programmatic API, with per-request latencies at sub-ms resolution. */
import autocannon from 'autocannon';
import type { Driver, LoadBounds } from './driver.js';
import type { HttpPayload } from './payloads.js';
import { LatencyRecorder, type Measurement } from './stats.js';

export class HttpDriver implements Driver {
  readonly #url: string;
  readonly #payload: HttpPayload;
  readonly #check: (status: number, body: Buffer) => string | undefined;

  /** `check` returns a complaint about a response, or undefined when it is right. */
  constructor(baseUrl: string, payload: HttpPayload, check: (status: number, body: Buffer) => string | undefined = okStatus) {
    this.#url = new URL(payload.path, baseUrl).href;
    this.#payload = payload;
    this.#check = check;
  }

  get requestBytes(): number {
    return this.#payload.body.length;
  }

  async preflight(): Promise<void> {
    const res = await fetch(this.#url, { method: 'POST', headers: { ...this.#payload.headers }, body: this.#payload.body });
    const body = Buffer.from(await res.arrayBuffer());
    const complaint = this.#check(res.status, body);
    if (complaint) throw new Error(`POST ${this.#url}: ${complaint} (HTTP ${res.status}: ${body.subarray(0, 300).toString()})`);
  }

  async run(bounds: LoadBounds): Promise<Measurement> {
    const recorder = new LatencyRecorder();
    const started = performance.now();
    const job = autocannon({
      url: this.#url,
      method: 'POST',
      headers: { ...this.#payload.headers },
      body: this.#payload.body,
      connections: bounds.concurrency,
      pipelining: 1,
      duration: bounds.seconds,
      maxOverallRequests: bounds.maxRequests,
      timeout: 10,
    });
    // autocannon's own histogram has 1 ms resolution; keep the exact times instead.
    job.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) recorder.ok(ms);
      else recorder.error();
    });
    const result = await job;
    const seconds = (performance.now() - started) / 1000;
    return recorder.measurement(seconds, result.errors); // connection errors, timeouts included
  }

  close(): void {
    // autocannon keeps no state between runs.
  }
}

function okStatus(status: number): string | undefined {
  return status === 200 ? undefined : 'expected HTTP 200';
}
