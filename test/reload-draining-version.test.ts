/**
 * An alias moved back to a version whose retired copy is still draining leased requests: the
 * version serves on, and the old copy's release does not close the runtime it now serves with.
 * (The loader keeps one runtime per version, so a reload while the old copy drained got that same
 * runtime back, and the drained copy then closed it: "The task has been aborted" under load.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `waited too long for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a version moved back to while its retired copy drains', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({
      register: [{ path: breast.model, name: 'bc', aliases: ['champion'] }, { path: breast.model, name: 'bc' }],
      serve: { poll_interval_ms: 50, runtime_workers: 1, models: [{ name: 'bc', versions: ['champion'] }] },
    });
  });
  after(() => srv.cleanup());

  const infer = () => postJson(`${srv.url}/v2/models/bc/versions/champion/infer`, body);
  const serves = (version: string) => async () => (await infer()).headers.get('x-ferry-model-version') === version;

  it('keeps answering after the old copy\'s last lease is released', async () => {
    const { deployments } = srv.server.context;
    assert.equal((await infer()).status, 200);
    // A request still holding version 1 when the alias moves away from it.
    const held = await deployments.acquire('bc', 'champion');
    assert.equal(held.loaded.version.version, 1);
    await srv.app.registry.setAlias('bc', 'champion', 2, 'test');
    await until(serves('2'), 'version 2 to answer');
    await srv.app.registry.setAlias('bc', 'champion', 1, 'test');
    await until(serves('1'), 'version 1 to answer again');
    held.release();
    for (let i = 0; i < 5; i++) {
      const res = await infer();
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-ferry-model-version'), '1');
    }
  });
});
