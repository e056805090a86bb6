import { hostname } from 'node:os';
import type { Command } from 'commander';
import pino from 'pino';
import { openStreaming } from '../../main/ferry.js';
import { loadConfig } from '../../core/config.js';
import { ferry, isFerryError } from '../../core/errors.js';
import { parseModelRef } from '../../registry/refs.js';
import { singleDeployment } from '../../scoring/deployment-config.js';
import type { StreamSink, StreamSource, StreamUrl } from '../../stream/broker.js';
import { brokerFor, deadLetterUrl, parseStreamUrl } from '../../stream/brokers.js';
import { StreamMetrics } from '../../stream/metrics.js';
import { StreamRunner } from '../../stream/runner.js';
import { logShare } from '../../monitoring/log-share.js';
import { print, printJson, table, wantsJson, type CliContext } from '../context.js';

interface RunOptions {
  from: string;
  to: string;
  group?: string;
  consumer?: string;
  deadLetter?: string;
  maxBatch: string;
  maxWaitMs: string;
  maxInflight: string;
  maxDeliver: string;
  reclaimIdleMs: string;
  dedupeTtl: string;
  state: string;
  metricsPort?: string;
  metricsHost: string;
  pollInterval: string;
  heartbeatMs: string;
  runtimeWorkers: string;
  logPredictions?: string | boolean;
  explain?: boolean;
}

interface StatusOptions {
  from: string;
  group?: string;
  model?: string;
  state: string;
}

const DEFAULT_STATE = 'redis://127.0.0.1:6379';

export function streamCommand(program: Command, ctx: CliContext): void {
  const stream = program.command('stream').description('Score event streams (Redis Streams, NATS JetStream, MQTT) in consumer groups, exactly once in effect');
  stream.command('run')
    .description('Consume a stream, score each message with a model and publish the results until SIGTERM')
    .argument('<ref>', 'model reference: name, name:3 or name@alias (alias moves are picked up without a restart)')
    .requiredOption('--from <url>', 'input: redis://host:port/<stream>, nats://host:port/<subject>, mqtt://host:port/<topic> or amqp://host:port/<queue>')
    .requiredOption('--to <url>', 'output stream, subject or topic (same URL forms)')
    .option('--group <name>', 'consumer group shared by every consumer of this deployment (default: ferry-<model>)')
    .option('--consumer <name>', 'this consumer\'s name in the group; keep it stable across restarts for MQTT (default: <host>-<pid>)')
    .option('--dead-letter <url>', 'where bad messages go with their reason (default: <input>.dead-letters on the input broker)')
    .option('--max-batch <n>', 'most messages scored in one micro-batch', '64')
    .option('--max-wait-ms <ms>', 'longest a micro-batch waits to fill after its first message', '5')
    .option('--max-inflight <n>', 'micro-batches in flight at once; beyond it the consumer stops fetching (backpressure)', '2')
    .option('--max-deliver <n>', 'deliveries of a message before it goes to the dead letters', '5')
    .option('--reclaim-idle-ms <ms>', 'unacknowledged messages idle this long are taken over from dead consumers (Redis XAUTOCLAIM, NATS ack wait)', '30000')
    .option('--dedupe-ttl <seconds>', 'how long output idempotency records are kept (NATS: the output stream\'s duplicate window when Ferry creates it)', '86400')
    .option('--state <url>', 'Redis for heartbeats and MQTT idempotency records', DEFAULT_STATE)
    .option('--metrics-port <port>', 'serve Prometheus metrics on GET /metrics at this port (0 = any free port)')
    .option('--metrics-host <host>', 'address the metrics endpoint binds (0.0.0.0 in a pod)', '127.0.0.1')
    .option('--poll-interval <ms>', 'how often alias moves in the registry are checked', '2000')
    .option('--heartbeat-ms <ms>', 'how often this consumer reports itself to `ferry stream status`; MQTT: a consumer silent for three periods is taken over by another', '5000')
    .option('--runtime-workers <n>', 'worker threads for the model (0 = main thread)', '1')
    .option('--explain', 'add each output row\'s explanation (TreeSHAP, linear or sampled; see docs/explain.md) as "explanation"')
    .option('--log-predictions [share]', 'log scored messages to the prediction log (share of micro-batches, default 1); outputs then carry prediction_id; see docs/monitoring.md')
    .action((ref: string, opts: RunOptions) => runStream(ctx, ref, opts));
  stream.command('status')
    .description('Show a consumer group: lag, pending messages and its live consumers')
    .requiredOption('--from <url>', 'the input stream, subject or topic the group consumes')
    .option('--group <name>', 'consumer group (default: ferry-<model> with --model)')
    .option('--model <name>', 'model name, for the default group name')
    .option('--state <url>', 'Redis holding heartbeats (MQTT)', DEFAULT_STATE)
    .option('--json', 'print JSON')
    .action(async (opts: StatusOptions, cmd: Command) => {
      const url = parseStreamUrl(opts.from);
      const group = opts.group ?? (opts.model ? defaultGroup(opts.model) : undefined);
      if (!group) throw ferry('FERRY_E_USAGE', { detail: 'stream status needs --group (or --model for the default group name).' });
      const status = await brokerFor(url).status(url, group, opts.state);
      if (wantsJson(cmd)) return printJson(ctx, status);
      print(ctx, `${url.text}  group ${group}  lag ${status.lag ?? 'unknown'}  pending ${status.pending ?? 'unknown'}  consumers ${status.consumers.length}`);
      if (status.consumers.length > 0) {
        print(ctx, table(['consumer', 'host', 'pid', 'model', 'version', 'scored', 'dead letters', 'last seen'],
          status.consumers.map((c) => [c.consumer, c.host, c.pid, c.model, c.version, c.processed, c.deadLetters, c.at])));
      }
    });
}

