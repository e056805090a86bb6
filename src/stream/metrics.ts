import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A stream consumer's Prometheus metrics, on a registry of its own. Messages per second is
 * `rate(ferry_stream_messages_total[1m])`.
 */
export class StreamMetrics {
  readonly registry: Registry;
  readonly messages: Counter<'outcome'>;
  readonly deadLetters: Counter<'code'>;
  readonly endToEnd: Histogram<never>;
  readonly batchSize: Histogram<never>;
  readonly lag: Gauge<never>;
  readonly inflight: Gauge<never>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry, prefix: 'ferry_process_' });
    this.messages = new Counter({ name: 'ferry_stream_messages_total', help: 'Messages handled, by outcome: scored, duplicate (output already published), dead_letter, retried.', labelNames: ['outcome'], registers: [registry] });
    this.deadLetters = new Counter({ name: 'ferry_stream_dead_letters_total', help: 'Messages sent to the dead-letter destination, by error code.', labelNames: ['code'], registers: [registry] });
    this.endToEnd = new Histogram({ name: 'ferry_stream_end_to_end_seconds', help: 'Time from the broker accepting an input to its output being published.', buckets: LATENCY_BUCKETS, registers: [registry] });
    this.batchSize = new Histogram({ name: 'ferry_stream_batch_size', help: 'Messages per micro-batch.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [registry] });
    this.lag = new Gauge({ name: 'ferry_stream_consumer_lag', help: 'Messages in the stream not yet delivered to the group (-1 when the broker cannot tell).', registers: [registry] });
    this.inflight = new Gauge({ name: 'ferry_stream_inflight_batches', help: 'Micro-batches being scored or published now.', registers: [registry] });
  }

  /** Serve GET /metrics on `port` (0 = any free port); resolves with the port. */
  async listen(port: number, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
}
