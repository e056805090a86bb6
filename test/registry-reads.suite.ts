/**
 * Part of the registry contract (registry.suite.ts): reads — reference resolution, listing, search
 * and the dashboard's pages of models and versions — and traffic settings, against every RegistryStore.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { TRAFFIC_HISTORY_ALIAS, type RegistryStore } from '../src/registry/store.js';
import { fixturePath, rejectsWith, sha256, versionNumbers, type FreshRegistry } from './registry.suite.js';

export function readTests(fresh: FreshRegistry): void {
  describe('reference resolution', () => {
    const r = fresh();
    before(async () => {
      const { registry } = r.get();
      await registry.register({ path: fixturePath('breast_mlp'), name: 'ref', actor: 't' });
      await registry.register({ path: fixturePath('diabetes_regressor'), name: 'ref', actor: 't', aliases: ['prod'] });
      await registry.register({ path: fixturePath('digits_cnn'), name: 'ref', actor: 't' });
    });

    it('resolves name, name:N and name@alias', async () => {
      const { registry } = r.get();
      assert.equal((await registry.resolve('ref')).version, 3);
      assert.equal((await registry.resolve('ref:1')).version, 1);
      assert.equal((await registry.resolve('ref:01')).version, 1);
      assert.equal((await registry.resolve('ref@prod')).version, 2);
      assert.equal((await registry.resolve({ kind: 'alias', model: 'ref', alias: 'prod' })).version, 2);
      assert.equal((await registry.resolve('ref@prod')).digest, sha256(readFileSync(fixturePath('diabetes_regressor'))));
    });

    it('says precisely what is missing', async () => {
      const { registry } = r.get();
      for (const ref of ['nope', 'nope:1', 'nope@prod']) await rejectsWith(registry.resolve(ref), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
      await rejectsWith(registry.resolve('ref:4'), 'FERRY_E_VERSION_NOT_FOUND', { model: 'ref', version: 4 });
      await rejectsWith(registry.resolve('ref@staging'), 'FERRY_E_ALIAS_NOT_FOUND', { model: 'ref', alias: 'staging' });
    });

    it('refuses malformed references', async () => {
      const { registry } = r.get();
      for (const ref of ['', 'ref:0', 'ref:-1', 'ref:1.5', 'ref:x', 'ref:1:2', 'ref@', '@prod', 'ref@a@b', 'ref:1@prod', 'has space', 'ref:1234567890']) {
        await rejectsWith(registry.resolve(ref), 'FERRY_E_MODEL_REF_INVALID', { ref });
      }
    });
  });

  describe('listing and search', () => {
    const r = fresh();
    before(async () => {
      const { registry, store } = r.get();
      await store.upsertModel('iris_v2', { description: 'Iris species', tags: { team: 'bio', tier: '1' } });
      await store.upsertModel('irisXv3', { description: 'lookalike', tags: { team: 'bio' } });
      await store.upsertModel('wine', { description: 'Red WINE 100% classifier', tags: { team: 'food' } });
      await store.upsertModel('Abc', {});
      await registry.register({ path: fixturePath('breast_mlp'), name: 'vers', actor: 't', tags: { stage: 'dev' } });
      await registry.register({ path: fixturePath('breast_mlp'), name: 'vers', actor: 't', tags: { stage: 'prod', owner: 'x' } });
      await registry.register({ path: fixturePath('breast_mlp'), name: 'vers', actor: 't', tags: { stage: 'prod' } });
      await registry.archive('vers:3');
    });

    it('lists models by name, searching names and descriptions case-insensitively', async () => {
      const { store } = r.get();
      // Sorted here: the order of names is the database's collation.
      const names = async (filter?: Parameters<RegistryStore['listModels']>[0]) => (await store.listModels(filter)).map((m) => m.name).sort();
      assert.deepEqual(await names(), ['Abc', 'irisXv3', 'iris_v2', 'vers', 'wine']);
      assert.deepEqual(await names({ search: 'IRIS' }), ['irisXv3', 'iris_v2']);
      assert.deepEqual(await names({ search: 'abc' }), ['Abc']);
      assert.deepEqual(await names({ search: 'red wine' }), ['wine']);
      assert.deepEqual(await names({ search: 'species' }), ['iris_v2']);
      // LIKE wildcards in the search text are literal characters.
      assert.deepEqual(await names({ search: 'iris_v' }), ['iris_v2']);
      assert.deepEqual(await names({ search: '100%' }), ['wine']);
      assert.deepEqual(await names({ search: '%' }), ['wine']);
      assert.deepEqual(await names({ search: '_' }), ['iris_v2']);
      assert.deepEqual(await names({ search: 'nothing-like-this' }), []);
    });

    it('filters models by tags (all must match) together with search', async () => {
      const { store } = r.get();
      const names = async (filter: Parameters<RegistryStore['listModels']>[0]) => (await store.listModels(filter)).map((m) => m.name).sort();
      assert.deepEqual(await names({ tags: { team: 'bio' } }), ['irisXv3', 'iris_v2']);
      assert.deepEqual(await names({ tags: { team: 'bio', tier: '1' } }), ['iris_v2']);
      assert.deepEqual(await names({ tags: { team: 'bio', tier: '2' } }), []);
      assert.deepEqual(await names({ tags: { team: 'bio' }, search: 'look' }), ['irisXv3']);
    });

    it('filters versions by archived state, tags and format', async () => {
      const { store } = r.get();
      assert.deepEqual(versionNumbers(await store.listVersions('vers')), [1, 2]);
      assert.deepEqual(versionNumbers(await store.listVersions('vers', { tags: { stage: 'prod' } })), [2]);
      assert.deepEqual(versionNumbers(await store.listVersions('vers', { tags: { stage: 'prod' }, includeArchived: true })), [2, 3]);
      assert.deepEqual(versionNumbers(await store.listVersions('vers', { tags: { stage: 'prod', owner: 'x' }, includeArchived: true })), [2]);
      assert.deepEqual(versionNumbers(await store.listVersions('vers', { format: 'onnx', includeArchived: true })), [1, 2, 3]);
      assert.deepEqual(await store.listVersions('vers', { format: 'pmml', includeArchived: true }), []);
      assert.deepEqual(await store.listVersions('nope', { includeArchived: true }), []);
    });
    it('pages models in name order with version counts, newest live version and aliases (the dashboard list)', async () => {
      const { registry, store } = r.get();
      await registry.setAlias('vers', 'prod', 2, 'pat');
      const vers = await store.modelPage({ search: 'VERS' });
      assert.equal(vers.total, 1);
      const item = vers.items[0]!;
      assert.equal(item.name, 'vers');
      assert.equal(item.versions, 3, 'archived versions count');
      assert.deepEqual({ version: item.latest?.version, format: item.latest?.format, createdBy: item.latest?.createdBy }, { version: 2, format: 'onnx', createdBy: 't' });
      assert.equal(item.latest?.digest, (await store.getVersion('vers', 2))?.digest);
      assert.deepEqual(item.aliases, [{ alias: 'prod', version: 2 }]);
      const empty = (await store.modelPage({ search: 'species' })).items[0];
      assert.deepEqual({ name: empty?.name, versions: empty?.versions, latest: empty?.latest, aliases: empty?.aliases, tags: empty?.tags }, { name: 'iris_v2', versions: 0, latest: null, aliases: [], tags: { team: 'bio', tier: '1' } });
      // Pages cover every model once, in the database's name order; total counts them all.
      const all = await store.modelPage({ limit: 200 });
      assert.equal(all.total, 5);
      const paged = [];
      for (let offset = 0; offset < 5; offset += 2) {
        const page = await store.modelPage({ offset, limit: 2 });
        assert.deepEqual([page.total, page.offset, page.limit], [5, offset, 2]);
        paged.push(...page.items.map((m) => m.name));
      }
      assert.deepEqual(paged, all.items.map((m) => m.name));
      assert.deepEqual(paged.slice().sort(), ['Abc', 'irisXv3', 'iris_v2', 'vers', 'wine']);
      // Filters: an alias, and LIKE wildcards taken literally.
      assert.deepEqual((await store.modelPage({ alias: 'prod' })).items.map((m) => m.name), ['vers']);
      assert.deepEqual((await store.modelPage({ alias: 'nope' })).total, 0);
      assert.deepEqual((await store.modelPage({ search: '_' })).items.map((m) => m.name), ['iris_v2']);
      // Limits are clamped: at most 200 a page, offsets from 0.
      const clamped = await store.modelPage({ offset: -5, limit: 10_000 });
      assert.deepEqual([clamped.offset, clamped.limit, clamped.items.length], [0, 200, 5]);
      assert.deepEqual((await store.modelPage({ offset: 10 })).items, []);
    });

    it('pages a model\'s versions newest first, archived ones only when asked, with their aliases', async () => {
      const { store } = r.get();
      const live = await store.versionPage('vers', {});
      assert.deepEqual([live.total, versionNumbers(live.items)], [2, [2, 1]]);
      assert.deepEqual(live.items.map((v) => v.aliases), [['prod'], []]);
      assert.deepEqual(live.items[1], (await store.getVersion('vers', 1)));
      const all = await store.versionPage('vers', { includeArchived: true });
      assert.deepEqual([all.total, versionNumbers(all.items)], [3, [3, 2, 1]]);
      assert.ok(all.items[0]?.archivedAt);
      const second = await store.versionPage('vers', { includeArchived: true, offset: 1, limit: 1 });
      assert.deepEqual([second.total, second.offset, second.limit, versionNumbers(second.items)], [3, 1, 1, [2]]);
      const none = await store.versionPage('nope', {});
      assert.deepEqual([none.total, none.items], [0, []]);
    });
  });

  describe('traffic settings', () => {
    const r = fresh();
    before(async () => {
      const { registry } = r.get();
      for (let i = 0; i < 3; i++) await registry.register({ path: fixturePath('breast_mlp'), name: 't', actor: 'setup' });
      await registry.setAlias('t', 'champion', 1, 'setup');
      await registry.setAlias('t', 'challenger', 2, 'setup');
      await registry.archive('t:3');
    });

    it('sets, replaces and clears a model\'s canary and shadow, each change in the alias history with its actor', async () => {
      const { registry, store } = r.get();
      assert.equal(await store.getTraffic('t'), undefined);
      const set = await registry.setTraffic('t', { canary: [{ target: 'champion', weight: 90 }, { target: 'challenger', weight: 10 }], shadow: { target: '2', share: 0.5 } }, 'alice');
      assert.deepEqual([set.model, set.alias, set.fromVersion, set.toVersion, set.actor, set.note], ['t', TRAFFIC_HISTORY_ALIAS, null, null, 'alice', 'canary champion=90 challenger=10; shadow 2 50%']);
      const stored = await store.getTraffic('t');
      assert.deepEqual({ ...stored, updatedAt: undefined }, { model: 't', canary: [{ target: 'champion', weight: 90 }, { target: 'challenger', weight: 10 }], shadow: { target: '2', share: 0.5 }, updatedBy: 'alice', updatedAt: undefined });
      assert.equal(stored?.updatedAt, set.at);
      assert.deepEqual(await store.listTraffic(), [stored]);

      const replaced = await registry.setTraffic('t', { canary: null, shadow: { target: 'latest', share: 1 } }, 'bob');
      assert.equal(replaced.note, 'canary off; shadow latest 100%');
      assert.deepEqual([(await store.getTraffic('t'))?.canary, (await store.getTraffic('t'))?.shadow, (await store.getTraffic('t'))?.updatedBy], [null, { target: 'latest', share: 1 }, 'bob']);

      const cleared = await registry.setTraffic('t', null, 'carol');
      assert.match(cleared.note ?? '', /removed/);
      assert.equal(await store.getTraffic('t'), undefined);
      assert.deepEqual(await store.listTraffic(), []);
      const history = await store.aliasHistory('t', TRAFFIC_HISTORY_ALIAS);
      assert.deepEqual(history.map((e) => e.actor), ['carol', 'bob', 'alice']);
      // Aliases are untouched by traffic changes.
      assert.deepEqual((await store.listAliases('t')).map((a) => [a.alias, a.version]), [['challenger', 2], ['champion', 1]]);
    });

    it('refuses targets that do not resolve and malformed splits, leaving the setting as it was', async () => {
      const { registry, store } = r.get();
      await registry.setTraffic('t', { canary: [{ target: 'champion', weight: 1 }], shadow: null }, 'alice');
      const before = await store.getTraffic('t');
      const route = (target: string, weight = 1) => ({ canary: [{ target, weight }], shadow: null });
      await rejectsWith(registry.setTraffic('nope', route('latest'), 'x'), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
      await rejectsWith(store.setTraffic('nope', null, 'x', 'n'), 'FERRY_E_MODEL_NOT_FOUND', { model: 'nope' });
      await rejectsWith(registry.setTraffic('t', route('missing'), 'x'), 'FERRY_E_ALIAS_NOT_FOUND', { model: 't', alias: 'missing' });
      await rejectsWith(registry.setTraffic('t', route('9'), 'x'), 'FERRY_E_VERSION_NOT_FOUND', { model: 't', version: 9 });
      await rejectsWith(registry.setTraffic('t', route('3'), 'x'), 'FERRY_E_TRAFFIC_INVALID');
      await rejectsWith(registry.setTraffic('t', { canary: null, shadow: { target: 'missing', share: 1 } }, 'x'), 'FERRY_E_ALIAS_NOT_FOUND');
      await rejectsWith(registry.setTraffic('t', route('champion', -1), 'x'), 'FERRY_E_TRAFFIC_INVALID');
      await rejectsWith(registry.setTraffic('t', route('champion', 0), 'x'), 'FERRY_E_TRAFFIC_INVALID');
      await rejectsWith(registry.setTraffic('t', route('has space'), 'x'), 'FERRY_E_TRAFFIC_INVALID');
      await rejectsWith(registry.setTraffic('t', { canary: [{ target: '1', weight: 1 }, { target: '1', weight: 2 }], shadow: null }, 'x'), 'FERRY_E_TRAFFIC_INVALID');
      await rejectsWith(registry.setTraffic('t', { canary: null, shadow: { target: 'champion', share: 1.5 } }, 'x'), 'FERRY_E_TRAFFIC_INVALID');
      assert.deepEqual(await store.getTraffic('t'), before);
      assert.equal((await store.aliasHistory('t', TRAFFIC_HISTORY_ALIAS)).length, 4);
    });
  });
}
