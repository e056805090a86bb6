import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import type { AliasEvent } from '../../registry/types.js';
import { print, printJson, table, wantsJson, withRegistry, type CliContext } from '../context.js';

export function aliasCommand(program: Command, ctx: CliContext): void {
  const alias = program.command('alias').description('Point names such as champion or challenger at versions');

  const describe = (e: AliasEvent) => `${e.model}@${e.alias}: ${e.fromVersion ?? 'none'} → ${e.toVersion ?? 'none'}`;

  alias.command('set')
    .description('Point an alias at a version (moves it atomically; the move is recorded)')
    .argument('<name>', 'model name').argument('<alias>', 'alias, e.g. champion').argument('<version>', 'version number or reference')
    .option('--json', 'print the recorded move as JSON')
    .action(async (name: string, aliasName: string, version: string, _o: unknown, cmd: Command) => {
      const event = await withRegistry(ctx, (app, config) => app.registry.setAlias(name, aliasName, version, config.actor));
      if (wantsJson(cmd)) return printJson(ctx, event);
      print(ctx, `Moved ${describe(event)}`);
    });

  alias.command('rollback')
    .description('Move an alias back to the version it pointed at before its last move')
    .argument('<name>', 'model name').argument('<alias>', 'alias')
    .option('--json', 'print the recorded move as JSON')
    .action(async (name: string, aliasName: string, _o: unknown, cmd: Command) => {
      const event = await withRegistry(ctx, (app, config) => app.registry.rollbackAlias(name, aliasName, config.actor));
      if (wantsJson(cmd)) return printJson(ctx, event);
      print(ctx, `Rolled back ${describe(event)}`);
    });

  alias.command('delete')
    .description('Remove an alias (the removal is recorded)')
    .argument('<name>', 'model name').argument('<alias>', 'alias')
    .option('--json', 'print the recorded move as JSON')
    .action(async (name: string, aliasName: string, _o: unknown, cmd: Command) => {
      const event = await withRegistry(ctx, (app, config) => app.registry.store.deleteAlias(name, aliasName, config.actor));
      if (wantsJson(cmd)) return printJson(ctx, event);
      print(ctx, `Deleted ${describe(event)}`);
    });

  alias.command('list')
    .description('List the aliases of a model')
    .argument('<name>', 'model name')
    .option('--json', 'print JSON')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const aliases = await withRegistry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(name))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return app.registry.store.listAliases(name);
      });
      if (wantsJson(cmd)) return printJson(ctx, aliases);
      print(ctx, table(['alias', 'version', 'moved by', 'moved at'], aliases.map((a) => [a.alias, a.version, a.updatedBy, a.updatedAt])));
    });

  alias.command('history')
    .description('Show who moved which alias when, newest first')
    .argument('<name>', 'model name').argument('[alias]', 'only this alias')
    .option('--json', 'print JSON')
    .action(async (name: string, aliasName: string | undefined, _o: unknown, cmd: Command) => {
      const events = await withRegistry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(name))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return app.registry.store.aliasHistory(name, aliasName);
      });
      if (wantsJson(cmd)) return printJson(ctx, events);
      if (events.length === 0) return print(ctx, `No alias moves recorded for ${name}${aliasName ? `@${aliasName}` : ''}.`);
      print(ctx, table(['at', 'alias', 'from', 'to', 'by', 'note'], events.map((e) => [e.at, e.alias, e.fromVersion ?? 'none', e.toVersion ?? 'none', e.actor, e.note ?? ''])));
    });
}
