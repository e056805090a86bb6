/**
 * `ferry features materialize` killed with SIGKILL mid-run and run again loses and duplicates
 * nothing: every entity holds its latest value, the run's count of written entities (kept with
 * each committed chunk) equals the number of entities, and the watermark moves only at the end
 * — into the registry database (SQLite) and into Redis.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import { REDIS, uniqueName } from './helpers/brokers.js';
import { runCli } from './helpers/cli.js';
import { FERRY_BIN, tempDir } from './helpers/env.js';

const ENTITIES = 20_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const UNTIL = T0 + 100 * 60_000;

/** Run `features materialize --progress` and SIGKILL it after `chunks` committed chunks. */
function runAndKill(args: readonly string[], env: Record<string, string>, chunks: number): Promise<{ killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let seen = 0;
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      seen += d.toString().split('\n').filter((l) => l.includes('"progress"')).length;
      if (seen >= chunks && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code) => resolve({ killed: killed && code === null }));
  });
}

const prefix = `${uniqueName('ferry-fcrash')}:`;
after(async () => {
  const redis = new Redis(REDIS);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
});

for (const store of ['registry', 'redis'] as const) {
  describe(`materialisation survives SIGKILL exactly once (${store})`, () => {
    const tmp = tempDir('ferry-fcrash-');
    after(() => tmp.cleanup());
    const env: Record<string, string> = { FERRY_HOME: join(tmp.dir, 'home'), ...(store === 'redis' ? { FERRY_ONLINE_STORE: `redis://${REDIS.host}:${REDIS.port}/0?prefix=${encodeURIComponent(prefix)}` } : {}) };

    it('killed twice, resumed, every entity holds its latest value and was written once', async () => {
      // Three events per entity; the latest (before UNTIL) holds value = id * 3, a later one is past UNTIL.
      const lines = ['id,t,value'];
      for (let id = 0; id < ENTITIES; id++) {
        for (const [k, v] of [[10, id], [50, id * 3], [200, -1]] as const) lines.push(`${id},${new Date(T0 + k * 60_000).toISOString()},${v}`);
      }
      writeFileSync(join(tmp.dir, 'values.csv'), `${lines.join('\n')}\n`);
      writeFileSync(join(tmp.dir, 'features.yaml'), 'entities: [{name: thing, key: id}]\nviews: [{name: things, entity: thing, source: {path: values.csv}, timestamp: t, features: [value]}]\nservices: [{name: s, features: [value]}]\n');
      assert.equal((await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env)).code, 0);
      const args = ['features', 'materialize', '--until', String(UNTIL), '--chunk-size', '500', '--progress'];
      for (const chunks of [3, 9]) assert.ok((await runAndKill(args, env, chunks)).killed, 'the run was killed before it finished');
      const app = await openFerry(loadConfig(env));
      try {
        const store = (await app.featureLookups()).store;
        const mid = await store.progress('things');
        assert.equal(mid?.watermark, null, 'the watermark does not move before the run ends');
        assert.ok(mid?.run && mid.run.rows > 0 && mid.run.rows < ENTITIES, `a run in progress: ${JSON.stringify(mid)}`);
      } finally {
        await app.close();
      }
      const done = await runCli(['features', 'materialize', '--until', String(UNTIL), '--chunk-size', '500', '--json'], env);
      assert.equal(done.code, 0, done.stderr);
      const [result] = JSON.parse(done.stdout) as { rows: number; runRows: number; resumed: boolean }[];
      assert.equal(result?.resumed, true);
      assert.equal(result?.runRows, ENTITIES, 'across the kills, each entity was written exactly once');
      assert.ok(result.rows < ENTITIES, 'the last process wrote only what was left');
      const check = await openFerry(loadConfig(env));
      try {
        const store = (await check.featureLookups()).store;
        const keys = Array.from({ length: ENTITIES }, (_, i) => String(i));
        const [got = []] = await store.read([{ name: 'things', entity: 'thing' }], keys);
        got.forEach((row, i) => assert.equal(row?.values.value, i * 3, `entity ${i}`));
        const p = await store.progress('things');
        assert.equal(p?.watermark, UNTIL);
        assert.equal(p?.run, undefined);
      } finally {
        await check.close();
      }
    });
  });
}
