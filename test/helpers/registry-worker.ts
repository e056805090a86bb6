/**
 * A registering process for test/registry-concurrency.test.ts. Configured by the environment
 * (FERRY_HOME, FERRY_DATABASE_URL, FERRY_ACTOR, WORKER_COUNT, WORKER_MODEL, WORKER_FIXTURE_OFFSET):
 * opens Ferry, prints "ready", waits for one line on stdin (the start barrier), registers
 * WORKER_COUNT versions of WORKER_MODEL in a loop, then prints one JSON line with what it got.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type * as FerryModule from '../../src/main/ferry.js';
import type * as ConfigModule from '../../src/core/config.js';
import { FIXTURES } from './env.js';

/**
 * The built modules (dist/, what every spawned `ferry` runs; the test builds first): four
 * workers each transpiling src/ through tsx at the same moment cost seconds on two cores.
 */
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;

const FIXTURES_CYCLE = ['breast_mlp', 'diabetes_regressor', 'digits_cnn', 'iris_string', 'wine_two_inputs'];

export interface WorkerReport {
  readonly actor: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly registered: { version: number; fixture: string; digest: string }[];
}

async function main(): Promise<void> {
  const count = Number(process.env.WORKER_COUNT ?? '5');
  const model = process.env.WORKER_MODEL ?? 'm';
  const offset = Number(process.env.WORKER_FIXTURE_OFFSET ?? '0');
  const { openFerry } = (await import(dist('main/ferry.js'))) as typeof FerryModule;
  const { loadConfig } = (await import(dist('core/config.js'))) as typeof ConfigModule;
  const config = loadConfig(process.env);
  const app = await openFerry(config);
  try {
    const lines = createInterface({ input: process.stdin });
    const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
    process.stdout.write('ready\n');
    await go;
    lines.close();
    const startedAt = Date.now();
    const registered: WorkerReport['registered'] = [];
    for (let i = 0; i < count; i++) {
      const fixture = FIXTURES_CYCLE[(offset + i) % FIXTURES_CYCLE.length]!;
      const v = await app.registry.register({ path: join(FIXTURES, fixture, 'model.onnx'), name: model, actor: config.actor });
      registered.push({ version: v.version, fixture, digest: v.digest });
    }
    const report: WorkerReport = { actor: config.actor, startedAt, finishedAt: Date.now(), registered };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await app.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? `${(err as { code?: string }).code ?? ''} ${err.stack ?? err.message}` : String(err)}\n`);
  process.exitCode = 1;
});
