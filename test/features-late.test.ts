/**
 * Late data: a row whose event time is at or below a view's watermark when it arrives. Without
 * `lateness` the next incremental materialisation does not see it (the documented trade-off);
 * with `lateness: 2d` a row up to two days late is picked up; `materialize --full` re-reads
 * everything. A late row older than the value already stored never replaces it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';

const day = (d: number) => `2026-01-${String(d).padStart(2, '0')} 00:00:00`;

describe('late data and the watermark', () => {
  const tmp = tempDir('ferry-flate-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  after(() => tmp.cleanup());
  const source = join(tmp.dir, 'events.csv');

  async function values(): Promise<Record<string, unknown>> {
    const app = await openFerry(loadConfig(env));
    try {
      const lookups = await app.featureLookups();
      const out: Record<string, unknown> = {};
      for (const service of ['strict', 'late']) {
        const got = await lookups.get(service, [{ id: 1 }, { id: 2 }, { id: 3 }]);
        out[service] = got.rows.map((r) => r[service === 'strict' ? 'strict.v' : 'late.v'] ?? r.v);
      }
      return out;
    } finally {
      await app.close();
    }
  }

  it('lateness picks up rows that arrive up to that late; --full picks up the rest', async () => {
    writeFileSync(source, `id,t,v\n1,${day(1)},10\n2,${day(1)},20\n3,${day(8)},30\n`);
    writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: thing, key: id}]
views:
  - {name: strict, entity: thing, source: {path: events.csv}, timestamp: t, features: [v]}
  - {name: late, entity: thing, source: {path: events.csv}, timestamp: t, features: [v], lateness: 2d}
services:
  - {name: strict, features: [strict.v]}
  - {name: late, features: [late.v]}
`);
    assert.equal((await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env)).code, 0);
    assert.equal((await runCli(['features', 'materialize', '--until', '2026-01-10'], env)).code, 0);
    assert.deepEqual(await values(), { strict: [10, 20, 30], late: [10, 20, 30] });
    // Arriving after the watermark (Jan 10) passed them: one day late (id 1), eight days late (id 2),
    // and an older value for id 3 than the one stored (must not replace it).
    appendFileSync(source, `1,${day(9)},11\n2,${day(2)},21\n3,${day(9)},31\n3,${day(7)},29\n`);
    const m = await runCli(['features', 'materialize', '--until', '2026-01-11', '--json'], env);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(await values(), { strict: [10, 20, 30], late: [11, 20, 31] }, 'only the view with lateness sees the late rows, within 2 days');
    // Re-running with the same --until still looks back over the allowance (a no-op for the strict view).
    appendFileSync(source, `1,${day(10)},12\n`);
    const again = await runCli(['features', 'materialize', '--until', '2026-01-11', '--json'], env);
    assert.deepEqual((JSON.parse(again.stdout) as { view: string; rows: number }[]).map((r) => [r.view, r.rows]), [['strict', 0], ['late', 1]]);
    const full = await runCli(['features', 'materialize', '--full', '--until', '2026-01-11', '--json'], env);
    assert.equal(full.code, 0, full.stderr);
    assert.deepEqual(await values(), { strict: [12, 21, 31], late: [12, 21, 31] });
    const status = await runCli(['features', 'status', '--json'], env);
    for (const v of JSON.parse(status.stdout) as { watermark: number }[]) assert.equal(v.watermark, Date.parse('2026-01-11T00:00:00Z'));
  });
});
