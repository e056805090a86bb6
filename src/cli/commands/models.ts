import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { parseModelRef } from '../../registry/refs.js';
import { collect, parsePairs, print, printJson, table, wantsJson, withFerry, withRegistry, type CliContext } from '../context.js';
import { signatureLines, VERSION_HEADER, versionRows } from '../format.js';

export function modelsCommand(program: Command, ctx: CliContext): void {
  const models = program.command('models')
    .description('List registered models (or show one)')
    .option('--search <text>', 'only models whose name or description contains this')
    .option('--tag <k=v>', 'only models with this tag (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (opts: { search?: string; tag?: string[] }, cmd: Command) => {
      const rows = await withRegistry(ctx, async (app) => {
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
    .description("Change a model's description or tags, or which feature service feeds a version (--features)")
    .argument('<ref>', 'model name; with --features a version: name:3, name@alias or name (latest)')
    .option('--description <text>', 'new description')
    .option('--tag <k=v>', 'set a tag (repeatable; other tags are kept)', collect)
    .option('--features <service>', 'the version takes its inputs from this feature service (as `ferry features bind`)')
    .option('--no-features', 'the version no longer takes its inputs from a feature service (as `ferry features unbind`)')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { description?: string; tag?: string[]; features?: string | false }, cmd: Command) => {
      const name = parseModelRef(ref).model;
      const updated = await withFerry(ctx, async (app, config) => {
        const existing = await app.registry.store.getModel(name);
        if (!existing) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        if (ref !== name && opts.features === undefined) throw ferry('FERRY_E_USAGE', { detail: `description and tags belong to the model: give "${name}", not "${ref}" (a version is for --features)` });
        let features: { version: number; service: string | null } | undefined;
        if (opts.features !== undefined) {
          const version = await app.registry.resolve(ref);
          if (opts.features === false) await app.features.unbind(version.model, version.version);
          else await app.features.bind(version.model, version.version, opts.features, config.actor);
          features = { version: version.version, service: opts.features === false ? null : opts.features };
        }
        const model = opts.description !== undefined || opts.tag ? await app.registry.store.upsertModel(name, {
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.tag ? { tags: { ...existing.tags, ...parsePairs(opts.tag, '--tag') } } : {}),
        }) : existing;
        return { model, features };
      });
      const { model, features } = updated;
      if (wantsJson(cmd)) return printJson(ctx, { ...model, ...(features ? { features_version: features.version, features_service: features.service } : {}) });
      if (features) print(ctx, features.service === null ? `${model.name}:${features.version} is no longer bound to a feature service.` : `${model.name}:${features.version} takes its features from service "${features.service}".`);
      if (opts.description !== undefined || opts.tag || !features) print(ctx, `Updated ${model.name}: ${model.description || '(no description)'}; tags ${Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`);
    });

  models.command('show')
    .description('Show one model: description, tags, aliases and versions')
    .argument('<name>', 'model name')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const detail = await withRegistry(ctx, async (app) => {
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
