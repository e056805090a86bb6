/**
 * Dependency faults (issue #18, reliability): the registry's PostgreSQL, a stream's Redis and a
 * shared artifact store go away and come back while Ferry runs. The shared services are never
 * stopped: each test reaches them through a TCP proxy of its own and cuts that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { startConsumer, redisBroker, REDIS, uniqueName, type Consumer, type TestBroker } from './helpers/brokers.js';
import { pgSchema, PG_URL, tempDir } from './helpers/env.js';
import { fixture, inputColumnFlags, oneRowRequest, records } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);
const GUARD_MS = 60_000;

/** Wait (bounded by a guard, so a failure does not hang) until `done()` holds. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  const start = Date.now();
  while (!(await done())) {
    assert.ok(Date.now() - start < GUARD_MS, `gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A proxied PostgreSQL URL for a schema of this test's own. */
function viaProxy(proxy: TcpProxy, url: string): string {
  const u = new URL(url);
  u.port = String(proxy.port);
  return u.toString();
}

describe('the PostgreSQL registry goes away while serving', () => {
  let proxy: TcpProxy;
  let pg: Awaited<ReturnType<typeof pgSchema>>;
  let srv: InProcess;
  before(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(PG_URL).port || 5432) });
    pg = await pgSchema('ferry_fault');
    srv = await startInProcess({
      env: { FERRY_DATABASE_URL: viaProxy(proxy, pg.url) },
      register: [{ path: breast.model, name: 'bc', aliases: ['champion'] }, { path: breast.model, name: 'bc' }],
      serve: { poll_interval_ms: 100, models: [{ name: 'bc', versions: ['champion'] }] },
    });
  });
  after(async () => {
    await srv.cleanup();
    await proxy.close();
    await pg.cleanup();
  });

  const infer = () => postJson(`${srv.url}/v2/models/bc/versions/champion/infer`, body);

  it('requests keep being answered from the loaded model, and alias polling resumes when it is back', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await infer()).status, 200);
    await proxy.cut();
    const during: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await infer();
      during.push(`${res.status}/${res.headers.get('x-ferry-model-version')}`);
    }
    assert.deepEqual([...new Set(during)], ['200/1'], 'every request answered by version 1 while the registry is away');
    assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200, 'still ready: the configured model is loaded');
    // An operator moves the alias meanwhile (the registry itself is up; only this server lost it).
    const moved = await runCli(['alias', 'set', 'bc', 'champion', '2'], { FERRY_HOME: srv.home, FERRY_DATABASE_URL: pg.url });
    assert.equal(moved.code, 0, moved.stderr);
    for (let i = 0; i < 20; i++) assert.equal((await infer()).status, 200);
    const reconnectsBefore = proxy.connections;
    await proxy.restore();
    const statuses = new Set<number>();
    await until(async () => {
      const res = await infer();
      statuses.add(res.status);
      return res.headers.get('x-ferry-model-version') === '2';
    }, 'the server to follow the alias to version 2');
    assert.deepEqual([...statuses], [200]);
    assert.ok(proxy.connections > reconnectsBefore, 'the server reconnected');
  });
});