async function runStream(ctx: CliContext, refText: string, opts: RunOptions): Promise<void> {
  const config = loadConfig(ctx.env);
  const ref = parseModelRef(refText);
  const from = parseStreamUrl(opts.from);
  const to = parseStreamUrl(opts.to);
  const deadLetter = opts.deadLetter ? parseStreamUrl(opts.deadLetter) : deadLetterUrl(from);
  const group = opts.group ?? defaultGroup(ref.model);
  const consumer = opts.consumer ?? `${hostname()}-${process.pid}`;
  const n = (v: string, flag: string, min: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw ferry('FERRY_E_USAGE', { detail: `${flag} must be an integer ≥ ${min} (got "${v}").` });
    return x;
  };
  const options = {
    group, consumer, model: refText,
    // Without credentials: heartbeats are shown to anyone with a predict key.
    deadLetterTo: `${deadLetter.location}/${deadLetter.name}`,
    maxBatch: n(opts.maxBatch, '--max-batch', 1),
    maxWaitMs: n(opts.maxWaitMs, '--max-wait-ms', 0),
    maxInflight: n(opts.maxInflight, '--max-inflight', 1),
    maxDeliver: n(opts.maxDeliver, '--max-deliver', 1),
    heartbeatMs: n(opts.heartbeatMs, '--heartbeat-ms', 100),
  };
  const reclaimIdleMs = n(opts.reclaimIdleMs, '--reclaim-idle-ms', 100);
  const dedupeTtlSeconds = n(opts.dedupeTtl, '--dedupe-ttl', 1);
  const logPredictions = logShare(opts.logPredictions, '--log-predictions');
  const metricsPort = opts.metricsPort === undefined ? undefined : n(opts.metricsPort, '--metrics-port', 0);
  const pointer = ref.kind === 'alias' ? ref.alias : ref.kind === 'version' ? String(ref.version) : 'latest';
  const deployment = singleDeployment(ref.model, pointer, n(opts.pollInterval, '--poll-interval', 50));

  const logger = pino({ level: ctx.env.FERRY_LOG_LEVEL ?? 'info', base: { service: 'ferry-stream' } });
  let lastLogError = 0;
  // As in the server, a full prediction-log buffer or a refused write drops predictions (counted) and never holds up the consumer.
  const predictionLog = {
    onError: (err: unknown) => {
      if (Date.now() - lastLogError > 60_000) logger.warn({ err }, 'prediction log: writing failed; predictions are dropped');
      lastLogError = Date.now();
    },
  };
  const app = await openStreaming(config, deployment, logger, { workers: n(opts.runtimeWorkers, '--runtime-workers', 0), inlineBelowMs: INLINE_BELOW_MS }, { predictionLog });
  const closers: (() => Promise<void>)[] = [() => app.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    await app.registry.resolve(refText); // an unknown model fails now, not on every message
    const { deployments } = app;
    await deployments.start();
    const sinkOptions = { group, consumer, dedupeTtlSeconds, stateUrl: opts.state };
    // A broker that refuses or drops the first connection (restarting, or an MQTT session being
    // handed back from a survivor's takeover) is tried again a few times before giving up.
    const open = async <T extends StreamSource | StreamSink>(connect: () => Promise<T>, url: StreamUrl): Promise<T> => {
      const x = await withStartRetries(connect, (err, wait) => logger.warn({ url: url.text, err: err.message, retryInMs: wait }, 'broker not reachable yet; trying again'));
      closers.push(() => x.close());
      return x;
    };
    const sink = await open(() => brokerFor(to).openSink(to, sinkOptions), to);
    const deadLetters = await open(() => brokerFor(deadLetter).openSink(deadLetter, sinkOptions), deadLetter);
    const metrics = new StreamMetrics();
    const server = metricsPort === undefined ? undefined : await metrics.listen(metricsPort, opts.metricsHost);
    if (server) closers.push(() => server.close());
    const source = await open(() => brokerFor(from).openSource(from, { group, consumer, reclaimIdleMs, maxBatch: options.maxBatch, maxDeliver: options.maxDeliver, stateUrl: opts.state, log: logger }), from);
    const runner = new StreamRunner({ source, sink, deadLetters, models: { acquire: () => deployments.acquire(ref.model) }, pipeline: app.pipeline, metrics, log: logger, logPredictions, ...(opts.explain ? { explain: {} } : {}) }, options);
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping: finishing in-flight batches');
      runner.stop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const running = runner.run();
    logger.info({ from: from.text, to: to.text, deadLetter: deadLetter.text, group, consumer, metricsPort: server?.port ?? null }, 'stream consumer ready');
    await running;
    logger.info({ ...runner.stats }, 'stopped');
  } finally {
    await closeAll();
  }
}

/** Batches expected to compute faster than this (ms) run on the main thread (as the server's default `inline_below_ms`). */
const INLINE_BELOW_MS = 0.5;

function defaultGroup(model: string): string {
  return `ferry-${model}`;
}

export type { StreamUrl };

/** Waits between start-up attempts to reach a broker (ms): five tries over ~4 s, then the error. */
const START_RETRY_MS = [250, 500, 1000, 2000];

/**
 * `connect()`, tried again after `START_RETRY_MS` while it fails with FERRY_E_STREAM_UNAVAILABLE
 * (any other error — a bad URL, say — is thrown at once).
 */
async function withStartRetries<T>(connect: () => Promise<T>, onRetry: (err: Error, waitMs: number) => void, waits: readonly number[] = START_RETRY_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      const wait = waits[attempt];
      if (wait === undefined || !isFerryError(err, 'FERRY_E_STREAM_UNAVAILABLE')) throw err;
      onRetry(err, wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
