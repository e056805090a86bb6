import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { sha256Digest } from '../../artifacts/artifact-store.js';
import type { Ferry } from '../../app.js';
import { readFrame } from '../../data/readers.js';
import { predictionRecords } from '../../scoring/records.js';
import { print, table, withFerry, type CliContext } from '../context.js';

/** The bundled demo models (the test fixtures, trained by scripts/fixtures/make.py). */
const DEMO_MODELS: readonly { dir: string; name: string; description: string; inputColumns: Record<string, string[]> | undefined }[] = [
  { dir: 'breast_mlp', name: 'breast-cancer', description: 'MLP classifier on the breast cancer data set (30 features)', inputColumns: undefined },
  { dir: 'iris_string', name: 'iris', description: 'Logistic regression with a string input, on iris', inputColumns: { sepal: ['sepal_length', 'sepal_width'], petal_size: ['petal_size'] } },
  { dir: 'digits_cnn', name: 'digits', description: 'Small CNN on 8x8 digit images ([-1,1,8,8] input)', inputColumns: undefined },
];

const fixturesDir = fileURLToPath(new URL('../../../fixtures/models/', import.meta.url));

export function demoCommand(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('Register the bundled demo models into the current home and score a few rows (what `npm start` runs)')
    .action(async () => {
      await withFerry(ctx, async (app, config) => {
        print(ctx, `Ferry home: ${config.home}${config.databaseUrl ? ` (registry in ${app.registry.store.location})` : ''}`);
        for (const demo of DEMO_MODELS) await registerDemo(ctx, app, demo);
        const sample = `${fixturesDir}breast_mlp/input.csv`;
        const frame = await readFrame(sample);
        const model = await app.loader.load('breast-cancer@champion');
        const result = await app.scorer.frame(model, frame, { ignore: ['id'] });
        const records = predictionRecords(result, frame, ['id']).slice(0, 5);
        print(ctx, `\nOne-off prediction: breast-cancer@champion on ${frame.length} rows of ${sample} (first 5):`);
        print(ctx, table(['id', 'label', 'p(malignant)', 'p(benign)'], records.map((r) => {
          const p = r.probabilities as number[];
          return [r.id, r.label, p[0]?.toFixed(4), p[1]?.toFixed(4)];
        })));
      });
      print(ctx, [
        '',
        'Try next:',
        '  npx ferry models                       # what is registered',
        '  npx ferry versions breast-cancer        # its versions, aliases and digests',
        `  npx ferry predict breast-cancer@champion --input ${fixturesDir}breast_mlp/input.csv --key id --output predictions.jsonl`,
        `  npx ferry predict iris --input ${fixturesDir}iris_string/input.csv --key id`,
        '  npx ferry alias history breast-cancer',
        '  npx ferry --help',
      ].join('\n'));
    });
}

async function registerDemo(ctx: CliContext, app: Ferry, demo: (typeof DEMO_MODELS)[number]): Promise<void> {
  const path = `${fixturesDir}${demo.dir}/model.onnx`;
  const digest = sha256Digest(await readFile(path));
  const latest = await app.registry.store.latestVersion(demo.name).catch(() => undefined);
  if (latest?.digest === digest) {
    print(ctx, `  ${demo.name}:${latest.version} already registered`);
    return;
  }
  const version = await app.registry.register({
    path, name: demo.name, description: demo.description, aliases: ['champion'], actor: app.config.actor,
    tags: { demo: 'true' }, lineage: { trainingData: `sklearn.datasets (${demo.dir})`, code: 'scripts/fixtures/make.py' },
    ...(demo.inputColumns ? { inputColumns: demo.inputColumns } : {}),
  });
  print(ctx, `  registered ${version.model}:${version.version} @champion (${version.format}, ${version.digest.slice(0, 19)}…)`);
}
