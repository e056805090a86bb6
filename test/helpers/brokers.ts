/** Real brokers for the stream tests: publish inputs, collect outputs, clean up. One helper per broker. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { connect as connectAmqp, type Channel as AmqpChannel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { AckPolicy, connect, DeliverPolicy, type NatsConnection } from 'nats';
import { FERRY_BIN } from './env.js';

export const REDIS = { host: '127.0.0.1', port: 6379 };
export const NATS = { host: '127.0.0.1', port: 4222 };
export const MQTT = { host: '127.0.0.1', port: 1883 };
export const RABBITMQ = { host: '127.0.0.1', port: 5672 };

/** Messages read back from an output or dead-letter destination, parsed. */
export interface Collector {
  readonly messages: Record<string, unknown>[];
  /** Wait until `done(messages)` holds (polling; bounded by a guard so a failure does not hang). */
  until(done: (messages: Record<string, unknown>[]) => boolean, what: string, guardMs?: number, explain?: () => string): Promise<void>;
  close(): Promise<void>;
}

export interface TestBroker {
  readonly kind: 'redis' | 'nats' | 'mqtt' | 'amqp';
  url(name: string): string;
  /** Start reading a destination (before anything is published to it). */
  collect(name: string): Promise<Collector>;
  publish(name: string, payloads: readonly string[]): Promise<void>;
  /** Remove the streams/subjects/topics and every record the consumers left for them. */
  cleanup(names: readonly string[], groups: readonly { group: string; consumers: readonly string[] }[]): Promise<void>;
}

/** A unique name for this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

function collector(poll: () => Promise<void>, messages: Record<string, unknown>[], close: () => Promise<void>): Collector {
  return {
    messages,
    async until(done, what, guardMs = Number(process.env.FERRY_TEST_GUARD_MS ?? 180_000), explain) {
      const start = Date.now();
      for (;;) {
        await poll();
        if (done(messages)) return;
        if (Date.now() - start > guardMs) throw new Error(`gave up waiting for ${what} (have ${messages.length} messages${explain ? `; ${explain()}` : ''})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
  };
}

export function redisBroker(): TestBroker {
  const redis = new Redis(REDIS);
  return {
    kind: 'redis',
    url: (name) => `redis://${REDIS.host}:${REDIS.port}/${name}`,
    collect(name) {
      const messages: Record<string, unknown>[] = [];
      let last = '-';
      return Promise.resolve(collector(async () => {
        for (;;) {
          const entries = await redis.xrange(name, last === '-' ? '-' : `(${last}`, '+', 'COUNT', 1000);
          for (const [id, fields] of entries) {
            last = id;
            messages.push(JSON.parse(fields[fields.indexOf('data') + 1] ?? 'null') as Record<string, unknown>);
          }
          if (entries.length < 1000) return;
        }
      }, messages, () => Promise.resolve()));
    },
    async publish(name, payloads) {
      for (let i = 0; i < payloads.length; i += 200) {
        const p = redis.pipeline();
        for (const data of payloads.slice(i, i + 200)) p.xadd(name, '*', 'data', data);
        await p.exec();
      }
    },
    async cleanup(names, groups) {
      for (const name of names) {
        await redis.del(name);
        await delPattern(redis, `ferry:stream:idem:redis:${name}:*`);
        for (const { group } of groups) await delPattern(redis, `ferry:stream:hb:redis:${name}:${group}:*`);
      }
      redis.disconnect();
    },
  };
}

export function natsBroker(): TestBroker {
  let nc: NatsConnection | undefined;
  const conn = async () => (nc ??= await connect({ servers: `${NATS.host}:${NATS.port}` }));
  return {
    kind: 'nats',
    url: (name) => `nats://${NATS.host}:${NATS.port}/${name}`,
    async collect(name) {
      const c = await conn();
      const jsm = await c.jetstreamManager();
      const stream = `FERRY_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      // Created here (as the consumer would) so reading can start before the first output.
      try { await jsm.streams.info(stream); } catch { await jsm.streams.add({ name: stream, subjects: [name], duplicate_window: 600_000_000_000 }); }
      const durable = `collector${Math.random().toString(36).slice(2, 8)}`;
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
      const consumer = await c.jetstream().consumers.get(stream, durable);
      const messages: Record<string, unknown>[] = [];
      const iter = await consumer.consume({ max_messages: 1000 });
      const pump = (async () => { for await (const m of iter) messages.push(m.json<Record<string, unknown>>()); })();
      return collector(() => Promise.resolve(), messages, async () => { await iter.close(); await pump; });
    },
    async publish(name, payloads) {
      const c = await conn();
      const jsm = await c.jetstreamManager();
      try { await jsm.streams.find(name); } catch { await jsm.streams.add({ name: `FERRY_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`, subjects: [name] }); }
      const js = c.jetstream();
      for (let i = 0; i < payloads.length; i += 200) await Promise.all(payloads.slice(i, i + 200).map((p) => js.publish(name, p)));
    },
    async cleanup(names, groups) {
      const c = await conn();
      const jsm = await c.jetstreamManager();
      for (const name of names) {
        try { await jsm.streams.delete(await jsm.streams.find(name)); } catch { /* not created */ }
      }
      const kv = await c.jetstream().views.kv('ferry_stream_heartbeats');
      for (const name of names) {
        for (const { group } of groups) {
          const keys: string[] = [];
          for await (const k of await kv.keys(`${name.replace(/[^A-Za-z0-9_-]/g, '_')}.${group.replace(/[^A-Za-z0-9_-]/g, '_')}.*`)) keys.push(k);
          for (const k of keys) await kv.purge(k);
        }
      }
      await c.close();
    },
  };
}

