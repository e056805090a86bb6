/**
 * The shared stream test suite: every broker adapter runs the same cases against the real
 * broker through real `ferry stream run` processes — delivery (with reference predictions
 * and metrics), dead letters, SIGKILL and restart with exactly one output per input id (RabbitMQ:
 * at least one, a repeat the same answer),
 * scale-out with a consumer killed mid-stream and not restarted (the others take its messages
 * over), a killed member started again while the others take over, and graceful SIGTERM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertMatchesReference, fixture, inputColumnFlags, records } from './helpers/fixtures.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { startConsumer, uniqueName, type Collector, type Consumer, type TestBroker } from './helpers/brokers.js';

const f = fixture('breast_mlp');
const ROWS = records(f);

/** An input message for fixture row `i % rows`. */
function input(id: string, i: number): string {
  return JSON.stringify({ id, inputs: ROWS[i % ROWS.length] });
}

/** Count outputs per id. */
function counts(messages: readonly Record<string, unknown>[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of messages) m.set(String(x.id), (m.get(String(x.id)) ?? 0) + 1);
  return m;
}

/**
 * After a consumer was killed: exactly once where the broker drops repeats (Redis, NATS) or a
 * record does before every acknowledgement (MQTT); on RabbitMQ every id at least once and a
 * repeat the same answer again: a consumer killed between a batch's commit and its idempotency
 * records publishes it twice (docs/streaming.md). Repeats are counted in the message.
 */
function assertAfterKill(kind: string, messages: readonly Record<string, unknown>[], ids: readonly string[]): void {
  if (kind !== 'amqp') return assertExactlyOnce(messages, ids);
  const byId = new Map<string, string>();
  for (const m of messages) {
    const { scored_at: _at, ...answer } = m;
    const text = JSON.stringify(answer);
    const seen = byId.get(String(m.id));
    if (seen !== undefined) assert.equal(text, seen, `a repeated output of ${String(m.id)} differs from the first`);
    byId.set(String(m.id), text);
  }
  const missing = ids.filter((id) => !byId.has(id));
  assert.deepEqual(missing, [], `ids without an output: ${missing.slice(0, 10).join(', ')}`);
  assert.equal(byId.size, ids.length);
}

function assertExactlyOnce(messages: readonly Record<string, unknown>[], ids: readonly string[]): void {
  const c = counts(messages);
  const missing = ids.filter((id) => !c.has(id));
  const twice = [...c].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(missing, [], `ids without an output: ${missing.slice(0, 10).join(', ')}`);
  assert.deepEqual(twice, [], `ids with more than one output: ${twice.slice(0, 10).join(', ')}`);
  assert.equal(messages.length, ids.length);
}

/**
 * Publish in chunks, never more than `window` inputs ahead of the outputs seen, so a
 * broker's per-client queue (Mosquitto's max_queued_messages) never overflows while a
 * consumer is down.
 */
async function publishWindowed(broker: TestBroker, name: string, ids: readonly string[], out: Collector, window: number, onChunk?: (published: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    await out.until((m) => m.length >= i - window, `outputs to catch up to ${i - window}`);
    await broker.publish(name, ids.slice(i, i + 100).map((id, j) => input(id, i + j)));
    await onChunk?.(Math.min(ids.length, i + 100));
  }
}

async function stop(c: Consumer, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  c.child.kill(signal);
  return c.exited;
}

/**
 * The consumer's metrics once they match every pattern. A counter moves when the broker has
 * confirmed a publish (e.g. MQTT QoS 2's PUBCOMP), which can come after the test has already
 * received the message, so wait for the condition (bounded) rather than read once.
 */
