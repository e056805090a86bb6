/** The registry contract on the embedded SQLite store, plus its migrations. */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrationNames, openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { SQLITE_CAPABILITIES } from '../src/registry/sqlite-store.js';
import { tempDir } from './helpers/env.js';
import { fixturePath, registrySuite, rejectsWith } from './registry.suite.js';

/** Every migration this Ferry knows, by name. */
const KNOWN_MIGRATIONS = migrationNames(SQLITE_CAPABILITIES);

async function openHome(home: string): Promise<Ferry> {
  return openFerry(loadConfig({ FERRY_HOME: home }));
}

registrySuite('sqlite', async () => {
  const home = tempDir('ferry-sqlite-');
  const app = await openHome(home.dir);
  return {
    registry: app.registry,
    store: app.registry.store,
    async cleanup() {
      await app.close();
      home.cleanup();
    },
  };
});

describe('sqlite registry: migrations and persistence', () => {
  const home = tempDir('ferry-sqlite-mig-');
  after(() => home.cleanup());
  const dbPath = join(home.dir, 'registry.db');

  it('creates and migrates the database file on first open', async () => {
    assert.equal(existsSync(dbPath), false);
    const app = await openHome(home.dir);
    await app.close();
    const db = new Database(dbPath, { readonly: true });
    try {
      const applied = db.prepare('select name from ferry_migrations order by name').all() as { name: string }[];
      assert.deepEqual(applied.map((m) => m.name), KNOWN_MIGRATIONS);
      assert.ok(KNOWN_MIGRATIONS.includes('0001_registry'));
      const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((t) => t.name);
      for (const t of ['alias_events', 'aliases', 'model_versions', 'models']) assert.ok(tables.includes(t), `table ${t} in ${tables.join(', ')}`);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('keeps its data when re-opened, without re-running migrations', async () => {
    let app = await openHome(home.dir);
    await app.registry.register({ path: fixturePath('breast_mlp'), name: 'keep', actor: 'a', tags: { k: 'v' } });
    const v2 = await app.registry.register({ path: fixturePath('diabetes_regressor'), name: 'keep', actor: 'b', aliases: ['prod'] });
    await app.registry.archive('keep:1');
    await app.close();

    app = await openHome(home.dir);
    try {
      assert.deepEqual(await app.registry.resolve('keep@prod'), v2);
      assert.equal((await app.registry.resolve('keep:1')).archivedAt !== null, true);
      assert.deepEqual((await app.registry.resolve('keep:1')).tags, { k: 'v' });
      assert.equal((await app.registry.store.aliasHistory('keep', 'prod')).length, 1);
      assert.equal((await app.registry.register({ path: fixturePath('breast_mlp'), name: 'keep', actor: 'c' })).version, 3);
      assert.deepEqual(Buffer.from(await app.registry.loadArtifact(v2)).byteLength, v2.size);
    } finally {
      await app.close();
    }
    const db = new Database(dbPath, { readonly: true });
    try {
      assert.deepEqual(db.prepare('select count(*) as n from ferry_migrations').get(), { n: KNOWN_MIGRATIONS.length });
    } finally {
      db.close();
    }
  });

  it('refuses a database migrated by a newer Ferry, and leaves it as it is', async () => {
    const db = new Database(dbPath);
    db.prepare('insert into ferry_migrations (name, timestamp) values (?, ?)').run('9999_from_the_future', new Date().toISOString());
    db.close();
    await rejectsWith(openHome(home.dir), 'FERRY_E_REGISTRY_SCHEMA_NEWER', { location: dbPath, migration: '9999_from_the_future' });
    const check = new Database(dbPath, { readonly: true });
    try {
      assert.deepEqual((check.prepare('select name from ferry_migrations order by name').all() as { name: string }[]).map((r) => r.name), [...KNOWN_MIGRATIONS, '9999_from_the_future']);
      assert.deepEqual(check.prepare("select count(*) as n from model_versions where model_name = 'keep'").get(), { n: 3 });
    } finally {
      check.close();
    }
  });

  it('reports an unreadable registry file as FERRY_E_REGISTRY_UNAVAILABLE', async () => {
    const bad = tempDir('ferry-sqlite-bad-');
    try {
      writeFileSync(join(bad.dir, 'registry.db'), 'this is not an SQLite database, it is plain text that is long enough to matter. '.repeat(20));
      await rejectsWith(openHome(bad.dir), 'FERRY_E_REGISTRY_UNAVAILABLE');
    } finally {
      bad.cleanup();
    }
  });
});
