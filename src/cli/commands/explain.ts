import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import type { Frame } from '../../core/frame.js';
import { readFrame } from '../../data/readers.js';
import { outputFormatOf, serialise, writeFileAtomic } from '../../data/writers.js';
import type { OutputSpace } from '../../explain/explainer.js';
import { explanationObjects, Explanations, type ExplainOptions } from '../../scoring/explanations.js';
import { collect, collectList, parseInputColumns, print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';

interface ExplainCliOptions {
  input: string;
  inputFormat?: string;
  output?: string;
  key?: string[];
  inputColumns?: string[];
  space?: string;
  topK?: string;
  background?: string;
  rejects?: string;
}

const SPACES: readonly OutputSpace[] = ['margin', 'probability', 'raw'];

/** Background rows from a file: one Float64Array per column (non-numbers become NaN). */
function backgroundOf(frame: Frame): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const c of frame.columns) {
    const cells = frame.column(c) ?? [];
    out.set(c, Float64Array.from(cells, (v) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : Number.NaN)));
  }
  return out;
}

export function explainCommand(program: Command, ctx: CliContext): void {
  program.command('explain')
    .description('Explain a model\'s predictions per row: exact TreeSHAP for tree models, exact linear attributions, sampled Shapley values otherwise (docs/explain.md)')
    .argument('<ref>', 'model reference: name, name:3 or name@alias')
    .requiredOption('-i, --input <file>', 'rows to explain: .csv, .jsonl, .json or .parquet (- for standard input)')
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from the file extension)')
    .option('-o, --output <file>', 'write one explanation per row here (.jsonl, .json); default: print them')
    .option('-k, --key <col>', 'identifier column(s) copied to each explanation, not fed to the model (repeatable, or a,b)', collectList)
    .option('--input-columns <input=cols>', 'data columns that fill an input, overriding the saved mapping (repeat per input)', collect)
    .option('--space <space>', 'margin | probability (trees, linear) | raw (sampled); default: margin, raw for sampled')
    .option('--top-k <k>', 'add the k largest contributions as reason codes (name, value, direction)')
    .option('--background <file>', 'background rows for sampled explanations (default: the version\'s reference profile)')
    .option('--rejects <file>', 'write rows that fail validation here (JSONL) and explain the rest')
    .option('--json', 'print JSON (explanations, or a summary when --output is given)')
    .action(async (ref: string, opts: ExplainCliOptions, cmd: Command) => {
      const space = opts.space as OutputSpace | undefined;
      if (space !== undefined && !SPACES.includes(space)) throw ferry('FERRY_E_USAGE', { detail: `--space must be one of ${SPACES.join(', ')} (got "${opts.space}")` });
      const topK = opts.topK === undefined ? undefined : Number(opts.topK);
      if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw ferry('FERRY_E_USAGE', { detail: `--top-k must be a whole number ≥ 0 (got "${opts.topK}")` });
      const keys = opts.key ?? [];
      const format = opts.output ? outputFormatOf(opts.output) : 'jsonl';
      if (format === 'csv') throw ferry('FERRY_E_USAGE', { detail: 'explanations are nested: write .jsonl or .json (batch runs with --explain write contrib_<feature> columns to CSV)' });
      const frame = await readFrame(opts.input, opts.inputFormat);
      const background = opts.background ? backgroundOf(await readFrame(opts.background)) : undefined;
      const options: ExplainOptions = { space, topK };
      const started = performance.now();
      const { model, records, rejects } = await withFerry(ctx, async (app) => {
        const loaded = await app.loader.load(ref);
        const inputColumns = parseInputColumns(opts.inputColumns);
        const plan = { ignore: keys, ...(inputColumns ? { inputColumns } : {}) };
        // Validation (and rejects) exactly as scoring does; then the valid rows are explained.
        const scored = await app.scorer.frame(loaded, frame, plan);
        const first = scored.rejects[0];
        if (first && !opts.rejects) throw first.error;
        const explanations = background ? new Explanations(() => Promise.resolve({ background })) : app.explanations;
        const explained = await explanations.frame(loaded, frame, scored.rows, plan, options);
        const objects = explanationObjects(explained, options);
        const records = scored.rows.map((row, i) => ({ ...Object.fromEntries(keys.map((k) => [k, frame.column(k)?.[row] ?? null])), ...objects[i] }));
        return { model: `${scored.model}:${scored.version}`, records, rejects: scored.rejects };
      });
      if (rejects.length > 0 && opts.rejects) {
        await writeFileAtomic(opts.rejects, serialise(rejects.map((r) => ({ row: r.row + 1, code: r.error.code, reason: r.error.message })), 'jsonl'));
      }
      const ms = Math.round(performance.now() - started);
      if (opts.output) {
        await writeFileAtomic(opts.output, serialise(records, format));
        const summary = { model, rows: frame.length, explained: records.length, rejected: rejects.length, output: opts.output, ms };
        if (wantsJson(cmd)) return printJson(ctx, summary);
        return print(ctx, `Explained ${records.length} of ${frame.length} rows with ${model} in ${ms} ms → ${opts.output}`);
      }
      print(ctx, serialise(records, 'jsonl').trimEnd());
    });
}
