/** The registry contract on the PostgreSQL store, plus its migrations. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrationNames, openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { POSTGRES_CAPABILITIES } from '../src/registry/postgres-store.js';
import { PG_URL, pgSchema, tempDir } from './helpers/env.js';
import { fixturePath, registrySuite, rejectsWith } from './registry.suite.js';

/** Every migration this Ferry knows, by name. */
const KNOWN_MIGRATIONS = migrationNames(POSTGRES_CAPABILITIES);

async function openSchema(home: string, url: string): Promise<Ferry> {
  return openFerry(loadConfig({ FERRY_HOME: home, FERRY_DATABASE_URL: url }));
}

/** Run queries on the test database outside Ferry. */
async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

registrySuite('postgres', async () => {
  const home = tempDir('ferry-pg-');
  const schema = await pgSchema('ferry_reg');
  try {
    const app = await openSchema(home.dir, schema.url);
    return {
      registry: app.registry,
      store: app.registry.store,
      async cleanup() {
        await app.close();
        await schema.cleanup();
        home.cleanup();
      },
    };
  } catch (err) {
    await schema.cleanup();
    home.cleanup();
    throw err;
  }
});

describe('postgres registry: migrations and persistence', () => {
  const home = tempDir('ferry-pg-mig-');
  let schema: Awaited<ReturnType<typeof pgSchema>>;
  before(async () => { schema = await pgSchema('ferry_mig'); });
  after(async () => {
    await schema.cleanup();
    home.cleanup();
  });

  it('creates the schema and migrates it on first open, touching no other schema', async () => {
    const app = await openSchema(home.dir, schema.url);
    await app.close();
    await withClient(async (client) => {
      const tables = await client.query<{ table_schema: string; table_name: string }>(
        `select table_schema, table_name from information_schema.tables
         where table_name in ('models', 'model_versions', 'aliases', 'alias_events', 'ferry_migrations', 'ferry_migrations_lock')
           and table_schema = $1 order by table_name`, [schema.schema]);
      assert.deepEqual(tables.rows.map((r) => r.table_name), ['alias_events', 'aliases', 'ferry_migrations', 'ferry_migrations_lock', 'model_versions', 'models']);
      const applied = await client.query<{ name: string }>(`select name from "${schema.schema}".ferry_migrations order by name`);
      assert.deepEqual(applied.rows.map((r) => r.name), KNOWN_MIGRATIONS);
      const inPublic = await client.query(`select 1 from information_schema.tables where table_schema = 'public' and table_name in ('models', 'ferry_migrations')`);
      assert.equal(inPublic.rowCount, 0);
    });
  });

  it('keeps its data when re-opened, without re-running migrations', async () => {
    let app = await openSchema(home.dir, schema.url);
    await app.registry.register({ path: fixturePath('breast_mlp'), name: 'keep', actor: 'a', tags: { k: 'v' } });
    const v2 = await app.registry.register({ path: fixturePath('diabetes_regressor'), name: 'keep', actor: 'b', aliases: ['prod'] });
    await app.registry.archive('keep:1');
    await app.close();

    app = await openSchema(home.dir, schema.url);
    try {
      assert.deepEqual(await app.registry.resolve('keep@prod'), v2);
      assert.notEqual((await app.registry.resolve('keep:1')).archivedAt, null);
      assert.deepEqual((await app.registry.resolve('keep:1')).tags, { k: 'v' });
      assert.equal((await app.registry.store.aliasHistory('keep', 'prod')).length, 1);
      assert.equal((await app.registry.register({ path: fixturePath('breast_mlp'), name: 'keep', actor: 'c' })).version, 3);
    } finally {
      await app.close();
    }
    const count = await withClient((c) => c.query<{ n: string }>(`select count(*) as n from "${schema.schema}".ferry_migrations`));
    assert.equal(count.rows[0]?.n, String(KNOWN_MIGRATIONS.length));
  });

  it('keeps registries in different schemas apart, each opening while the other exists', async () => {
    const otherHome = tempDir('ferry-pg-other-');
    const other = await pgSchema('ferry_other');
    try {
      const a = await openSchema(home.dir, schema.url);
      const b = await openSchema(otherHome.dir, other.url);
      try {
        assert.equal((await b.registry.register({ path: fixturePath('iris_string'), name: 'keep', actor: 'x' })).version, 1);
        assert.equal((await a.registry.resolve('keep')).version, 3);
        assert.deepEqual((await b.registry.store.listVersions('keep')).map((v) => v.version), [1]);
        await rejectsWith(b.registry.resolve('keep@prod'), 'FERRY_E_ALIAS_NOT_FOUND');
      } finally {
        await b.close();
        await a.close();
      }
    } finally {
      await other.cleanup();
      otherHome.cleanup();
    }
  });

  it('refuses a database migrated by a newer Ferry, and leaves it as it is', async () => {
    await withClient((c) => c.query(`insert into "${schema.schema}".ferry_migrations (name, timestamp) values ($1, $2)`, ['9999_from_the_future', new Date().toISOString()]));
    await rejectsWith(openSchema(home.dir, schema.url), 'FERRY_E_REGISTRY_SCHEMA_NEWER', { migration: '9999_from_the_future' });
    await withClient(async (c) => {
      const names = await c.query<{ name: string }>(`select name from "${schema.schema}".ferry_migrations order by name`);
      assert.deepEqual(names.rows.map((r) => r.name), [...KNOWN_MIGRATIONS, '9999_from_the_future']);
      const versions = await c.query<{ n: string }>(`select count(*) as n from "${schema.schema}".model_versions where model_name = 'keep'`);
      assert.equal(versions.rows[0]?.n, '3');
    });
  });

  it('reports an unreachable server as FERRY_E_REGISTRY_UNAVAILABLE', async () => {
    // Port 1 on localhost refuses connections at once.
    await rejectsWith(openSchema(home.dir, 'postgres://postgres@127.0.0.1:1/test?schema=nowhere'), 'FERRY_E_REGISTRY_UNAVAILABLE');
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await rejectsWith(openSchema(home.dir, `${PG_URL}?schema=bad%22name`), 'FERRY_E_CONFIG_INVALID');
  });
});
