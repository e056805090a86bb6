import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { DRIFT_TESTS, type DriftResult, type DriftTestName } from '../../monitoring/drift.js';
import { driftReport, parseWindow } from '../../monitoring/drift-run.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';
import { monitorOf } from './monitor.js';
import { fmt } from './profile.js';

interface DriftOptions {
  window?: string;
  last?: string;
  data?: string;
  inputFormat?: string;
  ignore?: string[];
  test?: string;
  threshold?: string;
  share?: string;
  outputs?: boolean;
}

/** `ferry monitor drift`: attaches to the `monitor` group (monitor.ts). */
export function monitorDriftCommand(program: Command, ctx: CliContext): void {
  driftSubcommand(monitorOf(program), ctx);
}

/** `drift` under the `monitor` group: the reference profile against the prediction log or a file. */
export function driftSubcommand(parent: Command, ctx: CliContext): void {
  parent.command('drift')
    .description('Test a model version for data drift and prediction drift against its reference profile: over the prediction log (--window/--last; all logged predictions of the version without them) or a data file (--data)')
    .argument('<ref>', 'model reference: name, name:3 or name@alias')
    .option('--window <duration>', 'logged predictions of the last duration, e.g. 1h, 30m, 7d')
    .option('--last <n>', 'the newest n logged predictions')
    .option('--data <file>', 'test this data set (.csv, .jsonl, .json, .parquet) instead of the log; it is scored to test prediction drift')
    .option('--input-format <format>', 'csv | jsonl | json for --data (default: from the extension)')
    .option('--ignore <cols>', 'columns of --data that are not model inputs (keys, labels), repeatable or a,b', collectList)
    .option('--test <name>', `use this test for every column it applies to: ${DRIFT_TESTS.join(', ')} (default: chosen per column as Evidently does)`)
    .option('--threshold <x>', 'p-value level or distance threshold of the test (defaults: 0.05 for p-values, 0.1 for distances)')
    .option('--share <x>', 'dataset drift when this share of columns drifted', '0.5')
    .option('--outputs', 'with --json: report prediction drift (the model outputs) instead of feature drift')
    .option('--json', 'print {"dataset_drift", "share", "features": [{name, test, statistic, p_value|distance, threshold, drift}]}')
    .action(async (ref: string, opts: DriftOptions, cmd: Command) => {
      const options = driftOptions(opts);
      if (opts.data && (opts.window || opts.last)) throw ferry('FERRY_E_USAGE', { detail: '--data tests a file; --window and --last select logged predictions. Give one or the other.' });
      const last = opts.last === undefined ? undefined : Number(opts.last);
      if (last !== undefined && !(Number.isInteger(last) && last > 0)) throw ferry('FERRY_E_USAGE', { detail: '--last must be a positive integer.' });
      const sinceMs = opts.window ? Date.now() - parseWindow(opts.window) : undefined;
      const frame = opts.data ? await readFrame(opts.data, opts.inputFormat) : undefined;
      const report = await withFerry(ctx, async (app) => {
        const version = await app.registry.resolve(ref);
        return driftReport(app, version, frame ? { kind: 'data', frame, ignore: opts.ignore ?? [] } : { kind: 'log', sinceMs, last }, options);
      });
      if (wantsJson(cmd)) {
        if (opts.outputs && !report.predictions) throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: 'the reference profile or the current data has no model outputs' });
        return printJson(ctx, opts.outputs ? report.predictions : report.features);
      }
      print(ctx, `Drift of ${report.model}:${report.version}: ${report.currentRows} current row(s) against ${report.referenceRows} reference row(s)`);
      print(ctx, driftTable(report.features));
      print(ctx, verdict('Dataset drift', report.features, options.share));
      if (report.predictions) {
        print(ctx, '');
        print(ctx, driftTable(report.predictions));
        print(ctx, verdict('Prediction drift', report.predictions, options.share));
      }
    });
}

/** Parse the test options shared by `monitor drift`, `promote --require no-drift` and alert rules. */
export function driftOptions(opts: { test?: string | undefined; threshold?: string | undefined; share?: string | undefined }): { test?: DriftTestName; threshold?: number; share: number } {
  if (opts.test !== undefined && !(DRIFT_TESTS as readonly string[]).includes(opts.test)) throw ferry('FERRY_E_USAGE', { detail: `--test "${opts.test}" is not a drift test; use one of ${DRIFT_TESTS.join(', ')}.` });
  const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold);
  if (threshold !== undefined && !(threshold > 0)) throw ferry('FERRY_E_USAGE', { detail: '--threshold must be a positive number.' });
  const share = Number(opts.share ?? '0.5');
  if (!(share > 0 && share <= 1)) throw ferry('FERRY_E_USAGE', { detail: '--share must be in (0, 1].' });
  return { ...(opts.test ? { test: opts.test as DriftTestName } : {}), ...(threshold !== undefined ? { threshold } : {}), share };
}

function driftTable(r: DriftResult): string {
  return table(['column', 'test', 'statistic', 'p-value', 'distance', 'threshold', 'drift'],
    r.features.map((f) => [f.name, f.test, fmt(f.statistic), f.p_value === undefined ? '-' : fmt(f.p_value), f.distance === undefined ? '-' : fmt(f.distance), f.threshold, f.drift ? 'DRIFT' : 'ok']));
}

function verdict(what: string, r: DriftResult, share: number): string {
  const drifted = r.features.filter((f) => f.drift).length;
  return `${what}: ${r.dataset_drift ? 'YES' : 'no'} — ${drifted} of ${r.features.length} column(s) drifted (share ${fmt(r.share)}, threshold ${share})`;
}
