/**
 * The registry contract, run against every RegistryStore (registry-sqlite.test.ts,
 * registry-postgres.test.ts): the store itself and the Registry service over it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFerryError, type ErrorCode } from '../src/core/errors.js';
import type { ModelSignature } from '../src/core/signature.js';
import { Registry } from '../src/registry/registry.js';
import type { RegistryStore } from '../src/registry/store.js';
import type { ModelVersion } from '../src/registry/types.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { FIXTURES, tempDir } from './helpers/env.js';
import { readTests } from './registry-reads.suite.js';

/** A fresh, empty registry (its own SQLite home or PostgreSQL schema). */
export interface OpenedRegistry {
  readonly registry: Registry;
  readonly store: RegistryStore;
  cleanup(): Promise<void>;
}

export const FIXTURE_NAMES = ['breast_mlp', 'diabetes_regressor', 'digits_cnn', 'iris_string', 'wine_two_inputs'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export function fixturePath(name: FixtureName): string {
  return join(FIXTURES, name, 'model.onnx');
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The signature a fixture declares in its meta.json (what the ONNX file must yield). */
function metaSignature(name: FixtureName): ModelSignature {
  const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as ModelSignature;
  return { inputs: meta.inputs, outputs: meta.outputs };
}

/** Assert that `promise` rejects with a FerryError of `code` (and, if given, these params). */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, params?: Record<string, unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFerryError(err), `expected a FerryError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    for (const [k, v] of Object.entries(params ?? {})) assert.equal(err.params[k], v, `param ${k} of ${code}`);
    return true;
  });
}

function isIso(s: string): boolean {
  return new Date(s).toISOString() === s;
}

export const versionNumbers = (vs: readonly ModelVersion[]): number[] => vs.map((v) => v.version);

/** Opens a fresh registry for one describe block (before/after hooks of that block). */
export type FreshRegistry = () => { get: () => OpenedRegistry };

export function registrySuite(name: string, open: () => Promise<OpenedRegistry>): void {
  /** Open a fresh registry for one describe block. */
  function fresh(): { get: () => OpenedRegistry } {
    let opened: OpenedRegistry | undefined;
    before(async () => { opened = await open(); });
    after(async () => { await opened?.cleanup(); });
    return { get: () => opened ?? assert.fail('registry not opened') };
  }

  describe(`registry contract: ${name}`, () => {
    describe('models', () => {
      const r = fresh();

      it('creates a model once and updates description and tags on upsert', async () => {
        const { store } = r.get();
        assert.equal(await store.getModel('churn'), undefined);
        const created = await store.upsertModel('churn', { description: 'Churn model', tags: { team: 'growth' } });
        assert.equal(created.name, 'churn');
        assert.equal(created.description, 'Churn model');
        assert.deepEqual(created.tags, { team: 'growth' });
        assert.equal(created.lastVersion, 0);
        assert.ok(isIso(created.createdAt) && isIso(created.updatedAt));

        // Only the given fields change; the model stays unique.
        const retagged = await store.upsertModel('churn', { tags: { team: 'risk', tier: '1' } });
        assert.equal(retagged.description, 'Churn model');
        assert.deepEqual(retagged.tags, { team: 'risk', tier: '1' });
        assert.equal(retagged.createdAt, created.createdAt);
        assert.ok(retagged.updatedAt >= created.updatedAt);
        const redescribed = await store.upsertModel('churn', { description: 'Churn v2' });
        assert.deepEqual(redescribed.tags, { team: 'risk', tier: '1' });
        assert.equal(redescribed.description, 'Churn v2');

        assert.deepEqual((await store.listModels()).map((m) => m.name), ['churn']);
        assert.deepEqual(await store.getModel('churn'), redescribed);
      });

      it('creates the model with the first version\'s description, and keeps it afterwards', async () => {
        const { registry, store } = r.get();
        await registry.register({ path: fixturePath('diabetes_regressor'), name: 'diab', description: 'first', actor: 'a' });
        await registry.register({ path: fixturePath('diabetes_regressor'), name: 'diab', description: 'second', actor: 'a' });
        const model = await store.getModel('diab');
        assert.equal(model?.description, 'first');
        assert.equal(model?.lastVersion, 2);
        assert.deepEqual((await store.listVersions('diab')).map((v) => v.description), ['first', 'second']);
      });

      it('refuses invalid model and alias names before touching anything', async () => {
        const { registry, store } = r.get();
        for (const bad of ['bad name', '-leading', 'a/b', 'x'.repeat(129), '', 'm:1', 'm@a']) {
          await rejectsWith(registry.register({ path: fixturePath('breast_mlp'), name: bad, actor: 'a' }), 'FERRY_E_NAME_INVALID', { kind: 'Model', name: bad });
        }
        for (const bad of ['123', 'has space', '@x', '.dot']) {
          await rejectsWith(registry.register({ path: fixturePath('breast_mlp'), name: 'okname', aliases: [bad], actor: 'a' }), 'FERRY_E_NAME_INVALID', { kind: 'Alias', name: bad });
        }
        assert.equal(await store.getModel('okname'), undefined);
        // 128 characters is the limit, and is allowed.
        const long = `m${'x'.repeat(127)}`;
        const v = await registry.register({ path: fixturePath('breast_mlp'), name: long, actor: 'a' });
        assert.equal(v.model, long);
      });
    });

    describe('versions', () => {
      const r = fresh();

      it('numbers versions 1, 2, 3… per model, independently of other models', async () => {
        const { registry } = r.get();
        const reg = (model: string) => registry.register({ path: fixturePath('breast_mlp'), name: model, actor: 't' });
        assert.equal((await reg('a')).version, 1);
        assert.equal((await reg('a')).version, 2);
        assert.equal((await reg('b')).version, 1);
        assert.equal((await reg('a')).version, 3);
        assert.equal((await reg('b')).version, 2);
        assert.deepEqual(versionNumbers(await registry.store.listVersions('a')), [1, 2, 3]);
        assert.deepEqual(versionNumbers(await registry.store.listVersions('b')), [1, 2]);
      });

      it('never reuses a number after a delete, even of the latest or only version', async () => {
        const { registry, store } = r.get();
        const reg = () => registry.register({ path: fixturePath('diabetes_regressor'), name: 'del', actor: 't' });
        await reg();
        await reg();
        await reg();
        await registry.deleteVersion('del', 3);
        assert.equal((await reg()).version, 4);
        await registry.deleteVersion('del', 1);
        assert.deepEqual(versionNumbers(await store.listVersions('del')), [2, 4]);
        await registry.deleteVersion('del', 2);
        await registry.deleteVersion('del', 4);
        assert.deepEqual(await store.listVersions('del', { includeArchived: true }), []);
        assert.equal((await store.getModel('del'))?.lastVersion, 4);
        assert.equal((await reg()).version, 5);
        await rejectsWith(registry.resolve('del:4'), 'FERRY_E_VERSION_NOT_FOUND', { model: 'del', version: 4 });
        await rejectsWith(registry.deleteVersion('del', 4), 'FERRY_E_VERSION_NOT_FOUND');
        await rejectsWith(registry.deleteVersion('nope', 1), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
      });

      it('stores every field of a registered version and returns it unchanged on every read', async () => {
        const { registry, store } = r.get();
        const path = fixturePath('wine_two_inputs');
        const bytes = readFileSync(path);
        const numeric = Array.from({ length: 12 }, (_, i) => `f${i}`);
        const t0 = new Date().toISOString();
        const parent = await registry.register({ path, name: 'wine', actor: 'alice' });
        const v = await registry.register({
          path,
          name: 'wine',
          inputColumns: { numeric, bucket: ['bucket_col'] },
          metrics: { auc: 0.9731, logloss: 0.125, n: 1000 },
          params: { max_depth: '6', solver: 'adam' },
          tags: { stage: 'candidate', 'team.name': 'ml-ops' },
          lineage: { trainingData: 's3://bucket/wine/2024-05-01.parquet', code: 'git:abc123', parentVersion: parent.version },
          description: 'Wine classifier, two inputs — “unicode” ok',
          actor: 'bob',
        });
        const t1 = new Date().toISOString();
        assert.equal(v.model, 'wine');
        assert.equal(v.version, 2);
        assert.equal(v.digest, sha256(bytes));
        assert.equal(v.size, bytes.byteLength);
        assert.equal(v.format, 'onnx');
        const expected = metaSignature('wine_two_inputs');
        assert.deepEqual(v.signature, {
          inputs: [{ ...expected.inputs[0]!, columns: numeric }, { ...expected.inputs[1]!, columns: ['bucket_col'] }],
          outputs: expected.outputs,
        });
        assert.deepEqual(v.metrics, { auc: 0.9731, logloss: 0.125, n: 1000 });
        assert.deepEqual(v.params, { max_depth: '6', solver: 'adam' });
        assert.deepEqual(v.tags, { stage: 'candidate', 'team.name': 'ml-ops' });
        assert.deepEqual(v.lineage, { trainingData: 's3://bucket/wine/2024-05-01.parquet', code: 'git:abc123', parentVersion: 1 });
        assert.equal(v.description, 'Wine classifier, two inputs — “unicode” ok');
        assert.equal(v.createdBy, 'bob');
        assert.ok(isIso(v.createdAt), v.createdAt);
        assert.ok(v.createdAt >= t0 && v.createdAt <= t1, `${t0} <= ${v.createdAt} <= ${t1}`);
        assert.equal(v.archivedAt, null);
        assert.deepEqual(v.aliases, []);

        // The same through every read path.
        assert.deepEqual(await store.getVersion('wine', 2), v);
        assert.deepEqual(await store.latestVersion('wine'), v);
        assert.deepEqual(await registry.resolve('wine:2'), v);
        assert.deepEqual((await store.listVersions('wine'))[1], v);
        // The version without options has empty maps, no lineage and the plain signature.
        assert.deepEqual(parent.signature, expected);
        assert.deepEqual([parent.metrics, parent.params, parent.tags, parent.lineage, parent.description], [{}, {}, {}, {}, '']);
        assert.equal(parent.createdBy, 'alice');
        // The artifact is stored under its digest and verified on read.
        assert.deepEqual(Buffer.from(await registry.loadArtifact(v)), bytes);
      });

      it('round-trips a version created directly through the store', async () => {
        const { store } = r.get();
        const signature: ModelSignature = {
          inputs: [{ name: 'x', dtype: 'float64', shape: [-1, 3], columns: ['a', 'b', 'c'], nullable: true }],
          outputs: [{ name: 'y', dtype: 'string', shape: [-1] }],
        };
        const big = 5_000_000_000; // beyond 32 bits: the size column is a bigint
        const v = await store.createVersion({
          model: 'direct',
          digest: `sha256:${'ab'.repeat(32)}`,
          size: big,
          format: 'onnx',
          signature,
          metrics: { r2: -0.5 },
          params: { empty: '' },
          tags: { k: 'v' },
          lineage: { parentVersion: 7 },
          description: 'd',
          modelDescription: 'model d',
          createdBy: 'carol',
          aliases: ['prod', 'canary'],
        });
        assert.equal(v.version, 1);
        assert.equal(v.size, big);
        assert.deepEqual(v.signature, signature);
        assert.deepEqual(v.lineage, { parentVersion: 7 });
        assert.deepEqual(v.params, { empty: '' });
        assert.deepEqual(v.aliases, ['canary', 'prod']);
        assert.equal((await store.getModel('direct'))?.description, 'model d');
        assert.deepEqual(await store.getVersion('direct', 1), v);
        assert.equal(await store.getVersion('direct', 2), undefined);
        assert.equal(await store.getVersion('nope', 1), undefined);
        assert.equal(await store.latestVersion('nope'), undefined);
      });

      it('rolls back a createVersion that fails inside its transaction: no model, no counter bump', async () => {
        const { store } = r.get();
        const poisoned = { m: 10n } as unknown as Record<string, number>; // JSON.stringify throws on BigInt
        const input = { model: 'poison', digest: `sha256:${'cd'.repeat(32)}`, size: 1, format: 'onnx', signature: { inputs: [], outputs: [] }, createdBy: 't' };
        await assert.rejects(store.createVersion({ ...input, metrics: poisoned }));
        assert.equal(await store.getModel('poison'), undefined);
        assert.equal((await store.createVersion(input)).version, 1);
        await assert.rejects(store.createVersion({ ...input, metrics: poisoned, aliases: ['prod'] }));
        assert.equal((await store.getModel('poison'))?.lastVersion, 1);
        assert.equal(await store.getAlias('poison', 'prod'), undefined);
        assert.equal((await store.createVersion(input)).version, 2);
      });

      it('allocates distinct consecutive numbers to concurrent createVersion calls', async () => {
        const { store } = r.get();
        const input = { model: 'parallel', digest: `sha256:${'ef'.repeat(32)}`, size: 1, format: 'onnx', signature: { inputs: [], outputs: [] }, createdBy: 't' };
        const created = await Promise.all(Array.from({ length: 12 }, () => store.createVersion(input)));
        assert.deepEqual(versionNumbers(created).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
        assert.deepEqual(versionNumbers(await store.listVersions('parallel')), Array.from({ length: 12 }, (_, i) => i + 1));
        assert.equal((await store.getModel('parallel'))?.lastVersion, 12);
      });
    });

    describe('aliases', () => {
      const r = fresh();
      before(async () => {
        const { registry } = r.get();
        for (let i = 0; i < 3; i++) await registry.register({ path: fixturePath('breast_mlp'), name: 'm', actor: 'setup' });
        await registry.register({ path: fixturePath('breast_mlp'), name: 'other', actor: 'setup' });
      });

      it('sets, moves and deletes an alias, recording who, when, from and to (newest first)', async () => {
        const { registry, store } = r.get();
        const set = await registry.setAlias('m', 'prod', 1, 'alice');
        assert.deepEqual([set.model, set.alias, set.fromVersion, set.toVersion, set.actor], ['m', 'prod', null, 1, 'alice']);
        assert.ok(isIso(set.at));
        const alias = await store.getAlias('m', 'prod');
        assert.deepEqual([alias?.version, alias?.updatedBy, alias?.updatedAt], [1, 'alice', set.at]);

        const moved = await registry.setAlias('m', 'prod', '2', 'bob');
        assert.deepEqual([moved.fromVersion, moved.toVersion, moved.actor], [1, 2, 'bob']);
        assert.deepEqual((await store.getAlias('m', 'prod'))?.updatedBy, 'bob');
        assert.deepEqual((await registry.resolve('m@prod')).version, 2);
        assert.deepEqual((await store.getVersion('m', 2))?.aliases, ['prod']);
        assert.deepEqual((await store.getVersion('m', 1))?.aliases, []);

        const removed = await store.deleteAlias('m', 'prod', 'carol');
        assert.deepEqual([removed.fromVersion, removed.toVersion, removed.actor], [2, null, 'carol']);
        assert.equal(await store.getAlias('m', 'prod'), undefined);
        await rejectsWith(registry.resolve('m@prod'), 'FERRY_E_ALIAS_NOT_FOUND', { model: 'm', alias: 'prod' });
        await rejectsWith(store.deleteAlias('m', 'prod', 'carol'), 'FERRY_E_ALIAS_NOT_FOUND');

        const history = await store.aliasHistory('m', 'prod');
        assert.deepEqual(history.map((e) => [e.fromVersion, e.toVersion, e.actor]), [[2, null, 'carol'], [1, 2, 'bob'], [null, 1, 'alice']]);
        assert.deepEqual(history.map((e) => e.id), [removed.id, moved.id, set.id]);
        assert.ok(history[0]!.id > history[1]!.id && history[1]!.id > history[2]!.id);
        assert.ok(history[0]!.at >= history[1]!.at && history[1]!.at >= history[2]!.at);
        assert.deepEqual(history[2], set);
      });

      it('lists aliases by name and filters history per alias', async () => {
        const { registry, store } = r.get();
        await registry.setAlias('m', 'staging', 3, 'dave');
        await registry.setAlias('m', 'blue', 'm@staging', 'dave');
        await registry.setAlias('other', 'staging', 1, 'dave');
        assert.deepEqual((await store.listAliases('m')).map((a) => [a.alias, a.version]), [['blue', 3], ['staging', 3]]);
        assert.deepEqual((await store.getVersion('m', 3))?.aliases, ['blue', 'staging']);
        assert.deepEqual((await store.aliasHistory('m', 'staging')).map((e) => e.alias), ['staging']);
        const all = await store.aliasHistory('m');
        assert.deepEqual(all.slice(0, 2).map((e) => e.alias), ['blue', 'staging']);
        assert.deepEqual(await store.aliasHistory('m', undefined, 2), all.slice(0, 2));
        assert.ok(all.every((e) => e.model === 'm'));
        assert.deepEqual((await store.aliasHistory('other')).map((e) => [e.alias, e.toVersion]), [['staging', 1]]);
        assert.deepEqual(await store.listAliases('nope'), []);
        assert.deepEqual(await store.aliasHistory('nope'), []);
      });

      it('refuses alias targets that do not exist or belong to another model', async () => {
        const { registry } = r.get();
        await rejectsWith(registry.setAlias('m', 'x', 9, 'e'), 'FERRY_E_VERSION_NOT_FOUND', { model: 'm', version: 9 });
        await rejectsWith(registry.setAlias('nope', 'x', 1, 'e'), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
        await rejectsWith(registry.setAlias('m', 'x', 'other:1', 'e'), 'FERRY_E_ALIAS_TARGET_INVALID');
        await rejectsWith(registry.setAlias('m', '42', 1, 'e'), 'FERRY_E_NAME_INVALID', { kind: 'Alias' });
        await rejectsWith(registry.setAlias('m', 'x', 'm@missing', 'e'), 'FERRY_E_ALIAS_NOT_FOUND');
        await rejectsWith(r.get().store.setAlias('m', 'x', 9, 'e'), 'FERRY_E_VERSION_NOT_FOUND');
        assert.equal(await r.get().store.getAlias('m', 'x'), undefined);
      });

      it('rolls an alias back to its previous version, and refuses when there is none', async () => {
        const { registry, store } = r.get();
        await registry.setAlias('m', 'live', 1, 'alice');
        await rejectsWith(registry.rollbackAlias('m', 'live', 'zed'), 'FERRY_E_ROLLBACK_UNAVAILABLE', { model: 'm', alias: 'live' });
        assert.equal((await store.getAlias('m', 'live'))?.version, 1);
        await registry.setAlias('m', 'live', 3, 'bob');
        const rolled = await registry.rollbackAlias('m', 'live', 'zed');
        assert.deepEqual([rolled.fromVersion, rolled.toVersion, rolled.actor, rolled.note], [3, 1, 'zed', 'rollback from 3']);
        assert.equal((await registry.resolve('m@live')).version, 1);
        assert.deepEqual((await store.aliasHistory('m', 'live')).map((e) => e.toVersion), [1, 3, 1]);
        await rejectsWith(registry.rollbackAlias('m', 'never-set', 'zed'), 'FERRY_E_ALIAS_NOT_FOUND', { model: 'm', alias: 'never-set' });
        await rejectsWith(registry.rollbackAlias('nope', 'live', 'zed'), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
      });

      it('sets aliases given at registration in the same call, moving existing ones', async () => {
        const { registry, store } = r.get();
        const v1 = await registry.register({ path: fixturePath('digits_cnn'), name: 'reg', aliases: ['prod', 'canary'], actor: 'ci' });
        assert.deepEqual(v1.aliases, ['canary', 'prod']);
        assert.equal((await registry.resolve('reg@prod')).version, 1);
        const events = await store.aliasHistory('reg');
        assert.deepEqual(events.map((e) => [e.alias, e.fromVersion, e.toVersion, e.actor, e.note]).sort(), [
          ['canary', null, 1, 'ci', 'set at registration'],
          ['prod', null, 1, 'ci', 'set at registration'],
        ]);
        const v2 = await registry.register({ path: fixturePath('digits_cnn'), name: 'reg', aliases: ['prod'], actor: 'ci2' });
        assert.deepEqual(v2.aliases, ['prod']);
        assert.deepEqual((await store.getVersion('reg', 1))?.aliases, ['canary']);
        const last = (await store.aliasHistory('reg', 'prod'))[0];
        assert.deepEqual([last?.fromVersion, last?.toVersion, last?.actor], [1, 2, 'ci2']);
        // …so a bad release can be rolled back.
        await registry.rollbackAlias('reg', 'prod', 'oncall');
        assert.equal((await registry.resolve('reg@prod')).version, 1);
      });
    });

    describe('archiving', () => {
      const r = fresh();
      before(async () => {
        const { registry } = r.get();
        for (let i = 0; i < 3; i++) await registry.register({ path: fixturePath('iris_string'), name: 'arc', actor: 'setup' });
      });

      it('skips an archived version in latest resolution, but keeps it resolvable by number', async () => {
        const { registry, store } = r.get();
        const archived = await registry.archive('arc:3');
        assert.ok(archived.archivedAt && isIso(archived.archivedAt));
        assert.equal((await registry.resolve('arc')).version, 2);
        assert.equal((await store.latestVersion('arc'))?.version, 2);
        const byNumber = await registry.resolve('arc:3');
        assert.equal(byNumber.archivedAt, archived.archivedAt);
        assert.deepEqual(versionNumbers(await store.listVersions('arc')), [1, 2]);
        assert.deepEqual(versionNumbers(await store.listVersions('arc', { includeArchived: true })), [1, 2, 3]);

        const restored = await registry.archive('arc:3', true);
        assert.equal(restored.archivedAt, null);
        assert.equal((await registry.resolve('arc')).version, 3);
        assert.deepEqual(versionNumbers(await store.listVersions('arc')), [1, 2, 3]);
      });

      it('archives the latest live version when given a bare name', async () => {
        const { registry } = r.get();
        assert.equal((await registry.archive('arc')).version, 3);
        assert.equal((await registry.archive('arc')).version, 2);
        assert.equal((await registry.resolve('arc')).version, 1);
        await registry.archive('arc:2', true);
        await registry.archive('arc:3', true);
        assert.equal((await registry.resolve('arc')).version, 3);
      });

      it('refuses to archive or delete a version an alias points at', async () => {
        const { registry, store } = r.get();
        await registry.setAlias('arc', 'prod', 2, 'alice');
        await rejectsWith(registry.archive('arc:2'), 'FERRY_E_ALIAS_IN_USE', { model: 'arc', version: 2, action: 'archived', aliases: '"prod"' });
        await rejectsWith(registry.archive('arc@prod'), 'FERRY_E_ALIAS_IN_USE');
        await rejectsWith(registry.deleteVersion('arc', 2), 'FERRY_E_ALIAS_IN_USE', { model: 'arc', version: 2, action: 'deleted' });
        const v2 = await store.getVersion('arc', 2);
        assert.ok(v2);
        assert.equal(v2.archivedAt, null);
        assert.ok(await registry.artifacts.has(v2.digest));
        // Once the alias moves away, both are allowed.
        await registry.setAlias('arc', 'prod', 1, 'alice');
        assert.ok((await registry.archive('arc:2')).archivedAt);
        await registry.archive('arc:2', true);
      });

      it('refuses to point an alias at an archived version', async () => {
        const { registry, store } = r.get();
        await registry.archive('arc:3');
        await rejectsWith(registry.setAlias('arc', 'canary', 3, 'bob'), 'FERRY_E_VERSION_ARCHIVED', { model: 'arc', version: 3 });
        await rejectsWith(store.setAlias('arc', 'canary', 3, 'bob'), 'FERRY_E_VERSION_ARCHIVED');
        assert.equal(await store.getAlias('arc', 'canary'), undefined);
        assert.deepEqual(await store.aliasHistory('arc', 'canary'), []);
        await registry.archive('arc:3', true);
        assert.equal((await registry.setAlias('arc', 'canary', 3, 'bob')).toVersion, 3);
      });

      it('fails with FERRY_E_NO_LIVE_VERSION when every version is archived', async () => {
        const { registry, store } = r.get();
        for (const v of await store.listVersions('arc')) for (const a of v.aliases) await store.deleteAlias('arc', a, 'cleanup');
        for (const v of [1, 2, 3]) await registry.archive(`arc:${v}`);
        await rejectsWith(registry.resolve('arc'), 'FERRY_E_NO_LIVE_VERSION', { model: 'arc' });
        await rejectsWith(registry.archive('arc'), 'FERRY_E_NO_LIVE_VERSION');
        assert.equal(await store.latestVersion('arc'), undefined);
        assert.deepEqual(await store.listVersions('arc'), []);
        assert.equal((await registry.resolve('arc:1')).version, 1);
        // A model with no version at all is in the same state.
        await store.upsertModel('empty', {});
        await rejectsWith(registry.resolve('empty'), 'FERRY_E_NO_LIVE_VERSION', { model: 'empty' });
      });

      it('reports missing models and versions precisely', async () => {
        const { registry } = r.get();
        await rejectsWith(registry.archive('arc:9'), 'FERRY_E_VERSION_NOT_FOUND', { model: 'arc', version: 9 });
        await rejectsWith(registry.archive('nope:1'), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
        await rejectsWith(registry.archive('nope'), 'FERRY_E_MODEL_NOT_FOUND');
      });
    });


    readTests(fresh);

    describe('artifacts and registration atomicity', () => {
      const r = fresh();
      const dir = tempDir('ferry-badfiles-');
      after(() => dir.cleanup());
      const file = (name: string, bytes: Uint8Array): string => {
        const path = join(dir.dir, name);
        writeFileSync(path, bytes);
        return path;
      };

      /** A Registry over the same stores whose createVersion fails after the blob was written. */
      function failingRegistry(base: Registry): Registry {
        const store = new Proxy(base.store, {
          get(target, prop) {
            if (prop === 'createVersion') return () => Promise.reject(new Error('simulated metadata failure'));
            const value: unknown = Reflect.get(target, prop, target);
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
        return new Registry(store, base.artifacts, new RuntimeCatalog().inspector({}));
      }

      it('reuses one blob for the same bytes, and tracks which digests are referenced', async () => {
        const { registry, store } = r.get();
        const bytes = readFileSync(fixturePath('breast_mlp'));
        const a1 = await registry.register({ path: fixturePath('breast_mlp'), name: 'same-a', actor: 't' });
        const a2 = await registry.register({ path: fixturePath('breast_mlp'), name: 'same-a', actor: 't' });
        const b1 = await registry.register({ path: fixturePath('breast_mlp'), name: 'same-b', actor: 't' });
        assert.equal(a1.digest, sha256(bytes));
        assert.equal(a2.digest, a1.digest);
        assert.equal(b1.digest, a1.digest);
        assert.deepEqual(await registry.artifacts.list(), [a1.digest]);
        assert.equal(await store.isDigestReferenced(a1.digest), true);
        assert.equal(await store.isDigestReferenced(sha256(Buffer.from('never stored'))), false);

        // Deleting versions keeps the blob while any version of any model uses it.
        await registry.deleteVersion('same-a', 1);
        await registry.deleteVersion('same-a', 2);
        assert.ok(await registry.artifacts.has(a1.digest));
        assert.equal(await store.isDigestReferenced(a1.digest), true);
        assert.deepEqual(Buffer.from(await registry.loadArtifact(b1)), bytes);
        await registry.deleteVersion('same-b', 1);
        assert.equal(await store.isDigestReferenced(a1.digest), false);
        assert.equal(await registry.artifacts.has(a1.digest), false);
        assert.deepEqual(await registry.artifacts.list(), []);
      });

      it('leaves no version and no orphan blob when the metadata write fails', async () => {
        const { registry, store } = r.get();
        const failing = failingRegistry(registry);
        const before = await registry.artifacts.list();
        await assert.rejects(failing.register({ path: fixturePath('digits_cnn'), name: 'atomic', aliases: ['prod'], actor: 't' }), /simulated metadata failure/);
        assert.deepEqual(await registry.artifacts.list(), before);
        assert.equal(await registry.artifacts.has(sha256(readFileSync(fixturePath('digits_cnn')))), false);
        assert.equal(await store.getModel('atomic'), undefined);
        assert.equal(await store.getAlias('atomic', 'prod'), undefined);
        // Nothing was consumed: the next registration is version 1.
        assert.equal((await registry.register({ path: fixturePath('digits_cnn'), name: 'atomic', actor: 't' })).version, 1);
      });

      it('keeps a blob another version uses when a registration of the same bytes fails', async () => {
        const { registry, store } = r.get();
        const v1 = await registry.register({ path: fixturePath('iris_string'), name: 'shared', actor: 't' });
        const before = await registry.artifacts.list();
        await assert.rejects(failingRegistry(registry).register({ path: fixturePath('iris_string'), name: 'shared', actor: 't' }), /simulated/);
        assert.deepEqual((await registry.artifacts.list()).sort(), before.sort());
        assert.deepEqual(versionNumbers(await store.listVersions('shared', { includeArchived: true })), [1]);
        assert.deepEqual(Buffer.from(await registry.loadArtifact(v1)), readFileSync(fixturePath('iris_string')));
      });

      it('refuses files that are not models, leaving the registry unchanged', async () => {
        const { registry, store } = r.get();
        const modelsBefore = await store.listModels();
        const blobsBefore = (await registry.artifacts.list()).sort();
        const onnx = readFileSync(fixturePath('breast_mlp'));
        const cases: [string, () => Promise<unknown>, ErrorCode, Record<string, unknown>?][] = [
          ['random bytes', () => registry.register({ path: file('random.bin', Buffer.from('this is not a model, just text\n'.repeat(20))), name: 'bad', actor: 't' }), 'FERRY_E_ARTIFACT_FORMAT_UNKNOWN'],
          ['empty file', () => registry.register({ path: file('empty.onnx', new Uint8Array()), name: 'bad', actor: 't' }), 'FERRY_E_ARTIFACT_FORMAT_UNKNOWN', { detail: 'the file is empty' }],
          ['truncated pickle', () => registry.register({ path: file('model.pkl', Uint8Array.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x08])), name: 'bad', actor: 't' }), 'FERRY_E_ARTIFACT_INVALID'],
          ['pickle naming os.system', () => registry.register({ path: file('evil.pkl', Buffer.from("cos\nsystem\n(S'true'\ntR.", 'latin1')), name: 'bad', actor: 't' }), 'FERRY_E_PICKLE_GLOBAL_REFUSED', { global: 'os.system' }],
          ['zip / .pt', () => registry.register({ path: file('model.pt', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0])), name: 'bad', actor: 't' }), 'FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED'],
          ['empty file as onnx', () => registry.register({ path: file('empty2.onnx', new Uint8Array()), name: 'bad', format: 'onnx', actor: 't' }), 'FERRY_E_ARTIFACT_INVALID', { format: 'ONNX' }],
          ['random bytes as onnx', () => registry.register({ path: file('random2.bin', Buffer.from('not onnx at all'.repeat(10))), name: 'bad', format: 'onnx', actor: 't' }), 'FERRY_E_ARTIFACT_INVALID'],
          ['truncated onnx', () => registry.register({ path: file('truncated.onnx', onnx.subarray(0, Math.floor(onnx.byteLength / 2))), name: 'bad', actor: 't' }), 'FERRY_E_ARTIFACT_INVALID'],
          ['unknown format', () => registry.register({ path: fixturePath('breast_mlp'), name: 'bad', format: 'caffe', actor: 't' }), 'FERRY_E_RUNTIME_UNAVAILABLE', { format: 'caffe' }],
          ['missing file', () => registry.register({ path: join(dir.dir, 'does-not-exist.onnx'), name: 'bad', actor: 't' }), 'FERRY_E_FILE_NOT_FOUND', { path: join(dir.dir, 'does-not-exist.onnx') }],
          ['a directory', () => registry.register({ path: dir.dir, name: 'bad', actor: 't' }), 'FERRY_E_FILE_NOT_FOUND'],
        ];
        for (const [label, attempt, code, params] of cases) {
          await rejectsWith(attempt(), code, params).catch((err: unknown) => assert.fail(`${label}: ${String(err)}`));
        }
        assert.deepEqual(await store.listModels(), modelsBefore);
        assert.equal(await store.getModel('bad'), undefined);
        assert.deepEqual((await registry.artifacts.list()).sort(), blobsBefore);
      });

      it('checks input column mappings against the model inputs', async () => {
        const { registry, store } = r.get();
        const blobsBefore = (await registry.artifacts.list()).sort();
        const reg = (fixture: FixtureName, inputColumns: Record<string, string[]>) => registry.register({ path: fixturePath(fixture), name: 'mapped', inputColumns, actor: 't' });
        await rejectsWith(reg('breast_mlp', { input: ['a', 'b', 'c'] }), 'FERRY_E_INPUT_MAPPING_INVALID');
        await rejectsWith(reg('breast_mlp', { nope: ['a'] }), 'FERRY_E_INPUT_MAPPING_INVALID');
        await rejectsWith(reg('wine_two_inputs', { bucket: ['b1', 'b2'] }), 'FERRY_E_INPUT_MAPPING_INVALID');
        await rejectsWith(reg('diabetes_regressor', { input: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'a'] }), 'FERRY_E_INPUT_MAPPING_INVALID');
        await rejectsWith(reg('digits_cnn', { image: Array.from({ length: 63 }, (_, i) => `p${i}`) }), 'FERRY_E_INPUT_MAPPING_INVALID');
        assert.equal(await store.getModel('mapped'), undefined);
        assert.deepEqual((await registry.artifacts.list()).sort(), blobsBefore);

        // A partial mapping is fine; the multi-axis image input takes 1×8×8 = 64 columns.
        const pixels = Array.from({ length: 64 }, (_, i) => `p${i}`);
        const v = await reg('digits_cnn', { image: pixels });
        assert.deepEqual(v.signature.inputs[0]?.columns, pixels);
        const w = await reg('iris_string', { petal_size: ['petal'] });
        assert.deepEqual(w.signature.inputs.map((i) => i.columns), [undefined, ['petal']]);
        assert.deepEqual((await store.getVersion('mapped', 2))?.signature, w.signature);
      });
    });
  });
}
