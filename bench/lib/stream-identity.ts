/**
 * The pass-through consumer of `bench:stream`: the same StreamRunner, broker adapters,
 * idempotent publish and acks as `ferry stream run`, with scoring replaced by identity (each
 * message's columns come back as its outputs). Its rate is the limit scoring is judged against.
 * Usage: node --import tsx bench/lib/stream-identity.ts <from> <to> <group> <consumer> <maxBatch>
 */
import type { Frame } from '../../src/core/frame.js';
import type { Lease } from '../../src/scoring/deployments.js';
import type { FrameRun, Pipeline } from '../../src/scoring/pipeline.js';
import type { LoadedModel } from '../../src/scoring/scorer.js';
import { siblingUrl } from '../../src/stream/broker.js';
import { parseStreamUrl } from '../../src/stream/brokers.js';
import { brokerFor } from '../../src/stream/brokers.js';
import { StreamMetrics } from '../../src/stream/metrics.js';
import { StreamRunner } from '../../src/stream/runner.js';

const [fromText = '', toText = '', group = 'bench', consumer = 'identity', maxBatch = '64'] = process.argv.slice(2);
const from = parseStreamUrl(fromText);
const to = parseStreamUrl(toText);
const dead = siblingUrl(from, `${from.name}.dead-letters`);
const state = 'redis://127.0.0.1:6379';
const sinkOptions = { group, consumer, dedupeTtlSeconds: 3600, stateUrl: state };

const identityRun = (frame: Frame): FrameRun => ({
  kind: 'frame',
  model: 'identity',
  version: 0,
  result: {
    model: 'identity',
    version: 0,
    rows: Array.from({ length: frame.length }, (_, i) => i),
    outputs: frame.columns.map((name) => ({ name, dtype: 'float32' as const, rowShape: [], values: [...(frame.column(name) ?? [])] as number[] })),
    rejects: [],
  },
});
const identity = {
  run: (request: { input: { frame: Frame } }) => Promise.resolve(identityRun(request.input.frame)),
} as unknown as Pick<Pipeline, 'run'>;
const loaded = { version: { model: 'identity', version: 0 } } as unknown as LoadedModel;
const lease = { loaded, pointer: 'latest', deployment: undefined, release: () => undefined } as unknown as Lease;

const sink = await brokerFor(to).openSink(to, sinkOptions);
const deadLetters = await brokerFor(dead).openSink(dead, sinkOptions);
const source = await brokerFor(from).openSource(from, { group, consumer, reclaimIdleMs: 30_000, maxBatch: Number(maxBatch), maxDeliver: 5, stateUrl: state });
const log = { info: () => undefined, warn: (obj: object, msg: string) => console.error(msg, obj) };
const runner = new StreamRunner(
  { source, sink, deadLetters, models: { acquire: () => Promise.resolve(lease) }, pipeline: identity, metrics: new StreamMetrics(), log },
  { group, consumer, model: 'identity', maxBatch: Number(maxBatch), maxWaitMs: 5, maxInflight: 2, maxDeliver: 5, heartbeatMs: 5000 },
);
process.once('SIGTERM', () => runner.stop());
const running = runner.run();
console.log(JSON.stringify({ msg: 'stream consumer ready' }));
await running;
await Promise.all([source.close(), sink.close(), deadLetters.close()]);
