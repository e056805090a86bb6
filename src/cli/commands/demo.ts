import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { sha256Digest } from '../../artifacts/artifact-store.js';
import type { Ferry } from '../../main/ferry.js';
import { readFrame } from '../../data/readers.js';
import { predictionRecords } from '../../scoring/records.js';
import { print, table, withFerry, type CliContext } from '../context.js';
import { runServe } from './serve.js';

/** The bundled demo models (the test fixtures, trained by scripts/fixtures/make.py). */
const DEMO_MODELS: readonly { dir: string; name: string; description: string; inputColumns: Record<string, string[]> | undefined }[] = [
  { dir: 'breast_mlp', name: 'breast-cancer', description: 'MLP classifier on the breast cancer data set (30 features)', inputColumns: undefined },
  { dir: 'iris_string', name: 'iris', description: 'Logistic regression with a string input, on iris', inputColumns: { sepal: ['sepal_length', 'sepal_width'], petal_size: ['petal_size'] } },
  { dir: 'digits_cnn', name: 'digits', description: 'Small CNN on 8x8 digit images ([-1,1,8,8] input)', inputColumns: undefined },
];

const fixturesDir = fileURLToPath(new URL('../../../fixtures/models/', import.meta.url));

export function demoCommand(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('Register the bundled demo models into the current home, score a few rows, and with --serve serve them (what `npm start` runs)')
    .option('--serve', 'then start `ferry serve` on 127.0.0.1:8080 (HTTP) and :8081 (gRPC)')
    .option('-p, --port <port>', 'HTTP port with --serve (default 8080)')
    .option('--grpc-port <port>', 'gRPC port with --serve (default 8081)')
    .action(async (opts: { serve?: boolean; port?: string; grpcPort?: string }) => {
      await withFerry(ctx, async (app, config) => {
        print(ctx, `Ferry home: ${config.home}${config.databaseUrl ? ` (registry in ${app.registry.store.location})` : ''}`);
        for (const demo of DEMO_MODELS) await registerDemo(ctx, app, demo);
        const sample = `${fixturesDir}breast_mlp/input.csv`;
        const frame = await readFrame(sample);
        const { result } = await app.pipeline.run({ model: { ref: 'breast-cancer@champion' }, input: { kind: 'frame', frame, plan: { ignore: ['id'] } }, source: 'cli' });
        const records = predictionRecords(result, frame, ['id']).slice(0, 5);
        print(ctx, `\nOne-off prediction: breast-cancer@champion on ${frame.length} rows of ${sample} (first 5):`);
        print(ctx, table(['id', 'label', 'p(malignant)', 'p(benign)'], records.map((r) => {
          const p = r.probabilities as number[];
          return [r.id, r.label, p[0]?.toFixed(4), p[1]?.toFixed(4)];
        })));
      });
      const row = '[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]';
      const base = `http://127.0.0.1:${opts.port ?? 8080}`;
      print(ctx, [
        '',
        ...(opts.serve ? [
          `Serving on ${base} (Open Inference Protocol v2, MLflow, KServe v1) and gRPC on 127.0.0.1:${opts.grpcPort ?? 8081}.`,
          `Dashboard: ${base}/ui/`,
          'Try:',
          `  curl -s ${base}/v2/models/breast-cancer`,
          `  curl -s ${base}/v2/models/breast-cancer/versions/champion/infer -H 'content-type: application/json' -d '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":${row}}]}'`,
          `  curl -s ${base}/models/breast-cancer/invocations -H 'content-type: application/json' -d '{"instances":[${row}]}'`,
          `  curl -s ${base}/metrics | grep ferry_requests_total`,
          '',
        ] : []),
        'Try next:',
        '  npx ferry models                       # what is registered',
        '  npx ferry versions breast-cancer        # its versions, aliases and digests',
        `  npx ferry predict breast-cancer@champion --input ${fixturesDir}breast_mlp/input.csv --key id --output predictions.jsonl`,
        `  npx ferry predict iris --input ${fixturesDir}iris_string/input.csv --key id`,
        '  npx ferry alias history breast-cancer',
        '  npx ferry --help',
      ].join('\n'));
      if (opts.serve) await runServe(ctx, { port: opts.port, grpcPort: opts.grpcPort });
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
