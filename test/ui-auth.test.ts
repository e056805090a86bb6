/**
 * The dashboard under `ferry serve --auth`: the page loads without a key and asks for one; the
 * JSON behind it refuses a keyless caller; a predict key reads but may not act; an admin key
 * moves an alias, recorded with the key as actor.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, noBrowser } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { startServe, type ServeProcess } from './helpers/server.js';
import { registerFixtures } from './helpers/ui.js';

describe('dashboard under --auth', { skip: noBrowser }, () => {
  const tmp = tempDir('ferry-ui-auth-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let browser: Browser;
  let server: ServeProcess;
  const keys = { predict: { id: '', key: '' }, admin: { id: '', key: '' } };

  before(async () => {
    await registerFixtures(env);
    for (const scope of ['predict', 'admin'] as const) {
      const r = await runCli(['apikey', 'create', '--name', `ui-${scope}`, '--scope', scope, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      keys[scope] = JSON.parse(r.stdout) as { id: string; key: string };
    }
    server = await startServe(env, ['--auth', '--grpc-port', 'off']);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    tmp.cleanup();
  });

  it('refuses the JSON without a key, serves the page itself', async () => {
    for (const path of ['/ferry/v1/models', '/ferry/v1/models/iris', '/ferry/v1/traffic', '/ferry/v1/batch', '/ferry/v1/streams', '/ferry/v1/alerts']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal(((await res.json()) as { code: string }).code, 'FERRY_E_UNAUTHENTICATED');
    }
    assert.equal((await fetch(`${server.url}/ui/`)).status, 200);
    const moved = await fetch(`${server.url}/ferry/v1/models/iris/aliases/champion`, { method: 'PUT', headers: { authorization: `Bearer ${keys.predict.key}`, 'content-type': 'application/json' }, body: '{"version":1}' });
    assert.equal(moved.status, 403);
  });

  it('asks for a key, reads with a predict key, acts only with an admin key (recorded as the actor)', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/ui/#/models/breast-cancer`);
    await page.getByRole('heading', { name: 'API key needed' }).waitFor();
    await page.getByLabel('API key').fill(keys.predict.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByTestId('versions-table').waitFor();
    // The logged predictions hold every caller's inputs: a predict key is told an admin key reads them, without a second key form.
    await page.getByText(/reading them needs an admin key/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Use this key' }).count(), 0);
    await page.getByLabel('Alias', { exact: true }).fill('champion');
    await page.getByLabel('Version', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Move alias' }).click();
    await page.getByText(/This key may not do that/).waitFor();
    await page.getByLabel('API key').fill(keys.admin.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('button', { name: 'Move alias' }).click();
    assert.match(await page.getByTestId('action-result').innerText(), /Moved @champion: 1 → 2/);
    const detail = await (await fetch(`${server.url}/ferry/v1/models/breast-cancer`, { headers: { authorization: `Bearer ${keys.predict.key}` } })).json() as { history: { actor: string; toVersion: number }[] };
    assert.equal(detail.history[0]?.toVersion, 2);
    assert.equal(detail.history[0]?.actor, `apikey:${keys.admin.id} (ui-admin)`);
    // The key lives in this tab's session storage only.
    assert.equal(await page.evaluate(() => (globalThis as unknown as { localStorage: { length: number } }).localStorage.length), 0);
    await page.close();
  });

  it('sets canary weights and a shadow from the Traffic page with an admin key, and the server splits as set', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/ui/#/traffic`);
    await page.getByRole('heading', { name: 'API key needed' }).first().waitFor();
    await page.getByLabel('API key').first().fill(keys.predict.key);
    await page.getByRole('button', { name: 'Use this key' }).first().click();
    await page.getByLabel('Model', { exact: true }).last().selectOption('breast-cancer');
    await page.getByLabel('Canary weights').fill('1=3, 2=1');
    await page.getByLabel('Shadow target').fill('challenger');
    await page.getByLabel('Shadow share (%)').fill('50');
    await page.getByRole('button', { name: 'Set traffic' }).click();
    await page.getByText(/This key may not do that/).waitFor();
    await page.getByLabel('API key').fill(keys.admin.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    // By keyboard: Enter in a field submits the form.
    await page.getByLabel('Shadow share (%)').press('Enter');
    assert.match(await page.getByTestId('traffic-result').innerText(), /canary 1=3 2=1; shadow challenger 50%/);
    const row = page.getByTestId('split-table').getByRole('row').filter({ hasText: 'breast-cancer' });
    await row.getByText(`apikey:${keys.admin.id} (ui-admin)`, { exact: false }).waitFor();
    const auth = { authorization: `Bearer ${keys.predict.key}`, 'content-type': 'application/json' };
    const counts: Record<string, number> = {};
    const data = Array.from({ length: 30 }, (_, i) => i / 30);
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${server.url}/v2/models/breast-cancer/infer`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data }] }) });
      assert.equal(res.status, 200);
      const v = res.headers.get('x-ferry-model-version')!;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    // Versions by number: the test before moved @champion to 2.
    assert.deepEqual(counts, { 1: 6, 2: 2 });
    const detail = await (await fetch(`${server.url}/ferry/v1/models/breast-cancer`, { headers: auth })).json() as { history: { alias: string; actor: string; note: string }[] };
    assert.deepEqual([detail.history[0]?.alias, detail.history[0]?.actor], ['(traffic)', `apikey:${keys.admin.id} (ui-admin)`]);
    await page.getByRole('button', { name: 'Clear (use ferry.yaml)' }).click();
    assert.match(await page.getByTestId('traffic-result').innerText(), /removed/);
    await page.close();
  });
});
