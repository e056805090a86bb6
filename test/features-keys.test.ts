/**
 * Entity keys compare by the entity's key type, the same way in the online store, in lookups and
 * in training sets: `42`, `42.0` and `"42"` are one key unless the entity says `type: string`
 * (then text is taken as written and `"007"` is not `7`). The JavaScript rule and its DuckDB SQL
 * twin give the same text for every value here.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDuckDb } from '../src/batch/duckdb.js';
import { loadConfig } from '../src/core/config.js';
import type { Cell } from '../src/core/frame.js';
import { entityKeySql, entityKeyText, type EntityKeyType } from '../src/features/entity-key.js';
import { openFerry } from '../src/main/ferry.js';
import { readRows } from './helpers/batch.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';

const TYPES: EntityKeyType[] = ['auto', 'integer', 'string'];

describe('the entity key rule', () => {
  it('JavaScript and DuckDB SQL give the same canonical key for numbers and text', async () => {
    const duck = await openDuckDb();
    try {
      const conn = await duck.connect();
      const cases: { sql: string; type: string; js: Cell }[] = [
        { sql: '42::bigint', type: 'BIGINT', js: 42 },
        { sql: '42.0::double', type: 'DOUBLE', js: 42.0 },
        { sql: '-7.0::double', type: 'DOUBLE', js: -7 },
        { sql: '42.5::double', type: 'DOUBLE', js: 42.5 },
        { sql: "'42'", type: 'VARCHAR', js: '42' },
        { sql: "'42.0'", type: 'VARCHAR', js: '42.0' },
        { sql: "' +042 '", type: 'VARCHAR', js: ' +042 ' },
        { sql: "'007'", type: 'VARCHAR', js: '007' },
        { sql: "'abc'", type: 'VARCHAR', js: 'abc' },
        { sql: "'4.5'", type: 'VARCHAR', js: '4.5' },
        { sql: '12345678901234567::bigint', type: 'BIGINT', js: 12345678901234567n },
        { sql: 'true', type: 'BOOLEAN', js: true },
      ];
      for (const type of TYPES) {
        for (const c of cases) {
          const [[got]] = (await conn.runAndReadAll(`select ${entityKeySql('x', c.type, type)} from (select ${c.sql} as x)`)).getRows() as [[string | null]];
          assert.equal(got ?? undefined, entityKeyText(c.js, type), `${c.sql} as ${type}`);
        }
      }
    } finally {
      duck.close();
    }
    assert.equal(entityKeyText(42, 'auto'), '42');
    assert.equal(entityKeyText('42.0', 'auto'), '42');
    assert.equal(entityKeyText('42.0', 'string'), '42.0');
    assert.equal(entityKeyText(42.0, 'string'), '42');
    assert.equal(entityKeyText('x', 'integer'), undefined);
    assert.equal(entityKeyText('007', 'auto'), '7');
    assert.equal(entityKeyText('007', 'string'), '007');
  });
});

describe('42, 42.0 and "42" find one entity (store, lookups, training sets)', () => {
  const tmp = tempDir('ferry-fkeys-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  after(() => tmp.cleanup());

  it('a source with floating-point keys is found by integer and text keys; type: string keeps text as written', async () => {
    // Keys as DOUBLE in the source (a CSV column with 42.0), text in another (codes with leading zeros).
    writeFileSync(join(tmp.dir, 'stats.csv'), 'customer_id,t,x\n42.0,2026-01-01 00:00:00,1\n42.0,2026-01-02 00:00:00,2\n7.0,2026-01-01 00:00:00,70\n');
    writeFileSync(join(tmp.dir, 'codes.csv'), 'code,t,y\n"007",2026-01-01 00:00:00,1\n"7",2026-01-01 00:00:00,2\n');
    writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: customer, key: customer_id}, {name: shop, key: code, type: string}]
views:
  - {name: stats, entity: customer, source: {path: stats.csv}, timestamp: t, features: [x]}
  - {name: codes, entity: shop, source: {path: codes.csv}, timestamp: t, features: [y]}
services:
  - {name: s, features: [x]}
  - {name: c, features: [y]}
`);
    assert.equal((await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env)).code, 0);
    const m = await runCli(['features', 'materialize', '--until', '2026-02-01'], env);
    assert.equal(m.code, 0, m.stderr);
    const app = await openFerry(loadConfig(env));
    try {
      const lookups = await app.featureLookups();
      const got = await lookups.get('s', [{ customer_id: 42 }, { customer_id: '42' }, { customer_id: 42.0 }, { customer_id: '42.0' }, { customer_id: '+7' }, { customer_id: 43 }]);
      assert.deepEqual(got.rows.map((r) => r.x), [2, 2, 2, 2, 70, null]);
      const codes = await lookups.get('c', [{ code: '007' }, { code: '7' }, { code: 7 }]);
      assert.deepEqual(codes.rows.map((r) => r.y), [1, 2, 2]);
    } finally {
      await app.close();
    }
    // The training set joins an entity file whose keys are text ("42") on the source's 42.0.
    const entities = [['42', '2026-01-01 12:00:00'], ['42.0', '2026-01-03 00:00:00'], ['7', '2026-01-05 00:00:00'], ['8', '2026-01-05 00:00:00']];
    writeFileSync(join(tmp.dir, 'entities.jsonl'), entities.map(([k, t]) => JSON.stringify({ customer_id: k, as_of: t })).join('\n'));
    const out = join(tmp.dir, 'train.parquet');
    const r = await runCli(['features', 'training-set', 's', '--entities', join(tmp.dir, 'entities.jsonl'), '--timestamp', 'as_of', '--output', out], env);
    assert.equal(r.code, 0, r.stderr);
    const rows = await readRows([out]);
    assert.deepEqual(rows.map((x) => (x.x === null ? null : Number(x.x))), [1, 2, 70, null]);
    assert.deepEqual(rows.map((x) => x.customer_id), ['42', '42.0', '7', '8'], 'entity rows keep their own values');
  });
});
