import type { Command } from 'commander';
import { ferry, type FerryError } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { outputFormatOf, serialise, writeFileAtomic } from '../../data/writers.js';
import { predictionRecords } from '../../scoring/records.js';
import type { Reject } from '../../scoring/tensorize.js';
import { collect, collectList, parseInputColumns, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

interface PredictOptions {
  input: string;
  inputFormat?: string;
  output?: string;
  outputFormat?: string;
  key?: string[];
  passthrough?: string[];
  inputColumns?: string[];
  outputs?: string[];
  rejects?: string;
  strictColumns?: boolean;
}

export function predictCommand(program: Command, ctx: CliContext): void {
  program.command('predict')
    .description('Score a data set once with a registered model (one-off deployment)')
    .argument('<ref>', 'model reference: name, name:3 or name@alias')
    .requiredOption('-i, --input <file>', 'rows to score: .csv, .jsonl, .json or .parquet (- for standard input)')
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from the file extension)')
    .option('-o, --output <file>', 'write predictions here (.jsonl, .csv or .json); default: print them')
    .option('--output-format <format>', 'jsonl | csv | json (default: from the file extension)')
    .option('-k, --key <col>', 'identifier column(s) copied to each output row, not fed to the model (repeatable, or a,b)', collectList)
    .option('--passthrough <col>', 'other column(s) copied to each output row (repeatable, or a,b)', collectList)
    .option('--input-columns <input=cols>', 'data columns that fill an input, overriding the saved mapping (repeat per input)', collect)
    .option('--outputs <names>', 'only these model outputs (comma-separated)', collectList)
    .option('--rejects <file>', 'write rows that fail validation here (JSONL) and score the rest; without it any bad row fails the command')
    .option('--strict-columns', 'refuse columns the model does not use (by default they are ignored and listed in the summary)')
    .option('--json', 'print JSON (predictions, or a summary when --output is given)')
    .action(async (ref: string, opts: PredictOptions, cmd: Command) => {
      const carry = [...(opts.key ?? []), ...(opts.passthrough ?? [])];
      const outputFormat = opts.output ? outputFormatOf(opts.output, opts.outputFormat) : undefined;
      const frame = await readFrame(opts.input, opts.inputFormat);
      const started = performance.now();
      const { result, records } = await withFerry(ctx, async (app) => {
        const inputColumns = parseInputColumns(opts.inputColumns);
        const { result } = await app.pipeline.run({ model: { ref }, input: { kind: 'frame', frame, plan: { ignore: carry, strictColumns: opts.strictColumns === true, ...(inputColumns ? { inputColumns } : {}) } }, outputs: opts.outputs, source: 'cli' });
        return { result, records: predictionRecords(result, frame, carry) };
      });
      const ms = performance.now() - started;

      if (result.rejects.length > 0) {
        if (!opts.rejects) throw rejectFailure(ctx, result.rejects, frame.length);
        const carried = (row: number) => Object.fromEntries(carry.map((c) => [c, frame.column(c)?.[row] ?? null]));
        await writeFileAtomic(opts.rejects, serialise(result.rejects.map((r) => ({ row: r.row + 1, ...carried(r.row), code: r.error.code, reason: r.error.message })), 'jsonl'));
      }
      const summary = {
        model: result.model, version: result.version, rows: frame.length, scored: result.rows.length,
        rejected: result.rejects.length, output: opts.output ?? null, rejects: opts.rejects ?? null, ms: Math.round(ms),
        ignored_columns: result.ignoredColumns ?? [],
      };
      const ignoredNote = result.ignoredColumns?.length ? `; ignored column(s) the model does not use: ${result.ignoredColumns.join(', ')}` : '';
      if (opts.output && outputFormat) {
        await writeFileAtomic(opts.output, serialise(records, outputFormat));
        if (wantsJson(cmd)) return printJson(ctx, summary);
        return print(ctx, `Scored ${summary.scored} of ${summary.rows} rows with ${result.model}:${result.version} in ${summary.ms} ms → ${opts.output}${summary.rejected ? `; ${summary.rejected} rejected → ${opts.rejects}` : ''}${ignoredNote}`);
      }
      if (wantsJson(cmd)) return print(ctx, serialise(records, 'jsonl'));
      const columns = Object.keys(records[0] ?? {});
      print(ctx, table(columns, records.map((r) => columns.map((c) => shortValue(r[c])))));
      print(ctx, `${result.model}:${result.version} — ${summary.scored} row(s) scored${summary.rejected ? `, ${summary.rejected} rejected` : ''}${ignoredNote}`);
    });
}

/** Say how many rows failed and why (first few), then fail with the first row's error. */
function rejectFailure(ctx: CliContext, rejects: readonly [Reject, ...Reject[]] | readonly Reject[], total: number): FerryError {
  ctx.stderr.write(`${rejects.length} of ${total} row(s) failed validation; nothing was written. Pass --rejects <file> to score the valid rows and keep the bad ones aside.\n`);
  for (const r of rejects.slice(1, 5)) ctx.stderr.write(`  ${r.error.code}: ${r.error.message}\n`);
  if (rejects.length > 5) ctx.stderr.write(`  … and ${rejects.length - 5} more\n`);
  return rejects[0]?.error ?? ferry('FERRY_E_INTERNAL', { detail: 'rejectFailure called without rejects' });
}

function shortValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'number' ? round(v) : JSON.stringify(v))).join(', ')}]`;
  if (typeof value === 'number') return round(value);
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, '');
}
