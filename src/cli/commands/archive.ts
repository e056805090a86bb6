import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { parseModelRef } from '../../registry/refs.js';
import { print, printJson, wantsJson, withRegistry, type CliContext } from '../context.js';

export function archiveCommand(program: Command, ctx: CliContext): void {
  program.command('archive')
    .description('Archive a version: it stays stored but is no longer the latest (refused while an alias points at it)')
    .argument('<ref>', 'name:version (or name@alias / name for the version it resolves to)')
    .option('--restore', 'bring an archived version back')
    .option('--json', 'print the version as JSON')
    .action(async (ref: string, opts: { restore?: boolean }, cmd: Command) => {
      const version = await withRegistry(ctx, (app) => app.registry.archive(ref, opts.restore === true));
      if (wantsJson(cmd)) return printJson(ctx, version);
      print(ctx, `${opts.restore ? 'Restored' : 'Archived'} ${version.model}:${version.version}`);
    });

  program.command('delete')
    .description('Delete a version for good: its metadata, and its artifact if no other version uses it (refused while an alias points at it)')
    .argument('<ref>', 'name:version')
    .option('--json', 'print the deleted version as JSON')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const parsed = parseModelRef(ref);
      if (parsed.kind !== 'version') throw ferry('FERRY_E_USAGE', { detail: `delete needs an explicit version, e.g. ${parsed.model}:3.` });
      const version = await withRegistry(ctx, (app) => app.registry.deleteVersion(parsed.model, parsed.version));
      if (wantsJson(cmd)) return printJson(ctx, version);
      print(ctx, `Deleted ${version.model}:${version.version}`);
    });
}