export function mqttBroker(): TestBroker {
  const redis = new Redis(REDIS);
  let pub: MqttClient | undefined;
  const publisher = async () => (pub ??= await mqtt.connectAsync({ host: MQTT.host, port: MQTT.port, protocolVersion: 5, clientId: uniqueName('ferry-test-pub') }));
  const clients: MqttClient[] = [];
  return {
    kind: 'mqtt',
    url: (name) => `mqtt://${MQTT.host}:${MQTT.port}/${name}`,
    async collect(name) {
      const client = await mqtt.connectAsync({ host: MQTT.host, port: MQTT.port, protocolVersion: 5, clientId: uniqueName('ferry-test-sub'), clean: true });
      clients.push(client);
      const messages: Record<string, unknown>[] = [];
      client.on('message', (_t, payload) => messages.push(JSON.parse(payload.toString()) as Record<string, unknown>));
      await client.subscribeAsync(name, { qos: 2 });
      return collector(() => Promise.resolve(), messages, () => client.endAsync());
    },
    async publish(name, payloads) {
      const c = await publisher();
      for (let i = 0; i < payloads.length; i += 100) {
        await Promise.all(payloads.slice(i, i + 100).map((p) => c.publishAsync(name, p, { qos: 1, properties: { userProperties: { 'ferry-enqueued-at': String(Date.now()) } } })));
      }
    },
    async cleanup(names, groups) {
      // End the consumers' persistent sessions: connect with their client ids and clean: true.
      for (const { group, consumers } of groups) {
        for (const consumer of consumers) {
          const base = `ferry-${safe(group)}-${safe(consumer)}`;
          for (const id of [base, ...names.map((name) => `${base}-out-${safe(name)}`)]) {
            const c = await mqtt.connectAsync({ host: MQTT.host, port: MQTT.port, protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 0 } });
            await c.endAsync();
          }
          for (const name of names) await redis.del(`ferry:stream:mqtt-out:${base}-out-${safe(name)}`);
        }
      }
      for (const name of names) {
        await delPattern(redis, `ferry:stream:idem:mqtt:${name}:*`);
        for (const { group } of groups) {
          await delPattern(redis, `ferry:stream:hb:mqtt:${name}:${group}:*`);
          await delPattern(redis, `ferry:stream:mqtt-takeover:${name}:${group}:*`);
          await redis.del(`ferry:stream:mqtt-members:${name}:${group}`);
        }
      }
      for (const { group, consumers } of groups) for (const consumer of consumers) await redis.del(`ferry:stream:mqtt-sinks:${safe(group)}:${safe(consumer)}`);
      for (const c of clients) await c.endAsync().catch(() => undefined);
      await pub?.endAsync();
      redis.disconnect();
    },
  };
}

const safe = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '_');

async function delPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A running `ferry stream run` process. */
export interface Consumer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly metricsPort: number;
  readonly log: string[];
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

/** Start `ferry stream run` and wait for its "ready" log line. */
export function startConsumer(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Consumer> {
  const child = spawn(process.execPath, [FERRY_BIN, 'stream', 'run', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  child.stderr.on('data', (d: Buffer) => log.push(d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.push(line);
      let entry: { msg?: string; metricsPort?: number | null } = {};
      try { entry = JSON.parse(line) as typeof entry; } catch { return; }
      if (entry.msg === 'stream consumer ready') resolve({ child, metricsPort: entry.metricsPort ?? 0, log, exited });
    });
    void exited.then((code) => reject(new Error(`ferry stream run exited (${code}) before it was ready:\n${log.join('\n')}`)));
  });
}

/** RabbitMQ: queues declared as the consumer declares them (durable quorum queues). */
export function rabbitmqBroker(): TestBroker {
  let conn: ChannelModel | undefined;
  let ch: AmqpChannel | undefined;
  let confirm: ConfirmChannel | undefined;
  const channel = async () => {
    conn ??= await connectAmqp(`amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`);
    ch ??= await conn.createChannel();
    return ch;
  };
  const declare = async (name: string) => (await channel()).assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  return {
    kind: 'amqp',
    url: (name) => `amqp://${RABBITMQ.host}:${RABBITMQ.port}/${name}`,
    async collect(name) {
      await declare(name);
      const c = await conn!.createChannel();
      const messages: Record<string, unknown>[] = [];
      const { consumerTag } = await c.consume(name, (m) => { if (m) messages.push(JSON.parse(m.content.toString('utf8')) as Record<string, unknown>); }, { noAck: true });
      return collector(() => Promise.resolve(), messages, async () => { await c.cancel(consumerTag).catch(() => undefined); await c.close().catch(() => undefined); });
    },
    async publish(name, payloads) {
      await declare(name);
      // Confirmed: when this returns, the broker has every input (a test that finds an output
      // missing then knows the input was there).
      confirm ??= await conn!.createConfirmChannel();
      for (const p of payloads) confirm.sendToQueue(name, Buffer.from(p), { persistent: true });
      await confirm.waitForConfirms();
    },
    async cleanup(names, groups) {
      const c = await channel();
      for (const name of names) await c.deleteQueue(name).catch(() => undefined);
      const redis = new Redis(REDIS);
      for (const name of names) for (const { group } of groups) await delPattern(redis, `ferry:stream:hb:amqp:${name}:${group}:*`);
      redis.disconnect();
      await conn?.close().catch(() => undefined);
    },
  };
}
