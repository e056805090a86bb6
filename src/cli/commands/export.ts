import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { exportModel, type ExportReport } from '../../edge/export.js';
import { parseSize } from '../../edge/size-report.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

interface ExportFlags {
  target: string;
  out: string;
  sample?: string;
  sampleRows?: string;
  key?: string[];
  maxSize?: string;
  dialect?: string;
  table?: string;
  quantize?: string;
  maxLabelChange?: string;
  force?: boolean;
  reportUrl?: string;
}

export function exportCommand(program: Command, ctx: CliContext): void {
  program.command('export')
    .description('Export a registered model for edge deployment: a self-contained package for Node or browsers, checked against the server')
    .argument('<ref>', 'model reference: name, name:3 or name@alias')
    .requiredOption('-t, --target <target>', 'node | browser | sql | equation')
    .requiredOption('-o, --out <path>', 'where to write: a folder for node/browser (an earlier export there is replaced), a file for sql/equation')
    .option('--sample <file>', 'rows (.csv, .jsonl, .json or .parquet) whose server predictions become the parity vectors the export is checked against')
    .option('--sample-rows <n>', 'at most this many sample rows (default 200)')
    .option('-k, --key <col>', 'identifier column(s): in the sample, not fed to the model; in SQL, copied to each output row (repeatable, or a,b)', collectList)
    .option('--dialect <dialect>', 'sql: postgresql | duckdb')
    .option('--table <name>', 'sql: the table or view whose rows the query scores')
    .option('--max-size <size>', 'fail when the export is larger than this gzipped (e.g. 200kb, 2mb)')
    .option('--quantize <type>', 'ONNX, node/browser: int8 — MatMul/Gemm weights in int8 (DequantizeLinear in the graph); reports sizes and the change in predictions')
    .option('--max-label-change <share>', 'with --quantize: refuse when more than this share of sample rows change label (0.01 or 1%; default 1%)')
    .option('--force', 'with --quantize: write the export even when more labels change than --max-label-change allows')
    .option('--report-url <url>', 'node/browser: the Ferry server the package posts its predictions to (its prediction log, for drift and live metrics); without it the package carries no reporter and report() is refused; see docs/edge.md')
    .option('--json', 'print the report as JSON')
    .action(async (ref: string, opts: ExportFlags, cmd: Command) => {
      const maxSize = opts.maxSize === undefined ? undefined : parseSize(opts.maxSize);
      if (opts.maxSize !== undefined && maxSize === undefined) throw ferry('FERRY_E_USAGE', { detail: `--max-size ${opts.maxSize}: use bytes or a size like 200kb or 2mb.` });
      const sampleRows = opts.sampleRows === undefined ? undefined : Number(opts.sampleRows);
      if (sampleRows !== undefined && !(Number.isInteger(sampleRows) && sampleRows > 0)) throw ferry('FERRY_E_USAGE', { detail: '--sample-rows must be a positive integer.' });
      if (opts.quantize !== undefined && opts.quantize !== 'int8') throw ferry('FERRY_E_USAGE', { detail: `--quantize ${opts.quantize}: the one quantization is int8.` });
      const maxLabelChange = opts.maxLabelChange === undefined ? undefined : parseShare(opts.maxLabelChange);
      if (opts.maxLabelChange !== undefined && maxLabelChange === undefined) throw ferry('FERRY_E_USAGE', { detail: `--max-label-change ${opts.maxLabelChange}: use a share between 0 and 1 (0.01) or a percentage (1%).` });
      if ((opts.maxLabelChange !== undefined || opts.force) && opts.quantize === undefined) throw ferry('FERRY_E_USAGE', { detail: '--max-label-change and --force go with --quantize int8.' });
      if (opts.reportUrl !== undefined && !/^https?:\/\/[^/]/.test(opts.reportUrl)) throw ferry('FERRY_E_USAGE', { detail: `--report-url ${opts.reportUrl}: give the server's http(s) URL, e.g. https://ferry.example.com.` });
      const report = await withFerry(ctx, (app) => exportModel(app, {
        ref, target: opts.target, out: opts.out, keys: opts.key ?? [],
        ...(opts.dialect !== undefined ? { dialect: opts.dialect } : {}),
        ...(opts.table !== undefined ? { table: opts.table } : {}),
        ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
        ...(sampleRows !== undefined ? { sampleRows } : {}),
        ...(maxSize !== undefined ? { maxSize } : {}),
        ...(opts.quantize === 'int8' ? { quantize: 'int8' as const, force: opts.force === true } : {}),
        ...(maxLabelChange !== undefined ? { maxLabelChange } : {}),
        ...(opts.reportUrl !== undefined ? { reportUrl: opts.reportUrl } : {}),
      }));
      if (wantsJson(cmd)) return printJson(ctx, report);
      printReport(ctx, report);
    });
}

function printReport(ctx: CliContext, r: ExportReport): void {
  print(ctx, `Exported ${r.model}:${r.version} for ${r.target} → ${r.out}`);
  print(ctx, table(['kind', 'files', 'raw', 'gzip'], [...r.size.lines.map((l) => [l.kind, l.files, kb(l.raw), kb(l.gzip)]), ['total', r.files.length, kb(r.size.raw), kb(r.size.gzip)]]));
  const q = r.quantization;
  if (q) {
    print(ctx, `Quantized ${q.tensors.length} weight tensor(s) to int8: model ${kb(q.before.raw)} → ${kb(q.after.raw)} (gzip ${kb(q.before.gzip)} → ${kb(q.after.gzip)}).`);
    print(ctx, `On ${q.rows} sample row(s): largest change of a value ${q.maxChange.toPrecision(3)}; ${q.labelChanges} label(s) changed (allowed ${(q.maxLabelChange * 100).toFixed(2)} %)${q.forced ? ' — written with --force' : ''}.`);
  }
  if (r.parity) print(ctx, `Parity: ${r.parity.rows} sample row(s) give the server's predictions${q ? ' for the quantized model' : ''}; largest difference ${r.parity.maxDiff}.`);
}

/** `0.01` or `1%` as a share in [0, 1]. */
function parseShare(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(text);
  if (!m) return undefined;
  const share = Number(m[1]) / (m[2] ? 100 : 1);
  return share <= 1 ? share : undefined;
}

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
