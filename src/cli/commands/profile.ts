import type { Command } from 'commander';
import { readFrame } from '../../data/readers.js';
import { loadProfile, requireProfile, storeReference } from '../../monitoring/profile-store.js';
import { summariseColumn, type ColumnProfile } from '../../monitoring/profile.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

export function profileCommand(program: Command, ctx: CliContext): void {
  program.command('profile')
    .description('Store (with <data>) or show the reference profile of a model version: per-column statistics of its training/validation data and of its outputs, the baseline for drift')
    .argument('<ref>', 'model reference: name, name:3 or name@alias')
    .argument('[data]', 'reference data (.csv, .jsonl, .json or .parquet) to profile and store; omit to show the stored profile')
    .option('--ignore <cols>', 'columns that are not model inputs (keys, the label), repeatable or a,b', collectList)
    .option('--merge', 'fold <data> into the stored profile instead of replacing it (profiles merge, so windows roll up)')
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from the file extension)')
    .option('--json', 'print the profile summary as JSON')
    .action(async (ref: string, data: string | undefined, opts: { ignore?: string[]; merge?: boolean; inputFormat?: string }, cmd: Command) => {
      const frame = data ? await readFrame(data, opts.inputFormat) : undefined;
      const result = await withFerry(ctx, async (app, config) => {
        const version = await app.registry.resolve(ref);
        if (frame && data) return { stored: await storeReference(app, version, frame, data, opts.ignore ?? [], config.actor, opts.merge === true), fresh: true };
        return { stored: { ...(await loadProfile(app.database, version.model, version.version) ?? await requireProfile(app.database, version)), rejected: 0 }, fresh: false };
      });
      const { stored } = result;
      const summary = (cols: Readonly<Record<string, ColumnProfile>>) => Object.fromEntries(Object.entries(cols).map(([n, c]) => [n, summariseColumn(c)]));
      if (wantsJson(cmd)) {
        return printJson(ctx, { model: stored.model, version: stored.version, source: stored.source, rows: stored.profile.rows, rejected: stored.rejected, created_at: stored.createdAt, features: summary(stored.profile.features), outputs: summary(stored.profile.outputs) });
      }
      const rows = (cols: Readonly<Record<string, ColumnProfile>>, role: string) => Object.entries(cols).map(([name, c]) => {
        const s = summariseColumn(c);
        const missing = `${((s.missing_share as number) * 100).toFixed(1)}%`;
        if (c.kind === 'categorical') return [role, name, 'categorical', c.count, missing, '-', '-', Object.keys(s.top as object).slice(0, 3).join(', ')];
        const q = s.quantiles as Record<string, number>;
        return [role, name, 'numeric', c.count, missing, fmt(c.mean), fmt(s.std as number), `${fmt(c.min)} / ${fmt(q.q50)} / ${fmt(c.max)}`];
      });
      print(ctx, table(['role', 'column', 'kind', 'count', 'missing', 'mean', 'std', 'min / median / max  (or top categories)'], [...rows(stored.profile.features, 'input'), ...rows(stored.profile.outputs, 'output')]));
      print(ctx, `${result.fresh ? 'Stored the reference profile of' : 'Reference profile of'} ${stored.model}:${stored.version} — ${stored.profile.rows} row(s) from ${stored.source}${stored.rejected ? `, ${stored.rejected} invalid row(s) left out` : ''}. Check drift with: ferry monitor drift ${stored.model}:${stored.version} --data <file>`);
    });
}

export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : Number(x.toPrecision(4)).toString();
}
