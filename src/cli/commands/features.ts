import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ferry } from '../../core/errors.js';
import type { Cell } from '../../core/frame.js';
import { resolveService } from '../../features/declarations.js';
import { parseDeclarations } from '../../features/declarations-file.js';
import { materializeView, type MaterializeResult } from '../../features/materialize.js';
import { exportLoggedRows } from '../../features/log-export.js';
import { trainingSet } from '../../features/training-set.js';
import { readPredictions } from '../../monitoring/prediction-log-store.js';
import { parseTime } from '../../monitoring/log-window.js';
import { collect, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

/** `--entity customer_id=42,store=7` → one entity's keys (numbers stay numbers). */
function parseEntity(text: string): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw ferry('FERRY_E_USAGE', { detail: `--entity expects key=value[,key=value], got "${text}".` });
    const raw = pair.slice(eq + 1).trim();
    out[pair.slice(0, eq).trim()] = raw !== '' && Number.isFinite(Number(raw)) && !/^0\d/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString());

export function featuresCommand(program: Command, ctx: CliContext): void {
  const features = program.command('features').description('The feature layer: declared features, an online store, point-in-time training sets (see docs/features.md)');

  features.command('apply')
    .description('Validate a features.yaml (or the features: section of a ferry.yaml) and store it as the next version of the declarations')
    .argument('<file>', 'the declarations: entities, views, services')
    .option('--json', 'print {"version", "changed", "views", "services"}')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const declarations = parseDeclarations(await readFile(file, 'utf8'), file);
      const applied = await withFerry(ctx, (app, config) => app.features.apply(declarations, resolve(file), config.actor));
      const summary = { version: applied.version, changed: applied.changed, views: declarations.views.map((v) => v.name), services: declarations.services.map((s) => s.name) };
      if (wantsJson(cmd)) return printJson(ctx, summary);
      print(ctx, `${applied.changed ? 'Applied' : 'Unchanged:'} feature declarations version ${applied.version}: ${declarations.entities.length} entities, views ${summary.views.join(', ') || '-'}, services ${summary.services.join(', ') || '-'}`);
    });

  features.command('show')
    .description('Show the declarations in force, the model versions bound to services and each view\'s freshness')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const shown = await withFerry(ctx, async (app) => {
        const applied = await app.features.require();
        const store = (await app.featureLookups()).store;
        const views = await Promise.all(applied.declarations.views.map(async (v) => {
          const p = await store.progress(v.name);
          return { name: v.name, entity: v.entity, features: v.features, ttl: v.ttl ?? null, watermark: p?.watermark ?? null, newest: p?.newest ?? null, freshness_seconds: p?.newest ? (Date.now() - p.newest) / 1000 : null, materializing: p?.run !== undefined };
        }));
        return { version: applied.version, applied_at: applied.appliedAt, applied_by: applied.appliedBy, store: store.location, views, services: applied.declarations.services, bindings: await app.features.bindings() };
      });
      if (wantsJson(cmd)) return printJson(ctx, shown);
      print(ctx, `Feature declarations version ${shown.version} (applied ${shown.applied_at} by ${shown.applied_by}); online store: ${shown.store}`);
      print(ctx, table(['view', 'entity', 'features', 'ttl', 'watermark', 'newest value'], shown.views.map((v) => [v.name, v.entity, v.features.join(','), v.ttl, iso(v.watermark), iso(v.newest)])));
      print(ctx, table(['service', 'features', 'transforms'], shown.services.map((s) => [s.name, s.features.join(','), s.transforms.map((t) => `${t.name}=${t.expression}`).join('; ')])));
      if (shown.bindings.length) print(ctx, table(['model', 'version', 'service'], shown.bindings.map((b) => [b.model, b.version, b.service])));
    });

  features.command('status')
    .description('Freshness of each view (age of its newest value in the online store); with --max-staleness, fail when a view is older (for cron alerts)')
    .option('--max-staleness <duration>', 'fail with FERRY_E_FEATURE_STALE (exit 7) when a view\'s newest value is older than this (e.g. 2d)')
    .option('--json', 'print JSON')
    .action(async (opts: { maxStaleness?: string }, cmd: Command) => {
      const max = opts.maxStaleness === undefined ? undefined : parseDuration(opts.maxStaleness, '--max-staleness');
      const views = await withFerry(ctx, async (app) => (await app.featureLookups()).freshness());
      if (wantsJson(cmd)) printJson(ctx, views);
      else print(ctx, table(['view', 'newest value', 'watermark', 'freshness (s)', 'ttl'], views.map((v) => [v.view, iso(v.newest), iso(v.watermark), v.seconds === null ? null : Math.round(v.seconds), v.ttl])));
      if (max === undefined) return;
      const stale = views.filter((v) => v.seconds === null || v.seconds * 1000 > max);
      if (stale.length > 0) throw ferry('FERRY_E_FEATURE_STALE', { max: opts.maxStaleness ?? '', views: stale.map((v) => `${v.view} (${v.seconds === null ? 'never materialised' : `${Math.round(v.seconds)} s`})`).join(', ') });
    });

  features.command('materialize')
    .description('Load the latest value per entity (within ttl) of views into the online store, from each view\'s watermark; a killed run resumes where it stopped')
    .argument('[views...]', 'views to load (default: every view)')
    .option('--until <time>', 'load values with event time up to here: ISO time, epoch ms or a duration ago (default: now)')
    .option('--full', 'ignore the watermark and re-read every source row (for rows that arrived later than the view\'s lateness allows)')
    .option('--chunk-size <n>', 'entities per committed chunk', '10000')
    .option('--progress', 'print a JSON line per committed chunk on stderr')
    .option('--json', 'print one result per view')
    .action(async (names: string[], opts: { until?: string; chunkSize: string; progress?: boolean; full?: boolean }, cmd: Command) => {
      const chunkSize = Number(opts.chunkSize);
      if (!Number.isInteger(chunkSize) || chunkSize < 1) throw ferry('FERRY_E_USAGE', { detail: '--chunk-size must be a positive integer.' });
      const until = opts.until === undefined ? undefined : parseTime(opts.until, '--until');
      const results = await withFerry(ctx, async (app) => {
        const { declarations } = await app.features.require();
        const views = names.length === 0 ? declarations.views : names.map((n) => declarations.views.find((v) => v.name === n) ?? (() => { throw ferry('FERRY_E_FEATURE_VIEW_NOT_FOUND', { view: n, views: declarations.views.map((v) => v.name).join(', ') }); })());
        const store = (await app.featureLookups()).store;
        const out: MaterializeResult[] = [];
        for (const view of views) {
          const entity = declarations.entities.find((e) => e.name === view.entity);
          if (!entity) throw ferry('FERRY_E_INTERNAL', { detail: `view ${view.name} has no entity` });
          out.push(await materializeView(store, view, entity, {
            until, chunkSize, full: opts.full,
            onChunk: opts.progress ? (p) => ctx.stderr.write(`${JSON.stringify({ progress: p })}\n`) : undefined,
          }));
        }
        return out;
      });
      if (wantsJson(cmd)) return printJson(ctx, results);
      for (const r of results) print(ctx, `${r.view}: ${r.rows} entities written${r.resumed ? ` (resumed; ${r.runRows} in the whole run)` : ''}, events ${iso(r.from)} .. ${iso(r.until)}`);
    });

  features.command('get')
    .description('Look up a service\'s feature values for entities, as a model bound to it gets them')
    .argument('<service>', 'a declared feature service')
    .requiredOption('--entity <key=value>', 'an entity: its key(s), e.g. customer_id=42 (repeat for more entities)', collect)
    .option('--json', 'print JSON rows')
    .action(async (service: string, opts: { entity: string[] }, cmd: Command) => {
      const got = await withFerry(ctx, async (app) => (await app.featureLookups()).get(service, opts.entity.map(parseEntity)));
      if (wantsJson(cmd)) return printJson(ctx, { service, features: got.rows, ...(got.rejects.length ? { errors: got.rejects.map((r) => ({ index: r.row, code: r.error.code, message: r.error.message })) } : {}) });
      const columns = Object.keys(got.rows[0] ?? {});
      print(ctx, table(columns, got.rows.map((r) => columns.map((c) => r[c]))));
      for (const r of got.rejects) print(ctx, `entity ${r.row + 1}: ${r.error.message}`);
    });

  features.command('training-set')
    .description('Point-in-time training set: each entity row with every feature as of its timestamp (no values from the future; ttl applied), joined in DuckDB; or, with --from-log, what a model was served joined with its ground truth')
    .argument('<service>', 'a declared feature service')
    .option('--entities <file>', 'rows with the entity key(s), a timestamp and anything else to carry (labels): .parquet, .csv, .jsonl')
    .option('--timestamp <col>', 'the timestamp column of --entities')
    .requiredOption('--output <file>', 'where to write it: .parquet, .csv or .jsonl')
    .option('--from-log <model>', '"log and wait": the logged predictions of this model (name or name:version) bound to the service that have ground truth, with the feature values served')
    .option('--label-column <name>', 'with --from-log: the column for the ground truth', 'label')
    .option('--json', 'print {"rows", "output"}')
    .action(async (service: string, opts: { entities?: string; timestamp?: string; output: string; fromLog?: string; labelColumn: string }, cmd: Command) => {
      if (opts.fromLog === undefined && (opts.entities === undefined || opts.timestamp === undefined)) throw ferry('FERRY_E_USAGE', { detail: 'give --entities <file> and --timestamp <col>, or --from-log <model>.' });
      const result = await withFerry(ctx, async (app) => {
        const { declarations } = await app.features.require();
        const resolved = resolveService(declarations, service);
        if (opts.fromLog !== undefined) {
          const [model, v] = opts.fromLog.split(':');
          const version = v === undefined ? undefined : Number(v);
          const bound = (await app.features.bindings()).filter((b) => b.model === model && b.service === resolved.name && (version === undefined || b.version === version));
          if (bound.length === 0) throw ferry('FERRY_E_USAGE', { detail: `no version of "${opts.fromLog}" is bound to feature service "${service}" (\`ferry features bind\`)` });
          const versions = new Set(bound.map((b) => b.version));
          async function* rows() {
            for await (const p of readPredictions(app.database, { model: model ?? '', ...(version === undefined ? {} : { version }), labelled: true })) {
              if (versions.has(p.version)) yield { id: p.id, at: p.at, version: p.version, inputs: p.inputs, actual: p.actual };
            }
          }
          return { ...(await exportLoggedRows(rows(), opts.output, opts.labelColumn)), columns: undefined };
        }
        return trainingSet(resolved, { entities: opts.entities ?? '', timestamp: opts.timestamp ?? '', output: opts.output });
      });
      if (wantsJson(cmd)) return printJson(ctx, { rows: result.rows, output: opts.output, ...(result.columns ? { columns: result.columns } : {}) });
      print(ctx, `Wrote ${result.rows} rows to ${opts.output}${result.columns ? `: ${result.columns.join(', ')}` : ''}`);
    });

  features.command('bind')
    .description('Record that a feature service feeds a model version: its inputs are then looked up from entity keys in every mode')
    .argument('<model>', 'a model version: name:3, name@alias or name (latest)')
    .argument('<service>', 'a declared feature service')
    .action(async (ref: string, service: string) => {
      const bound = await withFerry(ctx, async (app, config) => {
        const version = await app.registry.resolve(ref);
        await app.features.bind(version.model, version.version, service, config.actor);
        return version;
      });
      print(ctx, `${bound.model}:${bound.version} takes its features from service "${service}".`);
    });

  features.command('unbind')
    .description('Stop looking up features for a model version (its inputs come from the request again)')
    .argument('<model>', 'a model version: name:3, name@alias or name (latest)')
    .action(async (ref: string) => {
      const v = await withFerry(ctx, async (app) => {
        const version = await app.registry.resolve(ref);
        await app.features.unbind(version.model, version.version);
        return version;
      });
      print(ctx, `${v.model}:${v.version} is no longer bound to a feature service.`);
    });
}
