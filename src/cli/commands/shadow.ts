import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { ShadowResultStore } from '../../monitoring/shadow-store.js';
import { print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

export function shadowCommand(program: Command, ctx: CliContext): void {
  program.command('shadow')
    .description('Summarise requests a server mirrored to a shadow version: agreement with the primary, errors, largest difference')
    .argument('<name>', 'model name')
    .option('--limit <n>', 'look at the newest n mirrored requests', '1000')
    .option('--tolerance <x>', 'answers within this absolute difference count as agreeing', '1e-6')
    .option('--json', 'print the summary and the records as JSON')
    .action(async (name: string, opts: { limit: string; tolerance: string }, cmd: Command) => {
      const limit = Number(opts.limit);
      const tolerance = Number(opts.tolerance);
      if (!Number.isInteger(limit) || limit < 1 || !(tolerance >= 0)) throw ferry('FERRY_E_USAGE', { detail: '--limit must be a positive integer and --tolerance a number ≥ 0.' });
      const records = await withFerry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(name))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return new ShadowResultStore(app.database).list(name, limit);
      });
      const pairs = new Map<string, { primary: number; shadow: number; n: number; agree: number; errors: number; maxDiff: number }>();
      for (const r of records) {
        const key = `${r.primaryVersion}→${r.shadowVersion}`;
        const p = pairs.get(key) ?? { primary: r.primaryVersion, shadow: r.shadowVersion, n: 0, agree: 0, errors: 0, maxDiff: 0 };
        p.n++;
        if (r.error) p.errors++;
        else if (r.maxAbsDiff !== null && r.maxAbsDiff <= tolerance) p.agree++;
        if (r.maxAbsDiff !== null) p.maxDiff = Math.max(p.maxDiff, r.maxAbsDiff);
        pairs.set(key, p);
      }
      const summary = [...pairs.values()].map((p) => ({ ...p, agreement: p.n ? p.agree / p.n : 0 }));
      if (wantsJson(cmd)) return printJson(ctx, { model: name, tolerance, summary, records });
      if (records.length === 0) return print(ctx, `No shadow results recorded for ${name}. Configure shadow: {target, share} for it in ferry.yaml and serve traffic.`);
      print(ctx, table(['primary', 'shadow', 'requests', 'agreement', 'errors', 'max abs diff'], summary.map((s) => [s.primary, s.shadow, s.n, `${(s.agreement * 100).toFixed(1)}%`, s.errors, s.maxDiff.toPrecision(3)])));
    });
}