describe('Redis goes away under a stream consumer', () => {
  const home = tempDir('ferry-fault-stream-');
  const env = { FERRY_HOME: home.dir, FERRY_LOG_LEVEL: 'info' };
  const broker: TestBroker = redisBroker();
  const base = uniqueName('ferry-fault');
  const n = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };
  let proxy: TcpProxy;
  let consumer: Consumer | undefined;
  before(async () => {
    proxy = await startTcpProxy(REDIS);
    const reg = await runCli(['register', breast.model, '--name', 'bmlp', ...inputColumnFlags(breast, true), '--alias', 'prod'], env);
    assert.equal(reg.code, 0, reg.stderr);
  });
  after(async () => {
    if (consumer && consumer.child.exitCode === null) {
      consumer.child.kill('SIGKILL');
      await consumer.exited;
    }
    await proxy.close();
    await broker.cleanup([n.input, n.output, n.dead], [{ group: n.group, consumers: ['c1'] }]);
    home.cleanup();
  });

  it('every input gets exactly one output across the cut (no loss, no duplicate)', async () => {
    const proxied = (name: string) => `redis://127.0.0.1:${proxy.port}/${name}`;
    consumer = await startConsumer(['bmlp@prod', '--from', proxied(n.input), '--to', proxied(n.output), '--dead-letter', proxied(n.dead),
      '--group', n.group, '--consumer', 'c1', '--metrics-port', '0', '--reclaim-idle-ms', '1500', '--heartbeat-ms', '200', '--poll-interval', '100', '--runtime-workers', '0'], env);
    const rows = records(breast);
    const ids = Array.from({ length: 600 }, (_, i) => `m${i}`);
    const payload = (i: number) => JSON.stringify({ id: ids[i], inputs: rows[i % rows.length] });
    const out = await broker.collect(n.output);
    // Inputs go straight to Redis; only the consumer's connections pass through the proxy.
    await broker.publish(n.input, ids.slice(0, 300).map((_, i) => payload(i)));
    await out.until((m) => m.length >= 100, 'the first outputs', GUARD_MS);
    await proxy.cut();
    await broker.publish(n.input, ids.slice(300).map((_, i) => payload(300 + i)));
    await proxy.restore();
    await out.until((m) => m.length >= ids.length, 'an output for every input', GUARD_MS);
    const seen = new Map<string, number>();
    for (const m of out.messages) seen.set(String(m.id), (seen.get(String(m.id)) ?? 0) + 1);
    assert.deepEqual(ids.filter((id) => !seen.has(id)), [], 'no input lost');
    assert.deepEqual([...seen].filter(([, c]) => c > 1).map(([id]) => id), [], 'no input answered twice');
    assert.equal(out.messages.length, ids.length);
    assert.equal(consumer.child.exitCode, null, 'the consumer is still running');
    await out.close();
  });
});

describe('the shared artifact store is unreachable at a reload', () => {
  let proxy: TcpProxy;
  let pg: Awaited<ReturnType<typeof pgSchema>>;
  let artifacts: Awaited<ReturnType<typeof pgSchema>>;
  let srv: InProcess;
  before(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(PG_URL).port || 5432) });
    pg = await pgSchema('ferry_fault');
    artifacts = await pgSchema('ferry_fault_art');
    srv = await startInProcess({
      // The registry is reached directly; only the artifact store goes through the proxy.
      env: { FERRY_DATABASE_URL: pg.url, FERRY_ARTIFACTS_URL: viaProxy(proxy, artifacts.url) },
      register: [{ path: breast.model, name: 'bc', aliases: ['champion'] }],
serve: { poll_interval_ms: 100, models: [{ name: 'bc', versions: ['champion'] }] },
    });
  });
  after(async () => {
    await srv.cleanup();
    await proxy.close();
    await pg.cleanup();
    await artifacts.cleanup();
  });

  it('the old version keeps serving until the new one can be read', async () => {
    const infer = () => postJson(`${srv.url}/v2/models/bc/versions/champion/infer`, body);
    assert.equal((await infer()).headers.get('x-ferry-model-version'), '1');
    // Version 2 is another artifact (not in this server's local cache), registered while the store is up.
    const env = { FERRY_HOME: tempDir('ferry-fault-cli-').dir, FERRY_DATABASE_URL: pg.url, FERRY_ARTIFACTS_URL: artifacts.url };
    const reg = await runCli(['register', fixture('diabetes_regressor').model, '--name', 'bc'], env);
    assert.equal(reg.code, 0, reg.stderr);
    await proxy.cut();
    assert.equal((await runCli(['alias', 'set', 'bc', 'champion', '2'], env)).code, 0);
    // The server sees the move but cannot read the artifact: version 1 answers meanwhile.
    await until(async () => {
      const index = await (await fetch(`${srv.url}/v2/repository/index`, { method: 'POST' })).json() as { version: string; state: string; reason: string }[];
      return index.some((e) => e.version === '1' && e.state === 'READY' && e.reason.includes('loading version 2 failed'));
    }, 'the server to report the failed load of version 2');
    for (let i = 0; i < 20; i++) {
      const res = await infer();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ferry-model-version'), '1');
    }
    await proxy.restore();
    // Version 2 (another model) is retried once the store is back, and then answers.
    await until(async () => {
      const index = await (await fetch(`${srv.url}/v2/repository/index`, { method: 'POST' })).json() as { version: string; state: string }[];
      return index.some((e) => e.version === '2' && e.state === 'READY');
    }, 'version 2 to load once the store is back');
    const v2 = fixture('diabetes_regressor');
    const res = await postJson(`${srv.url}/v2/models/bc/versions/champion/infer`, oneRowRequest(v2));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ferry-model-version'), '2');
  });
});
