import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { compareShadow, compareVersions, type Comparison } from '../../monitoring/compare.js';
import { ShadowResultStore } from '../../monitoring/shadow-store.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';
import { fmt } from './profile.js';

interface CompareOptions {
  data?: string;
  shadow?: string;
  tolerance: string;
  limit: string;
  ignore?: string[];
  inputFormat?: string;
}

export function compareCommand(program: Command, ctx: CliContext): void {
  program.command('compare')
    .description('Say whether two model versions are equivalent on a data set (largest differences, agreement, the rows that differ most), or summarise the shadow pairs a server recorded (--shadow <model>)')
    .argument('[ref-a]', 'first model reference (name:3, name@alias)')
    .argument('[ref-b]', 'second model reference')
    .option('--data <file>', 'rows to score with both (.csv, .jsonl, .json)')
    .option('--shadow <model>', 'summarise the requests a server mirrored to a shadow version of this model')
    .option('--tolerance <x>', 'outputs within this absolute difference agree', '1e-6')
    .option('--limit <n>', 'with --shadow: the newest n mirrored requests', '10000')
    .option('--ignore <cols>', 'columns of --data that are not model inputs, repeatable or a,b', collectList)
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from the file extension)')
    .option('--json', 'print the comparison as JSON')
    .action(async (refA: string | undefined, refB: string | undefined, opts: CompareOptions, cmd: Command) => {
      const tolerance = Number(opts.tolerance);
      if (!(tolerance >= 0)) throw ferry('FERRY_E_USAGE', { detail: '--tolerance must be a number ≥ 0.' });
      let comparisons: Comparison[];
      if (opts.shadow) {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw ferry('FERRY_E_USAGE', { detail: '--limit must be a positive integer.' });
        const model = opts.shadow;
        comparisons = await withFerry(ctx, async (app) => {
          if (!(await app.registry.store.getModel(model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
          return compareShadow(model, await new ShadowResultStore(app.database).list(model, limit), tolerance);
        });
        if (comparisons.length === 0 && !wantsJson(cmd)) return print(ctx, `No shadow results recorded for ${model}. Configure shadow: {target, share} for it in ferry.yaml and serve traffic.`);
      } else {
        if (!refA || !refB || !opts.data) throw ferry('FERRY_E_USAGE', { detail: 'compare needs two model references and --data <file> (or --shadow <model>).' });
        const frame = await readFrame(opts.data, opts.inputFormat);
        comparisons = [await withFerry(ctx, async (app) => compareVersions(app, await app.registry.resolve(refA), await app.registry.resolve(refB), frame, tolerance, opts.ignore ?? []))];
      }
      if (wantsJson(cmd)) return printJson(ctx, opts.shadow ? comparisons : comparisons[0]);
      for (const c of comparisons) printComparison(ctx, c);
    });
}

function printComparison(ctx: CliContext, c: Comparison): void {
  print(ctx, `${c.a} vs ${c.b}: ${c.equivalent ? 'EQUIVALENT' : 'NOT equivalent'} within ${c.tolerance} — ${c.rows} row(s), agreement ${(c.agreement * 100).toFixed(2)}%, max abs diff ${fmt(c.maxAbsDiff)}, max rel diff ${fmt(c.maxRelDiff)}${c.errors ? `, ${c.errors} shadow error(s)` : ''}`);
  print(ctx, table(['output', 'max abs diff', 'max rel diff', 'agreement'], Object.entries(c.outputs).map(([n, o]) => [n, fmt(o.maxAbsDiff), fmt(o.maxRelDiff), `${(o.agreement * 100).toFixed(2)}%`])));
  if (c.unmatched.length) print(ctx, `  outputs on one side only: ${c.unmatched.join(', ')}`);
  if (c.rejected.a || c.rejected.b) print(ctx, `  rows rejected: ${c.rejected.a} by ${c.a}, ${c.rejected.b} by ${c.b}`);
  if (c.worst.length) {
    print(ctx, 'Rows that differ most:');
    print(ctx, table(['row', 'max abs diff', c.a, c.b], c.worst.map((w) => [w.row, fmt(w.maxAbsDiff), JSON.stringify(w.a), JSON.stringify(w.b)])));
  }
}
