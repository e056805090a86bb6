/**
 * Hot reload under load: moving an alias (through the CLI, in another process) while clients
 * hammer the server loses no request; a version whose load fails never replaces a working one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

describe('hot reload', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;

  before(async () => {
    for (const args of [['--alias', 'champion'], [], []]) {
      const r = await runCli(['register', breast.model, '--name', 'bc', ...args], env);
      assert.equal(r.code, 0, r.stderr);
    }
    // Serve only the champion alias: a newly registered version must not be loaded (as
    // "latest") before the test damages it.
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, 'models:\n  - name: bc\n    versions: [champion]\n');
    server = await startServe(env, ['--poll-interval', '100', '--config', config]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it('zero failed requests across repeated alias moves under load', async () => {
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    let sent = 0;
    const client = async () => {
      while (!stop) {
        const res = await postJson(`${server.url}/v2/models/bc/versions/champion/infer`, body);
        sent++;
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
        const v = res.headers.get('x-ferry-model-version') ?? '?';
        seen.set(v, (seen.get(v) ?? 0) + 1);
      }
    };
    const clients = Array.from({ length: 8 }, () => client());
    const moves = ['2', '3', '1', '2', '3', '2'];
    for (const target of moves) {
      // The alias moves outside the server's process, as an operator would move it while the server runs.
      const r = await runCli(['alias', 'set', 'bc', 'champion', target], env);
      assert.equal(r.code, 0, r.stderr);
      // Wait until the server answers with the new version (poll interval 100 ms).
      const deadline = Date.now() + 10_000;
      while ((await postJson(`${server.url}/v2/models/bc/versions/champion/infer`, body)).headers.get('x-ferry-model-version') !== target) {
        assert.ok(Date.now() < deadline, `server did not switch to version ${target}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 100, `only ${sent} requests were sent`);
    for (const v of ['1', '2', '3']) assert.ok((seen.get(v) ?? 0) > 0, `version ${v} answered some requests: ${JSON.stringify([...seen])}`);
  });

  it('a version that fails to load keeps the old one serving', async () => {
    // Version 4 is another artifact; damage its stored blob so its load fails the integrity check.
    const r = await runCli(['register', fixture('diabetes_regressor').model, '--name', 'bc', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const v4 = JSON.parse(r.stdout) as { version: number; digest: string };
    const hex = v4.digest.slice(7);
    const blob = join(env.FERRY_HOME, 'artifacts', 'sha256', hex.slice(0, 2), hex);
    execFileSync('chmod', ['u+w', blob]);
    writeFileSync(blob, readFileSync(blob).subarray(0, 50));

    const before = (await postJson(`${server.url}/v2/models/bc/versions/champion/infer`, body)).headers.get('x-ferry-model-version');
    assert.equal((await runCli(['alias', 'set', 'bc', 'champion', String(v4.version)], env)).code, 0);
    const deadline = Date.now() + 10_000;
    let reason = '';
    while (!reason.includes('integrity')) {
      assert.ok(Date.now() < deadline, 'the failed load was never reported');
      const index = (await postJson(`${server.url}/v2/repository/index`, {})).body as { name: string; reason: string }[];
      reason = index.find((e) => e.reason.includes('failed'))?.reason ?? '';
      await new Promise((r) => setTimeout(r, 50));
    }
    const index = (await postJson(`${server.url}/v2/repository/index`, {})).body as { version: string; reason: string }[];
    assert.deepEqual(index.filter((e) => e.reason.includes('failed')).map((e) => e.version), [before], 'the index shows the version still answering');
    for (let i = 0; i < 20; i++) {
      const res = await postJson(`${server.url}/v2/models/bc/versions/champion/infer`, body);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ferry-model-version'), before);
    }
  });

  it('a version outside `versions:` is not served on an explicit request (nor loaded)', async () => {
    // Explicit versions of a model without `versions:` load on demand: test/hardening-serving.test.ts.
    const res = await postJson(`${server.url}/v2/models/bc/versions/3/infer`, body);
    assert.equal(res.status, 404);
    assert.match((res.body as { error: string }).error, /not served/);
    const after = (await postJson(`${server.url}/v2/repository/index`, {})).body as { version: string }[];
    assert.ok(!after.some((e) => e.version === '3'), 'version 3 was not loaded');
    assert.equal((await postJson(`${server.url}/v2/models/bc/versions/9/infer`, body)).status, 404);
  });
});
