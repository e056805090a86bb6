import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function gcCommand(program: Command, ctx: CliContext): void {
  program.command('gc')
    .description('Remove stored artifacts that no version uses (left by a crash mid-registration) and unfinished writes')
    .option('--min-age <age>', 'only what is older than this (e.g. 30s, 10m, 1h), so registrations in progress are untouched', '10m')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { minAge: string; dryRun?: boolean }, cmd: Command) => {
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(opts.minAge.trim());
      if (!m?.[1] || !m[2]) throw ferry('FERRY_E_USAGE', { detail: `--min-age "${opts.minAge}" must be a number with a unit: ms, s, m, h or d (e.g. 10m).` });
      const minAgeMs = Number(m[1]) * (UNITS[m[2]] ?? 1);
      const result = await withFerry(ctx, (app) => app.registry.gc({ minAgeMs, dryRun: opts.dryRun === true }));
      if (wantsJson(cmd)) return printJson(ctx, { ...result, dryRun: opts.dryRun === true });
      const verb = opts.dryRun ? 'Would remove' : 'Removed';
      print(ctx, [
        `${verb} ${result.orphans.length} unreferenced artifact(s)${result.orphans.length ? ':' : '.'}`,
        ...result.orphans.map((d) => `  ${d}`),
        ...(opts.dryRun ? [] : [`Removed ${result.incomplete} unfinished write(s).`]),
      ].join('\n'));
    });
}
