/**
 * Every dashboard page in headless Chromium against a real `ferry serve` with fixture models,
 * real traffic (with a shadow), a batch run, a stream consumer on Redis and an alert rule:
 * each page shows what its JSON endpoint says, an alias move from the page changes what
 * /v2/models/<m> serves, and the playground answers what the REST API answers.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, noBrowser } from './helpers/browser.js';
import { redisBroker, startConsumer, uniqueName, type Consumer } from './helpers/brokers.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { startServe, postJson, type ServeProcess } from './helpers/server.js';
import { BREAST_INPUT, registerFixtures, screenshot } from './helpers/ui.js';

const rows = readFileSync(BREAST_INPUT, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(1).map(Number));
const infer = (row: number[]) => ({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', data: row }] });

describe('dashboard pages', { skip: noBrowser }, () => {
  const tmp = tempDir('ferry-ui-pages-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const broker = redisBroker();
  const names = { input: uniqueName('ui-in'), output: uniqueName('ui-out'), dead: uniqueName('ui-dead'), group: uniqueName('ui-group') };
  let browser: Browser;
  let server: ServeProcess;
  let consumer: Consumer;
  let page: Page;
  let runId = '';
  const json = async <T>(path: string): Promise<T> => (await fetch(`${server.url}${path}`)).json() as Promise<T>;

  before(async () => {
    await registerFixtures(env);
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, [
      'models:',
      '  - name: breast-cancer',
      '    route: champion',
      '    shadow: { target: challenger, share: 1 }',
      '    log: { sample: 1 }',
      '  - name: iris',
      '    route: champion',
      '  - name: breast-xgb',
      '    log: { sample: 1 }',
    ].join('\n'));
    const xgbModel = await runCli(['register', join(ROOT, 'fixtures/xgboost/breast_hist/model.json'), '--name', 'breast-xgb', '--description', 'XGBoost on the breast cancer data set'], env);
    assert.equal(xgbModel.code, 0, xgbModel.stderr);
    const alert = await runCli(['alerts', 'add', 'bc-drift', '--model', 'breast-cancer@champion', '--kind', 'drift', '--threshold', '0.5'], env);
    assert.equal(alert.code, 0, alert.stderr);
    server = await startServe(env, ['--config', config, '--grpc-port', 'off', '--watch-stream', `${broker.url(names.input)}#${names.group}`, '--alerts-interval', '0']);
    // Traffic: 20 rows through the champion (each mirrored to the challenger), one refused request.
    for (const row of rows.slice(0, 20)) assert.equal((await postJson(`${server.url}/v2/models/breast-cancer/infer`, infer(row))).status, 200);
    assert.equal((await postJson(`${server.url}/v2/models/breast-cancer/infer`, { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] })).status, 400);
    // Five explained rows of a tree model (TreeSHAP): logged with their attributions (the drift page's attributions table).
    const xgb = readMatrix(join(ROOT, 'fixtures/xgboost/breast_hist/input.csv'));
    const data = Array.from(xgb.x.subarray(0, 5 * xgb.columns.length), (v) => (Number.isNaN(v) ? null : v));
    const explained = await postJson(`${server.url}/v2/models/breast-xgb/infer`, { inputs: [{ name: 'input', shape: [5, xgb.columns.length], datatype: 'FP32', data }], parameters: { explain: true } });
    assert.equal(explained.status, 200, JSON.stringify(explained.body));
    const batch = await runCli(['batch', 'run', 'breast-cancer@champion', '-i', BREAST_INPUT, '-o', join(tmp.dir, 'scored'), '-k', 'id', '--json'], env);
    assert.equal(batch.code, 0, batch.stderr);
    runId = (JSON.parse(batch.stdout.trim().split('\n').at(-1)!) as { run: string }).run;
    consumer = await startConsumer(['breast-cancer@champion', '--from', broker.url(names.input), '--to', broker.url(names.output), '--dead-letter', broker.url(names.dead),
      '--group', names.group, '--consumer', 'ui-consumer', '--heartbeat-ms', '200', '--runtime-workers', '0'], env);
    const out = await broker.collect(names.output);
    const dead = await broker.collect(names.dead);
    const header = readFileSync(BREAST_INPUT, 'utf8').split('\n')[0]!.split(',').slice(1);
    await broker.publish(names.input, [
      ...rows.slice(0, 3).map((r, i) => JSON.stringify({ id: `m${i}`, inputs: Object.fromEntries(header.map((h, j) => [h, r[j]])) })),
      JSON.stringify({ id: 'bad', inputs: { mean_radius: 'not a number' } }),
    ]);
    await out.until((m) => m.length >= 3, 'three scored messages');
    await dead.until((m) => m.length >= 1, 'one dead letter');
    await out.close();
    await dead.close();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  after(async () => {
    await browser?.close();
    consumer?.child.kill('SIGTERM');
    await consumer?.exited;
    await server?.stop();
    await broker.cleanup([names.input, names.output, names.dead], [{ group: names.group, consumers: ['ui-consumer'] }]);
    tmp.cleanup();
  });

  const open = async (hash: string) => {
    await page.goto(`${server.url}/ui/#/${hash}`);
  };

  it('models: the list with aliases, serving state and request rate', async () => {
    await open('models');
    const row = page.getByTestId('models-table').getByRole('row').filter({ hasText: 'breast-cancer' });
    await row.getByText('ready').waitFor();
    const text = await row.innerText();
    assert.match(text, /champion → 1/);
    assert.match(text, /challenger → 2/);
    await screenshot(page, 'models');
  });

  it('model: versions with metrics, lineage and aliases, signature, profile, compare and history', async () => {
    await open('models/breast-cancer');
    const versions = page.getByTestId('versions-table');
    await versions.getByRole('row').filter({ hasText: 'accuracy = 0.963' }).waitFor();
    const v1 = await versions.getByRole('row').filter({ hasText: 'accuracy = 0.951' }).innerText();
    assert.match(v1, /champion/);
    assert.match(v1, /data: sklearn breast_cancer/);
    assert.match(await page.getByTestId('signature').innerText(), /input\s+float32/);
    const profile = await json<{ rows: number; columns: { name: string }[] }>('/ferry/v1/models/breast-cancer/versions/2/profile');
    await page.getByTestId('profile').getByRole('row').filter({ hasText: profile.columns[0]!.name }).first().waitFor();
    assert.match(await page.getByText(/rows from/).innerText(), new RegExp(`${profile.rows} rows`));
    await page.getByLabel('Compare version 1').check();
    await page.getByLabel('Compare version 2').check();
    await page.getByRole('button', { name: 'Compare answers on the reference data' }).click();
    const compared = JSON.parse((await page.getByTestId('compare-result').textContent()) ?? '') as { agreement: number; rows: number };
    assert.equal(compared.rows, 64);
    assert.equal(compared.agreement, 1, 'the same artifact registered twice answers the same');
    assert.match(await page.getByTestId('alias-history').innerText(), /set at registration/);
    // The newest logged predictions, newest first, as GET /ferry/v1/models/{m}/predictions answers them.
    const { predictions } = await json<{ predictions: { id: string }[] }>('/ferry/v1/models/breast-cancer/predictions?limit=20');
    assert.equal(predictions.length, 20);
    const newest = predictions.at(-1)!.id;
    await page.getByTestId('predictions').getByRole('row').filter({ hasText: newest }).waitFor();
    const shownIds = await page.getByTestId('predictions').locator('tbody th').allInnerTexts();
    assert.deepEqual(shownIds, predictions.map((p) => p.id).reverse());
    await screenshot(page, 'model');
  });

  it('an alias move from the page changes what /v2/models/<m> serves, recorded with its actor', async () => {
    const before = await postJson(`${server.url}/v2/models/breast-cancer/infer`, infer(rows[0]!));
    assert.equal((before.body as { model_version: string }).model_version, '1');
    await open('models/breast-cancer');
    await page.getByLabel('Alias', { exact: true }).fill('champion');
    await page.getByLabel('Version', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Move alias' }).click();
    assert.match(await page.getByTestId('action-result').innerText(), /Moved @champion: 1 → 2/);
    const afterMove = await postJson(`${server.url}/v2/models/breast-cancer/infer`, infer(rows[0]!));
    assert.equal((afterMove.body as { model_version: string }).model_version, '2');
    const { history } = await json<{ history: { alias: string; toVersion: number; actor: string }[] }>('/ferry/v1/models/breast-cancer');
    assert.deepEqual({ alias: history[0]?.alias, to: history[0]?.toVersion, actor: history[0]?.actor }, { alias: 'champion', to: 2, actor: 'api' });
    await page.getByRole('button', { name: 'Roll back' }).click();
    assert.match(await page.getByTestId('action-result').innerText(), /Rolled back @champion: 2 → 1/);
    // Version 1 was unloaded by the move: the server loads and warms it before it takes traffic again.
    for (let i = 0; ; i++) {
      const served = ((await postJson(`${server.url}/v2/models/breast-cancer/infer`, infer(rows[0]!))).body as { model_version: string }).model_version;
      if (served === '1') break;
      assert.ok(i < 600, `still serving ${served} after the rollback`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // A promotion whose gate fails says which gate, and leaves the alias.
    await page.getByLabel('Version', { exact: true }).fill('2');
    await page.getByLabel('Promotion gates').fill('accuracy >= 0.99');
    await page.getByRole('button', { name: 'Promote through gates' }).click();
    assert.match(await page.getByTestId('action-result').innerText(), /failed gate\(s\): accuracy >= 0\.99/);
  });

  it('playground: a version registered without a column mapping gets its fields and examples from the profile; the answer equals the REST answer', async () => {
    // breast-cancer was registered without --input-columns: its signature has one tensor input,
    // the reference profile knows the 30 data columns that filled it.
    const { rows: examples, inputs } = await json<{ rows: Record<string, number>[]; inputs: Record<string, string[]> }>('/ferry/v1/models/breast-cancer/versions/1/examples?n=5');
    const cols = inputs.input!;
    assert.equal(cols.length, 30);
    assert.equal(examples.length, 5);
    await open('playground/breast-cancer');
    await page.getByLabel(cols[0]!, { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Example 2' }).click();
    assert.equal(await page.getByLabel(cols[29]!, { exact: true }).inputValue(), String(examples[1]![cols[29]!]));
    await page.getByRole('button', { name: 'Predict' }).click();
    type Answer = { model_version: string; outputs: { name: string; data: unknown[] }[] };
    const fromExample = JSON.parse(await page.getByTestId('answer').innerText()) as Answer;
    const restExample = (await postJson(`${server.url}/v2/models/breast-cancer/versions/champion/infer`, infer(cols.map((c) => examples[1]![c]!)))).body as Answer;
    assert.deepEqual(fromExample.outputs.map((o) => [o.name, o.data]), restExample.outputs.map((o) => [o.name, o.data]));
    // A row typed by hand.
    const row = rows[5]!;
    for (let i = 0; i < 30; i++) await page.getByLabel(cols[i]!, { exact: true }).fill(String(row[i]));
    await page.getByRole('button', { name: 'Predict' }).click();
    const previous = JSON.stringify(fromExample, null, 2);
    let text = previous;
    for (let i = 0; text === previous; i++) {
      assert.ok(i < 100, 'the answer did not change for another row');
      await new Promise((r) => setTimeout(r, 50));
      text = await page.getByTestId('answer').innerText();
    }
    const answer = JSON.parse(text) as Answer;
    const rest = (await postJson(`${server.url}/v2/models/breast-cancer/versions/champion/infer`, infer(row))).body as Answer;
    assert.equal(answer.model_version, rest.model_version);
    assert.deepEqual(answer.outputs.map((o) => [o.name, o.data]), rest.outputs.map((o) => [o.name, o.data]));
    assert.match(await page.getByTestId('curl-MLflow').innerText(), /\/models\/breast-cancer\/invocations/);
    assert.match(await page.getByTestId('curl-KServe v1').innerText(), /\/v1\/models\/breast-cancer:predict/);
    await screenshot(page, 'playground');
  });

  it('traffic: requests, latency, errors by code and the shadow agreement, as /ferry/v1/traffic says', async () => {
    await open('traffic');
    const table = page.getByTestId('traffic-table');
    const row = table.getByRole('row').filter({ hasText: 'breast-cancer' }).filter({ hasText: 'oip-rest' }).filter({ has: page.getByRole('cell', { name: '1', exact: true }) });
    await row.first().waitFor();
    const snap = await json<{ series: { model: string; version: string; source: string; requests: number; errors: Record<string, number> }[] }>('/ferry/v1/traffic?seconds=120');
    const s = snap.series.find((x) => x.model === 'breast-cancer' && x.version === '1' && x.source === 'oip-rest');
    assert.ok(s && s.requests >= 20, JSON.stringify(snap));
    assert.match(await row.first().innerText(), new RegExp(`\\b${s.requests}\\b`));
    const refused = snap.series.find((x) => Object.keys(x.errors).some((k) => k.startsWith('400 ')));
    assert.ok(refused, 'the refused request is counted by code');
    await table.getByText(/^400 FERRY_E_/).first().waitFor();
    const split = page.getByTestId('split-table').getByRole('row').filter({ hasText: 'breast-cancer' });
    await split.getByText(/agree \d+/).waitFor();
    assert.match(await split.innerText(), /100 %/);
    await page.locator('.uplot').first().waitFor();
    await screenshot(page, 'traffic');
  });

  it('drift: the feature × window heatmap and a histogram from the logged traffic, live metrics', async () => {
    await open('drift/breast-cancer');
    const heat = page.getByTestId('drift-heatmap');
    await heat.waitFor();
    const timeline = await json<{ features: string[]; rows: number; windows: { rows: number }[] }>('/ferry/v1/models/breast-cancer/drift/timeline?window=1h&windows=12&version=2');
    const latest = await json<{ features: string[]; rows: number }>('/ferry/v1/models/breast-cancer/drift/timeline?window=1h&windows=12');
    assert.equal(latest.features.length, 30);
    assert.ok(timeline.features.length === 30);
    assert.equal(await heat.locator('tbody tr').count(), 30);
    await page.getByTestId('histogram').waitFor();
    assert.match(await page.getByTestId('live-metrics').innerText(), /Label coverage/);
    // No explained rows for this model: said so.
    await page.getByTestId('attributions').getByText(/No attributions logged for breast-cancer/).waitFor();
    await screenshot(page, 'drift');
    // The tree model's five explained rows: mean |contribution| and share per feature, as the JSON says.
    await open('drift/breast-xgb');
    const attributions = await json<{ rows: number; features: { feature: string; share: number }[] }>('/ferry/v1/models/breast-xgb/attributions?window=1h');
    assert.equal(attributions.rows, 5, 'the five explained rows');
    const table = page.getByTestId('attributions');
    await table.getByRole('row').filter({ hasText: attributions.features[0]!.feature }).first().waitFor();
    assert.equal(await table.locator('tbody tr').count(), attributions.features.length);
    assert.match(await table.locator('tbody tr').first().innerText(), new RegExp(`${attributions.features[0]!.feature}\\s`));
    await screenshot(page, 'drift-attributions');
  });

  it('batch: the run with its status and counts', async () => {
    await open('batch');
    const row = page.getByTestId('batch-runs').getByRole('row').filter({ hasText: runId });
    await row.waitFor();
    const { runs } = await json<{ runs: { id: string; status: string; scored: number }[] }>('/ferry/v1/batch');
    const run = runs.find((r) => r.id === runId);
    assert.equal(run?.status, 'succeeded');
    assert.match(await row.innerText(), /succeeded/);
    assert.match(await row.innerText(), new RegExp(run.scored.toLocaleString('en-US')));
    await screenshot(page, 'batch');
  });

  it('streams: the watched group with its consumer, processed messages and dead letters with their reasons', async () => {
    await open('streams');
    const card = page.getByTestId('stream');
    await card.getByTestId('stream-consumers').getByRole('row').filter({ hasText: 'ui-consumer' }).waitFor();
    type Streams = { streams: { group: string; consumers: { consumer: string; processed: number; deadLetters: number }[]; deadLetters: { id: string; code: string; reason: string; consumer: string }[]; deadLetterTo: string[] }[] };
    const { streams } = await json<Streams>('/ferry/v1/streams');
    const c = streams[0]?.consumers.find((x) => x.consumer === 'ui-consumer');
    assert.ok(c && c.processed >= 3 && c.deadLetters >= 1, JSON.stringify(streams));
    assert.match(await card.innerText(), new RegExp(names.group));
    const dead = streams[0]!.deadLetters.find((d) => d.id === 'bad');
    assert.ok(dead, JSON.stringify(streams[0]!.deadLetters));
    assert.match(dead.code, /^FERRY_E_/);
    assert.equal(dead.consumer, 'ui-consumer');
    assert.deepEqual(streams[0]!.deadLetterTo, [broker.url(names.dead)]);
    const row = card.getByTestId('dead-letters').getByRole('row').filter({ hasText: 'bad' });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(dead.code));
    assert.ok((await row.innerText()).includes(dead.reason), 'the reason is shown');
    await screenshot(page, 'streams');
  });

  it('alerts: the rules, with webhook URLs left out', async () => {
    await open('alerts');
    const row = page.getByTestId('alert-rules').getByRole('row').filter({ hasText: 'bc-drift' });
    await row.waitFor();
    assert.match(await row.innerText(), /drift/);
    const { rules } = await json<{ rules: Record<string, unknown>[] }>('/ferry/v1/alerts');
    assert.equal(rules[0]?.webhooks, 0);
    await screenshot(page, 'alerts');
  });

  it('is usable by keyboard: the skip link and the page links are reachable with Tab', async () => {
    // A fresh page: focus starts at the document, as for someone arriving.
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await open('models');
    await page.getByTestId('models-table').waitFor();
    const focused: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.locator(':focus').innerText().catch(() => ''));
    }
    // The skip link comes first, then the brand and the page links.
    assert.deepEqual(focused.filter((t) => t !== ''), ['Skip to content', 'Ferry', 'Models', 'Traffic']);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await page.locator('body').evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor), 'rgb(13, 17, 23)');
    await screenshot(page, 'models-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
