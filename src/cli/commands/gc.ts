import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';

export function gcCommand(program: Command, ctx: CliContext): void {
  program.command('gc')
    .description('Remove stored artifacts that no version uses (left by a crash mid-registration) and unfinished writes')
    .option('--min-age <age>', 'only what is older than this (e.g. 30s, 10m, 1h), so registrations in progress are untouched', '10m')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { minAge: string; dryRun?: boolean }, cmd: Command) => {
      const minAgeMs = parseDuration(opts.minAge, '--min-age');
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
