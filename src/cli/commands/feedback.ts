import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { applyFeedback } from '../../monitoring/feedback.js';
import { print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';

interface FeedbackOptions {
  file: string;
  format?: string;
  idColumn: string;
  actualColumn: string;
}

export function feedbackCommand(program: Command, ctx: CliContext): void {
  program.command('feedback')
    .description('Attach ground truth (actual values) to logged predictions by prediction id; unknown ids are reported, not fatal')
    .requiredOption('-f, --file <file>', 'rows with a prediction id and the actual value: .csv, .jsonl, .json or .parquet (- for standard input)')
    .option('--format <format>', 'csv | jsonl | json (default: from the file extension)')
    .option('--id-column <name>', 'column holding the prediction id', 'prediction_id')
    .option('--actual-column <name>', 'column holding the actual value', 'actual')
    .option('--json', 'print the result as JSON: {"attached", "unknown": [ids], "rejected": [{"row", "reason"}]}')
    .action(async (opts: FeedbackOptions, cmd: Command) => {
      const frame = await readFrame(opts.file, opts.format);
      const ids = frame.column(opts.idColumn);
      const actual = frame.column(opts.actualColumn);
      for (const [col, flag] of [[ids, `--id-column ${opts.idColumn}`], [actual, `--actual-column ${opts.actualColumn}`]] as const) {
        if (!col) throw ferry('FERRY_E_USAGE', { detail: `${opts.file} has no column named by ${flag}; its columns are ${frame.columns.join(', ')}.` });
      }
      const raw = Array.from({ length: frame.length }, (_, i) => ({ prediction_id: ids?.[i], actual: cellValue(actual?.[i]) }));
      const result = await withFerry(ctx, (app) => applyFeedback(app.database, raw));
      // Rows are counted from 1, as a person reads the file (CSV: after the header).
      const rejected = result.rejected.map((r) => ({ row: r.index + 1, reason: r.reason }));
      if (wantsJson(cmd)) return printJson(ctx, { attached: result.attached, unknown: result.unknown, rejected });
      print(ctx, `Attached ground truth to ${result.attached} logged prediction(s).`);
      if (result.unknown.length > 0) print(ctx, `${result.unknown.length} prediction id(s) are not in the log (never logged, or removed by retention): ${result.unknown.slice(0, 10).join(', ')}${result.unknown.length > 10 ? ', …' : ''}`);
      for (const r of rejected.slice(0, 20)) print(ctx, `row ${r.row}: ${r.reason}`);
      if (rejected.length > 20) print(ctx, `… and ${rejected.length - 20} more rejected row(s)`);
    });
}

/** CSV cells are text: numbers become numbers so labels compare with the model's outputs. */
function cellValue(cell: unknown): unknown {
  if (typeof cell === 'bigint') return Number(cell);
  if (typeof cell !== 'string') return cell ?? undefined;
  const t = cell.trim();
  if (t === '') return undefined;
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return Number.isFinite(n) ? n : cell;
}
