import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { checkName } from '../../registry/refs.js';
import { collect, parsePairs, print, printJson, table, wantsJson, withRegistry, type CliContext } from '../context.js';
import { VERSION_HEADER, versionRows } from '../format.js';

export function versionsCommand(program: Command, ctx: CliContext): void {
  program.command('versions')
    .description('List the versions of a model')
    .argument('<name>', 'model name')
    .option('--all', 'include archived versions')
    .option('--tag <k=v>', 'only versions with this tag (repeatable)', collect)
    .option('--format <format>', 'only versions of this artifact format')
    .option('--json', 'print a JSON array of versions')
    .action(async (name: string, opts: { all?: boolean; tag?: string[]; format?: string }, cmd: Command) => {
      checkName('Model', name);
      const versions = await withRegistry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(name))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return app.registry.store.listVersions(name, { includeArchived: opts.all === true, tags: parsePairs(opts.tag, '--tag'), ...(opts.format ? { format: opts.format } : {}) });
      });
      if (wantsJson(cmd)) return printJson(ctx, versions);
      if (versions.length === 0) return print(ctx, `${name} has no ${opts.all ? '' : 'live '}versions${opts.all ? '' : ' (--all shows archived ones)'}.`);
      print(ctx, table(VERSION_HEADER, versionRows(versions)));
    });
}
