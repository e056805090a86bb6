/**
 * The Redis online store keeps each entity's features of every view in one hash
 * (`<prefix><entity>:<key>`, a field per view), so a service's lookup is one HMGET per entity
 * however many views it spans (counted with MONITOR on real Redis); a materialisation of one view
 * updates its field in place and leaves the others; dropping a view removes only its field.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { FeatureLookups } from '../src/features/lookup.js';
import { openFerry } from '../src/main/ferry.js';
import { REDIS, uniqueName } from './helpers/brokers.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';

describe('Redis: one hash per entity, one HMGET per entity per service', () => {
  const tmp = tempDir('ferry-fredis-');
  const prefix = `${uniqueName('ferry-fredis')}:`;
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester', FERRY_ONLINE_STORE: `redis://${REDIS.host}:${REDIS.port}/0?prefix=${encodeURIComponent(prefix)}` };
  const redis = new Redis(REDIS);
  after(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    tmp.cleanup();
  });

  it('reads a two-view service with one HMGET per entity and keeps the vector current on materialisation', async () => {
    writeFileSync(join(tmp.dir, 'stats.csv'), 'customer_id,t,age\n1,2026-01-01 00:00:00,30\n2,2026-01-01 00:00:00,40\n3,2026-01-01 00:00:00,50\n');
    writeFileSync(join(tmp.dir, 'activity.csv'), 'customer_id,t,clicks\n1,2026-01-02 00:00:00,5\n2,2026-01-02 00:00:00,6\n');
    writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: customer, key: customer_id}]
views:
  - {name: stats, entity: customer, source: {path: stats.csv}, timestamp: t, features: [age]}
  - {name: activity, entity: customer, source: {path: activity.csv}, timestamp: t, features: [clicks]}
services: [{name: churn, features: [age, clicks]}]
`);
    assert.equal((await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env)).code, 0);
    assert.equal((await runCli(['features', 'materialize', '--until', '2026-01-10'], env)).code, 0);
    assert.deepEqual(Object.keys(await redis.hgetall(`${prefix}customer:1`)).sort(), ['activity', 'stats']);

    const watcher = new Redis(REDIS);
    const monitor = await watcher.monitor();
    const hmgets: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'hmget' && args[1]?.startsWith(prefix)) hmgets.push(args.slice(1));
    });
    const app = await openFerry(loadConfig(env));
    try {
      const store = (await app.featureLookups()).store;
      const lookups = new FeatureLookups(app.features, store, { cacheSize: 0 });
      const got = await lookups.get('churn', [{ customer_id: 1 }, { customer_id: 2 }, { customer_id: 3 }]);
      assert.deepEqual(got.rows.map((r) => [r.age, r.clicks]), [[30, 5], [40, 6], [50, null]]);
      // MONITOR lines arrive after the replies: wait until Redis has shown all three.
      for (let i = 0; i < 100 && hmgets.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(hmgets.map((a) => a[0]).sort(), [1, 2, 3].map((k) => `${prefix}customer:${k}`), 'one HMGET per entity');
      for (const a of hmgets) assert.deepEqual(a.slice(1).sort(), ['activity', 'stats'], 'naming both views');

      // A later materialisation of one view updates its field; the other view's field stays.
      writeFileSync(join(tmp.dir, 'activity.csv'), 'customer_id,t,clicks\n1,2026-01-02 00:00:00,5\n1,2026-01-12 00:00:00,9\n3,2026-01-12 00:00:00,7\n');
      assert.equal((await runCli(['features', 'materialize', 'activity', '--until', '2026-01-20'], env)).code, 0);
      const again = await lookups.get('churn', [{ customer_id: 1 }, { customer_id: 2 }, { customer_id: 3 }]);
      assert.deepEqual(again.rows.map((r) => [r.age, r.clicks]), [[30, 9], [40, 6], [50, 7]]);

      await store.drop({ name: 'activity', entity: 'customer' });
      assert.deepEqual(Object.keys(await redis.hgetall(`${prefix}customer:1`)), ['stats']);
      assert.equal(await store.progress('activity'), undefined);
    } finally {
      monitor.disconnect();
      watcher.disconnect();
      await app.close();
    }
  });
});
