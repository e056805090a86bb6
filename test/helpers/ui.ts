/** Shared set-up of the dashboard tests: fixture models with reference profiles, and screenshots for the docs. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { runCli } from './cli.js';
import { FIXTURES, ROOT } from './env.js';

export const BREAST_INPUT = join(FIXTURES, 'breast_mlp/input.csv');

/** breast-cancer 1 (@champion) and 2 (@challenger), both with a reference profile and metrics; iris 1 (@champion). */
export async function registerFixtures(env: Readonly<Record<string, string>>): Promise<void> {
  const model = join(FIXTURES, 'breast_mlp/model.onnx');
  for (const [alias, accuracy] of [['champion', '0.951'], ['challenger', '0.963']] as const) {
    const r = await runCli(['register', model, '--name', 'breast-cancer', '--description', 'MLP on the breast cancer data set', '--reference', BREAST_INPUT, '--reference-ignore', 'id',
      '--metric', `accuracy=${accuracy}`, '--tag', 'team=risk', '--training-data', 'sklearn breast_cancer', '--code-ref', 'scripts/fixtures/make.py', '--alias', alias], env);
    assert.equal(r.code, 0, r.stderr);
  }
  const iris = await runCli(['register', join(FIXTURES, 'iris_string/model.onnx'), '--name', 'iris', '--description', 'Logistic regression with a string input',
    '--input-columns', 'sepal=sepal_length,sepal_width', '--input-columns', 'petal_size=petal_size', '--alias', 'champion'], env);
  assert.equal(iris.code, 0, iris.stderr);
}

/**
 * Save a small PNG of the page for docs/screenshots when FERRY_UI_SCREENSHOTS=1
 * (`FERRY_UI_SCREENSHOTS=1 node --import tsx --test test/ui-pages.test.ts`); otherwise nothing.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.FERRY_UI_SCREENSHOTS !== '1') return;
  const dir = join(ROOT, 'docs/screenshots');
  mkdirSync(dir, { recursive: true });
  await page.locator('header').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}