async function metricsMatching(port: number, patterns: readonly RegExp[], timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (patterns.every((p) => p.test(text)) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The first log line of `c` containing `text`, waiting for it (bounded). */
async function logLine(c: Consumer, text: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = c.log.find((l) => l.includes(text));
    if (line !== undefined) return line;
    assert.ok(Date.now() < deadline, `no log line with ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function streamSuite(makeBroker: () => TestBroker): void {
  const broker = makeBroker();
  const kind = broker.kind;
  describe(`stream over ${kind}`, () => {
    const home = tempDir('ferry-stream-');
    const env = { FERRY_HOME: home.dir, FERRY_LOG_LEVEL: 'info' };
    const names: string[] = [];
    const groups: { group: string; consumers: string[] }[] = [];
    const running: Consumer[] = [];

    /** Stream names and a group of this test's own. */
    function setup(label: string) {
      const base = uniqueName(`ferry-${label}`);
      const n = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };
      names.push(n.input, n.output, n.dead);
      return n;
    }

    async function consumer(n: ReturnType<typeof setup>, name: string, extra: readonly string[] = [], ref = 'bmlp@prod'): Promise<Consumer> {
      let g = groups.find((x) => x.group === n.group);
      if (!g) groups.push(g = { group: n.group, consumers: [] });
      if (!g.consumers.includes(name)) g.consumers.push(name);
      const c = await startConsumer([ref, '--from', broker.url(n.input), '--to', broker.url(n.output), '--dead-letter', broker.url(n.dead),
        '--group', n.group, '--consumer', name, '--metrics-port', '0', '--reclaim-idle-ms', '1500', '--heartbeat-ms', '200', '--poll-interval', '100', '--runtime-workers', '0', ...extra], env);
      running.push(c);
      return c;
    }

    before(async () => {
      const reg = await runCli(['register', f.model, '--name', 'bmlp', ...inputColumnFlags(f, true), '--alias', 'prod'], env);
      assert.equal(reg.code, 0, reg.stderr);
    });

    after(async () => {
      // A failing run shows what the consumers said beyond info lines.
      if (process.env.FERRY_TEST_STREAM_LOGS) {
        for (const c of running) {
          console.error(c.log.filter((l) => !l.includes('"level":30')).slice(0, 20).join('\n'));
          if (c.child.exitCode === null && c.child.signalCode === null) console.error((await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text()).split('\n').filter((l) => l.startsWith('ferry_stream_')).join('\n'));
        }
      }
      for (const c of running) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await Promise.all(running.map((c) => c.exited));
      await broker.cleanup(names, groups);
      home.cleanup();
    });

    test('delivers: one output per input, same predictions as the reference, metrics count them', async () => {
      const n = setup('deliver');
      const out = await broker.collect(n.output);
      const c = await consumer(n, 'c1');
      const ids = ROWS.map((_, i) => `row-${i}`);
      await broker.publish(n.input, ids.map((id, i) => input(id, i)));
      await broker.publish(n.input, [JSON.stringify({ id: 'many', rows: ROWS.slice(0, 3) })]);
      await out.until((m) => m.length >= ids.length + 1, 'every output');
      const byId = new Map(out.messages.map((m) => [String(m.id), m]));
      const outputs = ids.map((id) => byId.get(id)?.outputs as Record<string, unknown>);
      assertMatchesReference(f, outputs);
      const first = byId.get('row-0')!;
      assert.equal(first.model, 'bmlp');
      assert.equal(first.version, 1);
      assert.ok(!Number.isNaN(Date.parse(String(first.scored_at))));
      const many = byId.get('many')!.outputs as Record<string, unknown>[];
      assert.equal(many.length, 3);
      assert.deepEqual(many[1], byId.get('row-1')!.outputs);
      const scored = new RegExp(`ferry_stream_messages_total\\{outcome="scored"\\} ${ids.length + 1}\\b`);
      const metrics = await metricsMatching(c.metricsPort, [scored]);
      assert.match(metrics, scored);
      assert.match(metrics, /ferry_stream_end_to_end_seconds_count \d+/);
      assert.match(metrics, /ferry_stream_consumer_lag /);
      assertExactlyOnce(out.messages, [...ids, 'many']);
      assert.equal(await stop(c), 0);
      await out.close();
    });

    test('bad messages go to the dead letters with their reason and payload; the consumer goes on', async () => {
      const n = setup('dead');
      const out = await broker.collect(n.output);
      const dead = await broker.collect(n.dead);
      const c = await consumer(n, 'c1');
      const bad = [
        'not json at all',
        JSON.stringify({ inputs: ROWS[0] }),
        JSON.stringify({ id: 'both', inputs: ROWS[0], rows: [ROWS[0]] }),
        JSON.stringify({ id: 'wrong-value', inputs: { ...ROWS[0], mean_radius: 'large' } }),
        JSON.stringify({ id: 'missing-column', inputs: { mean_radius: 1 } }),
        JSON.stringify({ id: 'extra-field', inputs: ROWS[0], colour: 'red' }),
        JSON.stringify({ id: 'bad-row', rows: [ROWS[0], { ...ROWS[1], mean_area: null }] }),
      ];
      const good = ['ok-1', 'ok-2', 'ok-3'];
      await broker.publish(n.input, [input(good[0]!, 0), ...bad.slice(0, 4), input(good[1]!, 1), ...bad.slice(4), input(good[2]!, 2)]);
      await dead.until((m) => m.length >= bad.length, 'every dead letter');
      await out.until((m) => m.length >= good.length, 'the good outputs');
      assertExactlyOnce(out.messages, good);
      const reasons = new Map(dead.messages.map((m) => [String(m.payload), (m.reason as { code: string; message: string })]));
      assert.equal(reasons.get(bad[0]!)?.code, 'FERRY_E_STREAM_MESSAGE_INVALID');
      assert.match(reasons.get(bad[0]!)!.message, /not JSON/);
      assert.equal(reasons.get(bad[1]!)?.code, 'FERRY_E_STREAM_MESSAGE_INVALID');
      assert.equal(reasons.get(bad[2]!)?.code, 'FERRY_E_STREAM_MESSAGE_INVALID');
      assert.equal(reasons.get(bad[3]!)?.code, 'FERRY_E_VALUE_TYPE');
      assert.match(reasons.get(bad[3]!)!.message, /mean_radius/);
      assert.equal(reasons.get(bad[4]!)?.code, 'FERRY_E_COLUMN_MISSING');
      assert.equal(reasons.get(bad[5]!)?.code, 'FERRY_E_STREAM_MESSAGE_INVALID');
      assert.equal(reasons.get(bad[6]!)?.code, 'FERRY_E_VALUE_MISSING');
      assert.match(reasons.get(bad[6]!)!.message, /Row 2, column "mean_area"/);
      assert.equal(dead.messages.find((m) => m.payload === bad[3])?.id, 'wrong-value');
      const deadCounted = /ferry_stream_dead_letters_total\{code="FERRY_E_VALUE_TYPE"\} 1\b/;
      const metrics = await metricsMatching(c.metricsPort, [deadCounted]);
      assert.match(metrics, deadCounted);
      assert.equal(c.child.exitCode, null, 'the consumer is still running');
      assert.equal(await stop(c), 0);
      await Promise.all([out.close(), dead.close()]);
    });

    test('SIGKILL mid-stream, restart: every input id has exactly one output (RabbitMQ: at least one, repeats identical)', async () => {
      const n = setup('kill');
      const out = await broker.collect(n.output);
      const ids = Array.from({ length: 3000 }, (_, i) => `k-${i}`);
      let c = await consumer(n, 'c1', ['--max-batch', '32']);
      let killed = false;
      await publishWindowed(broker, n.input, ids, out, 500, async () => {
        if (!killed && out.messages.length >= 800) {
          killed = true;
          assert.equal(await stop(c, 'SIGKILL'), 'SIGKILL');
          c = await consumer(n, 'c1', ['--max-batch', '32']);
        }
      });
      await out.until((m) => counts(m).size >= ids.length, 'an output for every id', undefined, () => {
        const c = counts(out.messages);
        const missing = ids.filter((id) => !c.has(id));
        return `${missing.length} id(s) without an output (${missing.slice(0, 10).join(', ')}), ${[...c.values()].filter((x) => x > 1).length} with more than one`;
      });
      assert.ok(killed, 'the consumer was killed mid-stream');
      assert.equal(await stop(c), 0);
      assertAfterKill(kind, out.messages, ids);
      await out.close();
    });

    test('scale-out: two consumers share a group without duplicates; a dead one\'s messages are taken over', async () => {
      const n = setup('scale');
      const out = await broker.collect(n.output);
      const ids = Array.from({ length: 2000 }, (_, i) => `s-${i}`);
      const a = await consumer(n, 'a', ['--max-batch', '16']);
      const b = await consumer(n, 'b', ['--max-batch', '16']);
      let killed = false;
      await publishWindowed(broker, n.input, ids, out, 400, async () => {
        if (!killed && out.messages.length >= 500) {
          killed = true;
          const status = await runCli(['stream', 'status', '--from', broker.url(n.input), '--group', n.group, '--json'], env);
          assert.equal(status.code, 0, status.stderr);
          const consumers = (JSON.parse(status.stdout) as { consumers: { consumer: string }[] }).consumers.map((x) => x.consumer);
          assert.deepEqual(consumers, ['a', 'b']);
          // Not restarted: a takes over what b held (XAUTOCLAIM, ack wait, MQTT session takeover).
          assert.equal(await stop(b, 'SIGKILL'), 'SIGKILL');
        }
      });
      await out.until((m) => counts(m).size >= ids.length, 'an output for every id');
      assert.ok(killed);
      if (kind === 'mqtt') {
        // The survivor resumed b's session under b's client id and ended it.
        const tookOver = await logLine(a, '"msg":"took over the session of a dead consumer"');
        assert.match(tookOver, /"dead":"b"/);
      }
      assert.equal(await stop(a), 0);
      assertAfterKill(kind, out.messages, ids);
      await out.close();
    });

    test('a killed member started again while the others take over: still exactly one output per id', async () => {
      const n = setup('back');
      const out = await broker.collect(n.output);
      const ids = Array.from({ length: 1500 }, (_, i) => `r-${i}`);
      const a = await consumer(n, 'a', ['--max-batch', '16']);
      let b = await consumer(n, 'b', ['--max-batch', '16']);
      let killed = false;
      await publishWindowed(broker, n.input, ids, out, 400, async () => {
        if (!killed && out.messages.length >= 400) {
          killed = true;
          assert.equal(await stop(b, 'SIGKILL'), 'SIGKILL');
          // Whichever gets b's messages (b itself, or a taking them over), none is lost or doubled.
          b = await consumer(n, 'b', ['--max-batch', '16']);
        }
      });
      await out.until((m) => counts(m).size >= ids.length, 'an output for every id');
      assert.ok(killed);
      assert.equal(await stop(a), 0);
      assert.equal(await stop(b), 0);
      assertAfterKill(kind, out.messages, ids);
      await out.close();
    });

    test('an alias move is picked up without a restart; SIGTERM exits cleanly', async () => {
      const n = setup('alias');
      const out = await broker.collect(n.output);
      const c = await consumer(n, 'c1');
      await broker.publish(n.input, [input('before', 0)]);
      await out.until((m) => m.length >= 1, 'the first output');
      const reg = await runCli(['register', f.model, '--name', 'bmlp', ...inputColumnFlags(f, true)], env);
      assert.equal(reg.code, 0, reg.stderr);
      const moved = await runCli(['alias', 'set', 'bmlp', 'prod', '2'], env);
      assert.equal(moved.code, 0, moved.stderr);
      let i = 0;
      // Keep sending until the new version answers (the consumer polls the registry).
      while (!out.messages.some((x) => x.version === 2)) {
        await broker.publish(n.input, [input(`after-${i++}`, i)]);
        await out.until((m) => m.length >= 1 + i, `output after-${i - 1}`);
      }
      assert.equal(out.messages[0]?.version, 1);
      assert.equal(await stop(c), 0);
      assert.ok(c.log.some((l) => l.includes('"msg":"stopped"')));
      await out.close();
    });
  });
}
