import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { evaluateVersion, type Evaluation, type Task } from '../../monitoring/evaluate.js';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from '../../monitoring/quality-metrics.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';
import { fmt } from './profile.js';

export function evaluateCommand(program: Command, ctx: CliContext): void {
  program.command('evaluate')
    .description('Score a labelled data set with several versions of a model and print their quality metrics side by side')
    .argument('<model>', 'model name (or a reference; --versions picks the versions)')
    .requiredOption('--data <file>', 'labelled data (.csv, .jsonl, .json)')
    .requiredOption('--label <col>', 'the column holding the actual values')
    .option('--versions <list>', 'versions to evaluate, e.g. 3,4 (default: the version the reference names)', collectList)
    .option('--ignore <cols>', 'other columns that are not model inputs (keys), repeatable or a,b', collectList)
    .option('--task <task>', 'classification | regression (default: from the model outputs and the labels)')
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from the file extension)')
    .option('--json', 'print the evaluations as JSON')
    .action(async (model: string, opts: { data: string; label: string; versions?: string[]; ignore?: string[]; task?: string; inputFormat?: string }, cmd: Command) => {
      if (opts.task !== undefined && opts.task !== 'classification' && opts.task !== 'regression') throw ferry('FERRY_E_USAGE', { detail: '--task must be classification or regression.' });
      const frame = await readFrame(opts.data, opts.inputFormat);
      const evaluations = await withFerry(ctx, async (app) => {
        const name = model.split(/[:@]/)[0] ?? model;
        const versions = opts.versions?.length
          ? await Promise.all(opts.versions.map((v) => app.registry.resolve(/^\d+$/.test(v) ? `${name}:${v}` : v)))
          : [await app.registry.resolve(model)];
        const out: Evaluation[] = [];
        for (const v of versions) out.push(await evaluateVersion(app, v, frame, { label: opts.label, ignore: opts.ignore ?? [], task: opts.task as Task | undefined }));
        return out;
      });
      if (wantsJson(cmd)) return printJson(ctx, evaluations);
      const names = evaluations.some((e) => e.task === 'classification') ? [...CLASSIFICATION_METRICS] : [...REGRESSION_METRICS];
      print(ctx, table(['version', 'task', 'rows', ...names], evaluations.map((e) => [e.version, e.task, e.rows, ...names.map((n) => fmt(e.metrics[n]))])));
      const rejected = evaluations.filter((e) => e.rejected > 0);
      for (const e of rejected) print(ctx, `  ${e.model}:${e.version}: ${e.rejected} row(s) failed validation and were left out`);
    });
}
