/**
 * Several `ferry serve` replicas on one PostgreSQL registry, with artifacts only in PostgreSQL:
 * alias moves reach every replica through LISTEN/NOTIFY (the poll is set to a minute, so only a
 * notification explains a quick switch), a replica that lost its listening connection catches
 * up when it reconnects, and the replicas behind a round-robin proxy answer every request
 * through alias moves and the death of one of them.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { PG_URL, pgSchema, tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

async function versionServed(url: string): Promise<string | null> {
  const res = await postJson(`${url}/v2/models/bc/versions/champion/infer`, body);
  return res.status === 200 ? res.headers.get('x-ferry-model-version') : `status ${res.status}`;
}

/** Wait until every replica answers with `version`; the milliseconds it took. */
async function untilAllServe(urls: readonly string[], version: string, limitMs: number): Promise<number> {
  const started = performance.now();
  await Promise.all(urls.map(async (url) => {
    for (;;) {
      if ((await versionServed(url)) === version) return;
      assert.ok(performance.now() - started < limitMs, `${url} did not switch to version ${version} within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }));
  return performance.now() - started;
}

/**
 * A round-robin HTTP proxy over the replicas that are still alive. Like a load balancer's retry
 * policy, a request whose connection fails before any answer (a replica killed mid-request) is
 * sent to the next replica: inference requests are idempotent.
 */
function roundRobin(targets: () => readonly string[]): Promise<Server> {
  let next = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (attempt: number): void => {
        const live = targets();
        const target = new URL(live[next++ % live.length]!);
        const out = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        out.on('error', () => {
          if (res.headersSent) return res.destroy();
          if (attempt < 3) return send(attempt + 1);
          res.writeHead(502);
          res.end('bad gateway');
        });
        out.end(Buffer.concat(chunks));
      };
      send(0);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('replicas on one PostgreSQL registry', () => {
  const homes = [tempDir('ferry-rep-'), tempDir('ferry-rep-'), tempDir('ferry-rep-'), tempDir('ferry-cli-')];
  let schema: Awaited<ReturnType<typeof pgSchema>>;
  let servers: ServeProcess[] = [];
  let cliEnv: Record<string, string>;

  before(async () => {
    schema = await pgSchema('ferry_cluster');
    const shared = { FERRY_DATABASE_URL: schema.url, FERRY_ARTIFACTS_URL: schema.url, FERRY_ACTOR: 'tester' };
    cliEnv = { ...shared, FERRY_HOME: join(homes[3]!.dir, 'home') };
    for (const args of [['--alias', 'champion'], [], []]) {
      const r = await runCli(['register', breast.model, '--name', 'bc', ...args], cliEnv);
      assert.equal(r.code, 0, r.stderr);
    }
    const { writeFileSync } = await import('node:fs');
    const config = join(homes[3]!.dir, 'ferry.yaml');
    writeFileSync(config, 'models:\n  - name: bc\n    versions: [champion]\n');
    servers = await Promise.all(homes.slice(0, 3).map((h) => startServe({ ...shared, FERRY_HOME: join(h.dir, 'home') }, ['--poll-interval', '60000', '--config', config])));
  });

  after(async () => {
    for (const s of servers) await s.stop();
    for (const h of homes) h.cleanup();
    await schema.cleanup();
  });

  it('an alias move reaches every replica through NOTIFY, not the minute-long poll', async () => {
    assert.deepEqual(await Promise.all(servers.map((s) => versionServed(s.url))), ['1', '1', '1']);
    for (const target of ['2', '3', '1']) {
      assert.equal((await runCli(['alias', 'set', 'bc', 'champion', target], cliEnv)).code, 0);
      // Generous bound for a loaded CI machine; bench:cluster measures the real figure.
      await untilAllServe(servers.map((s) => s.url), target, 30_000);
    }
  });

  it('a replica whose listening connection dropped catches up when it reconnects', async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const killed = await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN ferry_registry' and datname = current_database()`);
      assert.ok((killed.rowCount ?? 0) >= 3, 'found the replicas\' listening connections');
    } finally {
      await client.end();
    }
    // Moved while (some) listeners are down: no notification reaches them, the reconnect must.
    assert.equal((await runCli(['alias', 'set', 'bc', 'champion', '2'], cliEnv)).code, 0);
    await untilAllServe(servers.map((s) => s.url), '2', 30_000);
  });

  it('behind a round-robin proxy: no failed request across alias moves and a killed replica', async () => {
    const alive = new Set(servers.map((s) => s.url));
    const proxy = await roundRobin(() => [...alive]);
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const failures: string[] = [];
    let sent = 0;
    let stop = false;
    const clientLoop = async () => {
      while (!stop) {
        const res = await postJson(`${proxyUrl}/v2/models/bc/versions/champion/infer`, body);
        sent++;
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    const clients = Array.from({ length: 6 }, () => clientLoop());
    try {
      for (const target of ['3', '1']) {
        assert.equal((await runCli(['alias', 'set', 'bc', 'champion', target], cliEnv)).code, 0);
        await untilAllServe([...alive], target, 30_000);
      }
      // A replica dies; the proxy (like a Service's endpoints) stops sending to it.
      const victim = servers[2]!;
      alive.delete(victim.url);
      victim.proc.kill('SIGKILL');
      assert.equal((await runCli(['alias', 'set', 'bc', 'champion', '2'], cliEnv)).code, 0);
      await untilAllServe([...alive], '2', 30_000);
    } finally {
      stop = true;
      await Promise.all(clients);
      await new Promise((r) => proxy.close(r));
    }
    assert.ok(sent > 50, `sent ${sent} requests`);
    assert.deepEqual(failures, []);
  });
});
