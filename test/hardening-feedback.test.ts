/**
 * Regression tests for ground truth anyone could rewrite (issue #18): prediction ids were a
 * per-process prefix plus a counter, and any predict key could label any prediction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { predictionIds } from '../src/monitoring/prediction-log-writer.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';

const breast = fixture('breast_mlp');

describe('prediction ids', () => {
  it('two of one\'s own ids do not give away the ids between them (62 random bits per id)', () => {
    const ids = predictionIds(2000);
    const tails = ids.map((id) => BigInt(`0x${id.slice(20, 23)}${id.slice(24)}`));
    let sequential = 0;
    for (let i = 1; i < tails.length; i++) {
      const d = (tails[i] ?? 0n) - (tails[i - 1] ?? 0n);
      if (d >= -16n && d <= 16n) sequential++;
    }
    assert.equal(sequential, 0, 'consecutive ids differ by a small step in their random part');
    // Still version 7, still ordered by time and sequence within one process.
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const heads = ids.map((id) => id.slice(0, 18));
    assert.deepEqual([...heads].sort(), heads, 'time and sequence order');
  });
});

describe('feedback needs its own scope', () => {
  let srv: InProcess;
  let predict = '';
  let feedback = '';
  let admin = '';
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], flags: { auth: true, logPredictions: true }, keys: [['predict'], ['feedback'], ['admin']] });
    [predict = '', feedback = '', admin = ''] = srv.keys;
  });
  after(() => srv.cleanup());

  it('a predict key cannot set or erase ground truth; a feedback key can', async () => {
    const res = await postJson(`${srv.url}/v2/models/bc/infer`, oneRowRequest(breast), { authorization: `Bearer ${predict}` });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-prediction-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    const label = (key: string, actual: unknown) => postJson(`${srv.url}/v1/feedback`, { prediction_id: id, actual }, { authorization: `Bearer ${key}` });
    const refused = await label(predict, 1);
    assert.equal(refused.status, 403);
    assert.match((refused.body as { error: string }).error, /"feedback" scope/);
    assert.equal((await label(predict, null)).status, 403, 'erasing is refused too');
    assert.equal((await label(feedback, 1)).status, 200);
  });

  it('a logged prediction is read by its id with a predict key; a model\'s listing of every caller\'s inputs needs an admin key', async () => {
    const res = await postJson(`${srv.url}/v2/models/bc/infer`, oneRowRequest(breast), { authorization: `Bearer ${predict}` });
    const id = res.headers.get('x-prediction-id') ?? '';
    await srv.server.context.pipeline.flush();
    const get = (path: string, key?: string) => fetch(`${srv.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    assert.equal((await get(`/ferry/v1/predictions/${id}`)).status, 401, 'no key');
    const one = await get(`/ferry/v1/predictions/${id}`, predict);
    assert.equal(one.status, 200);
    assert.equal((await one.json() as { id: string }).id, id);
    const listed = await get('/ferry/v1/models/bc/predictions', predict);
    assert.equal(listed.status, 403);
    assert.match((await listed.json() as { error: string }).error, /"admin" scope/);
    assert.equal((await get('/ferry/v1/models/bc/predictions', feedback)).status, 403);
    const all = await get('/ferry/v1/models/bc/predictions', admin);
    assert.equal(all.status, 200);
    assert.ok((await all.json() as { predictions: { id: string }[] }).predictions.some((p) => p.id === id));
  });
});
