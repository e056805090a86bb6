import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { collect, parsePairs, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';
import { signatureLines, VERSION_HEADER, versionRows } from '../format.js';

export function modelsCommand(program: Command, ctx: CliContext): void {
  const models = program.command('models')
    .description('List registered models (or show one)')
    .option('--search <text>', 'only models whose name or description contains this')
    .option('--tag <k=v>', 'only models with this tag (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (opts: { search?: string; tag?: string[] }, cmd: Command) => {
      const rows = await withFerry(ctx, async (app) => {
        const list = await app.registry.store.listModels({ ...(opts.search ? { search: opts.search } : {}), tags: parsePairs(opts.tag, '--tag') });
        return Promise.all(list.map(async (m) => ({
          ...m,
          latest: (await app.registry.store.latestVersion(m.name))?.version ?? null,
          aliases: Object.fromEntries((await app.registry.store.listAliases(m.name)).map((a) => [a.alias, a.version])),
        })));
      });
      if (wantsJson(cmd)) return printJson(ctx, rows);
      if (rows.length === 0) return print(ctx, 'No models registered yet. Register one: ferry register model.onnx --name <model>');
      print(ctx, table(['name', 'latest', 'versions', 'aliases', 'description'], rows.map((m) => [
        m.name, m.latest ?? '-', m.lastVersion,
        Object.entries(m.aliases).map(([a, v]) => `${a}→${v}`).join(',') || '-',
        m.description || '-',
      ])));
    });

  models.command('update')
    .description("Change a model's description or tags")
    .argument('<name>', 'model name')
    .option('--description <text>', 'new description')
    .option('--tag <k=v>', 'set a tag (repeatable; other tags are kept)', collect)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { description?: string; tag?: string[] }, cmd: Command) => {
      const model = await withFerry(ctx, async (app) => {
        const existing = await app.registry.store.getModel(name);
        if (!existing) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return app.registry.store.upsertModel(name, {
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.tag ? { tags: { ...existing.tags, ...parsePairs(opts.tag, '--tag') } } : {}),
        });
      });
      if (wantsJson(cmd)) return printJson(ctx, model);
      print(ctx, `Updated ${model.name}: ${model.description || '(no description)'}; tags ${Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`);
    });

  models.command('show')
    .description('Show one model: description, tags, aliases and versions')
    .argument('<name>', 'model name')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const detail = await withFerry(ctx, async (app) => {
        const model = await app.registry.store.getModel(name);
        if (!model) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        const versions = await app.registry.store.listVersions(name, { includeArchived: true });
        const aliases = await app.registry.store.listAliases(name);
        return { ...model, aliases, versions };
      });
      if (wantsJson(cmd)) return printJson(ctx, detail);
      const latest = [...detail.versions].reverse().find((v) => !v.archivedAt);
      print(ctx, [
        `${detail.name}${detail.description ? ` — ${detail.description}` : ''}`,
        `tags: ${Object.entries(detail.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
        `aliases: ${detail.aliases.map((a) => `${a.alias}→${a.version}`).join(', ') || '-'}`,
        '',
        table(VERSION_HEADER, versionRows(detail.versions)),
        ...(latest ? ['', `signature of ${detail.name}:${latest.version}:`, ...signatureLines(latest.signature)] : []),
      ].join('\n'));
    });
}
