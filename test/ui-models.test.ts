/**
 * The dashboard served by `ferry serve` at /ui/, in headless Chromium, behind a reverse proxy
 * that mounts Ferry under a path prefix: the models page shows what GET /ferry/v1/models says.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, noBrowser, prefixProxy } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES, tempDir } from './helpers/env.js';
import { startServe, type ServeProcess } from './helpers/server.js';

interface ModelsPage { total: number; items: { name: string; versions: number; latest: { version: number; format: string } | null; aliases: { alias: string; version: number }[]; serving: string }[] }

describe('dashboard: models page', { skip: noBrowser }, () => {
  const tmp = tempDir('ferry-ui-models-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let browser: Browser;
  let server: ServeProcess;
  let proxy: { url: string; close(): Promise<void> };

  before(async () => {
    for (const [name, dir, aliases] of [['breast-cancer', 'breast_mlp', ['champion']], ['breast-cancer', 'breast_mlp', ['challenger']], ['iris', 'iris_string', ['champion']]] as const) {
      const extra = dir === 'iris_string' ? ['--input-columns', 'sepal=sepal_length,sepal_width', '--input-columns', 'petal_size=petal_size'] : [];
      const r = await runCli(['register', join(FIXTURES, dir, 'model.onnx'), '--name', name, '--description', `${dir} fixture`, ...extra, ...aliases.flatMap((a) => ['--alias', a])], env);
      assert.equal(r.code, 0, r.stderr);
    }
    server = await startServe(env, ['--grpc-port', 'off']);
    proxy = await prefixProxy(server.url, '/tools/ferry');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
    tmp.cleanup();
  });

  it('GET /ferry/v1/models pages the registry with aliases, latest version and serving state', async () => {
    const page = await (await fetch(`${server.url}/ferry/v1/models?limit=1`)).json() as ModelsPage;
    assert.equal(page.total, 2);
    assert.equal(page.items.length, 1);
    const [bc] = page.items;
    assert.equal(bc?.name, 'breast-cancer');
    assert.equal(bc?.versions, 2);
    assert.deepEqual(bc?.latest?.version, 2);
    assert.equal(bc?.latest?.format, 'onnx');
    assert.deepEqual(bc?.aliases, [{ alias: 'challenger', version: 2 }, { alias: 'champion', version: 1 }]);
    assert.equal(bc?.serving, 'ready');
    const second = await (await fetch(`${server.url}/ferry/v1/models?limit=1&offset=1`)).json() as ModelsPage;
    assert.equal(second.items[0]?.name, 'iris');
    const searched = await (await fetch(`${server.url}/ferry/v1/models?search=IRIS_str`)).json() as ModelsPage;
    assert.deepEqual(searched.items.map((m) => m.name), ['iris']);
  });

  it('/ui redirects relatively and the page renders the models behind a path prefix', async () => {
    const redirect = await fetch(`${proxy.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), 'ui/');
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('response', (r) => { if (r.status() === 404) outside.push(r.url()); });
    await page.goto(`${proxy.url}/ui/`);
    const table = page.getByTestId('models-table');
    await table.getByRole('link', { name: 'breast-cancer' }).waitFor();
    const bc = table.getByRole('row').filter({ hasText: 'breast-cancer' });
    assert.match(await bc.innerText(), /champion → 1/);
    assert.match(await bc.innerText(), /challenger → 2/);
    assert.match(await bc.innerText(), /onnx/);
    assert.match(await bc.innerText(), /ready/);
    await page.getByLabel('Search').fill('iris');
    await table.getByRole('row').filter({ hasText: 'breast-cancer' }).waitFor({ state: 'detached' });
    assert.equal(await table.getByRole('link', { name: 'iris' }).count(), 1);
    assert.deepEqual(outside, []);
    await page.close();
  });
});
