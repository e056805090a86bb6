/**
 * Canary weights and shadow set through the registry (`ferry traffic set`, PUT
 * /ferry/v1/models/{m}/traffic): a running server applies them in place of ferry.yaml's, requests
 * split and mirror as set, and every change is in the alias history with its actor.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture, numericRows } from './helpers/fixtures.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const rows = numericRows(breast);
const body = (r: number[]) => ({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: r }] });

interface Split { model: string; canary: { target: string; weight: number }[] | null; shadow: { target: string; share: number } | null; setBy: { actor: string } | null; outcomes: Record<string, number> }

describe('traffic set in the registry', () => {
  const tmp = tempDir('ferry-traffic-set-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'ops-alice' };
  let server: ServeProcess;

  const split = async (): Promise<Split> => {
    const res = await fetch(`${server.url}/ferry/v1/traffic/split?model=bc`);
    return ((await res.json()) as { models: Split[] }).models[0]!;
  };
  /** Send n routed requests; count which version answered. */
  const send = async (n: number): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await postJson(`${server.url}/v2/models/bc/infer`, body(rows[i % rows.length]!));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const v = res.headers.get('x-ferry-model-version')!;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    return counts;
  };

  before(async () => {
    for (const alias of ['champion', 'challenger', 'candidate']) {
      const r = await runCli(['register', breast.model, '--name', 'bc', '--alias', alias], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, ['models:', '  - name: bc', '    route: champion', '    canary: [{ target: champion, weight: 1 }, { target: candidate, weight: 1 }]'].join('\n'));
    server = await startServe(env, ['--config', config, '--grpc-port', 'off', '--poll-interval', '100']);
  });
  after(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('ferry.yaml applies until a setting is made', async () => {
    const s = await split();
    assert.deepEqual([s.canary, s.shadow, s.setBy], [[{ target: 'champion', weight: 1 }, { target: 'candidate', weight: 1 }], null, null]);
    assert.deepEqual(await send(10), { 1: 5, 3: 5 });
  });

  it('`ferry traffic set` from another process: the server splits 80/20 and mirrors half to the shadow, recorded with the actor', async () => {
    const r = await runCli(['traffic', 'set', 'bc', '--canary', 'champion=80', '--canary', 'challenger=20', '--shadow', 'candidate', '--shadow-share', '0.5'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /canary champion=80 challenger=20; shadow candidate 50%/);
    // The server reads it on its next registry poll (100 ms here).
    for (let i = 0; (await split()).setBy === null; i++) {
      assert.ok(i < 100, 'the server did not pick the setting up');
      await new Promise((res) => setTimeout(res, 50));
    }
    const s = await split();
    assert.deepEqual([s.canary, s.shadow, s.setBy?.actor], [[{ target: 'champion', weight: 80 }, { target: 'challenger', weight: 20 }], { target: 'candidate', share: 0.5 }, 'ops-alice']);
    const mirroredBefore = Object.values(s.outcomes).reduce((a, b) => a + b, 0);
    assert.deepEqual(await send(50), { 1: 40, 2: 10 });
    for (let i = 0; ; i++) {
      const mirrored = Object.values((await split()).outcomes).reduce((a, b) => a + b, 0) - mirroredBefore;
      if (mirrored === 25) break;
      assert.ok(i < 100 && mirrored < 25, `mirrored ${mirrored} of 50 requests, expected 25`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const shown = await runCli(['traffic', 'show', 'bc', '--json'], env);
    assert.deepEqual((JSON.parse(shown.stdout) as { updatedBy: string }).updatedBy, 'ops-alice');
    const history = await runCli(['alias', 'history', 'bc', '(traffic)', '--json'], env);
    const events = JSON.parse(history.stdout) as { actor: string; note: string }[];
    assert.deepEqual(events.map((e) => [e.actor, e.note]), [['ops-alice', 'canary champion=80 challenger=20; shadow candidate 50%']]);
  });

  it('through the server API: applied at once, then cleared back to ferry.yaml; bad settings refused', async () => {
    const put = await fetch(`${server.url}/ferry/v1/models/bc/traffic`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ canary: [{ target: 'challenger', weight: 3 }, { target: '3', weight: 1 }], shadow: null }) });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal(((await put.json()) as { actor: string }).actor, 'api');
    assert.deepEqual(await send(20), { 2: 15, 3: 5 });
    assert.equal((await split()).shadow, null);

    for (const [payload, status, code] of [
      [{ canary: [{ target: 'missing', weight: 1 }] }, 404, 'FERRY_E_ALIAS_NOT_FOUND'],
      [{ canary: [{ target: 'champion', weight: -1 }] }, 400, 'FERRY_E_TRAFFIC_INVALID'],
      [{ canary: 'champion' }, 400, 'FERRY_E_REQUEST_INVALID'],
      [{ shadow: { target: 'champion', share: 2 } }, 400, 'FERRY_E_TRAFFIC_INVALID'],
    ] as const) {
      const res = await fetch(`${server.url}/ferry/v1/models/bc/traffic`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      assert.equal(res.status, status, JSON.stringify(payload));
      assert.equal(((await res.json()) as { code: string }).code, code);
    }
    const cleared = await fetch(`${server.url}/ferry/v1/models/bc/traffic`, { method: 'DELETE' });
    assert.equal(cleared.status, 200);
    const s = await split();
    assert.deepEqual([s.canary, s.setBy], [[{ target: 'champion', weight: 1 }, { target: 'candidate', weight: 1 }], null]);
    assert.deepEqual(await send(10), { 1: 5, 3: 5 });
    const shown = await runCli(['traffic', 'show', 'bc'], env);
    assert.match(shown.stdout, /no traffic setting in the registry/);
  });

  it('the CLI refuses an empty or malformed setting', async () => {
    const none = await runCli(['traffic', 'set', 'bc'], env);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /FERRY_E_USAGE/);
    const bad = await runCli(['traffic', 'set', 'bc', '--canary', 'champion'], env);
    assert.match(bad.stderr, /<target>=<weight>/);
    const unknown = await runCli(['traffic', 'set', 'nope', '--shadow', 'latest'], env);
    assert.match(unknown.stderr, /FERRY_E_MODEL_NOT_FOUND/);
  });
});
