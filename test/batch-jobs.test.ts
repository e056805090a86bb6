/**
 * Incremental jobs on files, jobs declared in ferry.yaml, and schedules: `ferry scheduler`
 * and `ferry serve` run a job on its cron schedule.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseBatchConfig } from '../src/batch/config.js';
import { parseServeConfig } from '../src/serving/config.js';
import { runCli } from './helpers/cli.js';
import { breastCsv, filesIn, readRows } from './helpers/batch.js';
import { FERRY_BIN, tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';
import { startServe } from './helpers/server.js';

interface RunRow { id: string; job: string; status: string; rowsIn: number; skipped: number }

describe('batch jobs and schedules', () => {
  const tmp = tempDir('ferry-jobs-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const at = (name: string) => join(tmp.dir, name);
  const runsOf = async (job: string) => JSON.parse((await runCli(['batch', 'runs', job, '--json'], env)).stdout) as RunRow[];
  /** Wait (no time limit but the test's) until `job` has a succeeded run. */
  const waitForRun = async (job: string) => {
    for (;;) {
      const runs = await runsOf(job);
      if (runs.some((r) => r.status === 'succeeded')) return runs;
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  before(async () => {
    const r = await runCli(['register', fixture('breast_mlp').model, '--name', 'bc', '--alias', 'champion'], env);
    assert.equal(r.code, 0, r.stderr);
    mkdirSync(at('landing'));
  });
  after(() => tmp.cleanup());

  it('a job scores only rows beyond its watermark; files added later are picked up', async () => {
    writeFileSync(at('landing/day1.csv'), breastCsv(120, 0));
    const create = await runCli(['batch', 'job', 'create', 'daily', '-m', 'bc@champion', '-i', at('landing/*.csv'), '-o', `${at('lake')}/`, '-k', 'id', '--watermark', 'id', '--chunk-size', '50'], env);
    assert.equal(create.code, 0, create.stderr);
    const dup = await runCli(['batch', 'job', 'create', 'daily', '-m', 'bc', '-i', 'x.csv', '-o', 'y/'], env);
    assert.equal(dup.code, 6);
    assert.match(dup.stderr, /FERRY_E_BATCH_JOB_EXISTS/);

    let r = await runCli(['batch', 'job', 'run', 'daily', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pick(JSON.parse(r.stdout) as Summary), { rows: 120, scored: 120, skipped: 0 });
    writeFileSync(at('landing/day2.csv'), breastCsv(30, 120));
    r = await runCli(['batch', 'job', 'run', 'daily', '--json'], env);
    assert.deepEqual(pick(JSON.parse(r.stdout) as Summary), { rows: 30, scored: 30, skipped: 120 });
    r = await runCli(['batch', 'job', 'run', 'daily', '--json'], env);
    assert.deepEqual(pick(JSON.parse(r.stdout) as Summary), { rows: 0, scored: 0, skipped: 150 });

    const ids = (await readRows(filesIn(at('lake')))).map((x) => x.id as number).sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: 150 }, (_, i) => i), 'each row scored once across the runs');
    const list = JSON.parse((await runCli(['batch', 'job', 'list', '--json'], env)).stdout) as { name: string; highWater: string }[];
    assert.equal(list.find((j) => j.name === 'daily')?.highWater, '149');
    const runs = await runsOf('daily');
    assert.deepEqual(runs.map((x) => [x.status, x.rowsIn]), [['succeeded', 0], ['succeeded', 30], ['succeeded', 120]]);
    const table = await runCli(['batch', 'runs', 'daily'], env);
    assert.match(table.stdout, /^RUN\s+JOB\s+MODEL\s+STATUS\s+PROGRESS/);
  });

  it('jobs declared in ferry.yaml are saved and run; a bad section is refused; serve accepts the section', async () => {
    const yaml = [
      'port: 0',
      'batch:',
      '  jobs:',
      '    - name: from-config',
      '      model: bc',
      `      input: ${at('landing/day1.csv')}`,
      `      output: ${at('config-out.jsonl')}`,
      '      key: [id]',
      '      chunk_size: 40',
    ].join('\n');
    writeFileSync(at('ferry.yaml'), yaml);
    const r = await runCli(['batch', 'job', 'run', 'from-config', '--config', at('ferry.yaml'), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { rows: number }).rows, 120);
    const jobs = JSON.parse((await runCli(['batch', 'job', 'list', '--json'], env)).stdout) as { name: string; origin: string }[];
    assert.equal(jobs.find((j) => j.name === 'from-config')?.origin, 'config');
    assert.throws(() => parseBatchConfig({ batch: { jobs: [{ name: 'x', model: 'bc', input: 'a', output: 'b', cron: 'every day' }] } }, 'ferry.yaml'), /FERRY_E_BATCH_CRON_INVALID|Invalid cron/);
    assert.throws(() => parseBatchConfig({ batch: { jobs: [{ name: 'x', model: 'bc', input: 'a', output: 'b', colour: 'red' }] } }, 'ferry.yaml'), /unknown key\(s\) colour/);
    assert.doesNotThrow(() => parseServeConfig({ port: 0, batch: { jobs: [] } }));
  });

  it('schedules: invalid cron refused; `ferry scheduler` runs a scheduled job, and stops on SIGTERM', async () => {
    const bad = await runCli(['batch', 'job', 'schedule', 'daily', '--cron', 'whenever'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FERRY_E_BATCH_CRON_INVALID/);
    assert.equal((await runCli(['batch', 'job', 'schedule', 'nope', '--cron', '* * * * *'], env)).code, 3);
    writeFileSync(at('landing/day3.csv'), breastCsv(10, 150));
    const set = await runCli(['batch', 'job', 'schedule', 'daily', '--cron', '* * * * * *'], env);
    assert.equal(set.code, 0, set.stderr);
    const before = (await runsOf('daily')).length;
    const scheduler = spawn(process.execPath, [FERRY_BIN, 'scheduler'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => scheduler.on('exit', resolve));
    try {
      for (;;) {
        const runs = await runsOf('daily');
        if (runs.length > before && runs.some((x) => x.rowsIn === 10 && x.status === 'succeeded')) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      scheduler.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    const off = await runCli(['batch', 'job', 'schedule', 'daily', '--off', '--json'], env);
    assert.equal((JSON.parse(off.stdout) as { cron: string | null }).cron, null);
    const ids = (await readRows(filesIn(at('lake')))).map((x) => x.id as number);
    assert.equal(new Set(ids).size, ids.length, 'ticks never scored a row twice');
    assert.equal(ids.length, 160);
  });

  it('`ferry serve` runs the schedules of ferry.yaml batch jobs', async () => {
    writeFileSync(at('serve.yaml'), [
      'batch:',
      '  jobs:',
      '    - name: served',
      '      model: bc',
      `      input: ${at('landing/day1.csv')}`,
      `      output: ${at('served')}/`,
      '      key: [id]',
      '      watermark: id',
      '      cron: "* * * * * *"',
    ].join('\n'));
    const server = await startServe(env, ['--config', at('serve.yaml')]);
    try {
      const runs = await waitForRun('served');
      assert.equal(runs.at(-1)!.rowsIn, 120);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.match(server.output(), /batch job scheduled/);
  });
});

type Summary = { rows: number; scored: number; skipped: number };

function pick(s: Summary) {
  return { rows: s.rows, scored: s.scored, skipped: s.skipped };
}
