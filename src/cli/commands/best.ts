import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { higherIsBetter } from '../../monitoring/quality-metrics.js';
import { print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

export function bestCommand(program: Command, ctx: CliContext): void {
  program.command('best')
    .description('Name the best version of a model by a registry metric (versions that are not archived)')
    .argument('<model>', 'model name')
    .requiredOption('--metric <name>', 'the metric to rank by (as given to `ferry register --metric`)')
    .option('--max', 'larger is better (the default, except for errors and losses such as rmse, mae, log_loss)')
    .option('--min', 'smaller is better')
    .option('--json', 'print the ranking as JSON')
    .action(async (model: string, opts: { metric: string; max?: boolean; min?: boolean }, cmd: Command) => {
      if (opts.max && opts.min) throw ferry('FERRY_E_USAGE', { detail: 'give --max or --min, not both.' });
      const larger = opts.min ? false : opts.max ? true : higherIsBetter(opts.metric);
      const versions = await withFerry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
        return app.registry.store.listVersions(model);
      });
      const ranked = versions
        .filter((v) => typeof v.metrics[opts.metric] === 'number' && !Number.isNaN(v.metrics[opts.metric]))
        .map((v) => ({ version: v.version, value: v.metrics[opts.metric] as number, aliases: v.aliases }))
        .sort((a, b) => (larger ? b.value - a.value : a.value - b.value) || b.version - a.version);
      const best = ranked[0];
      if (!best) throw ferry('FERRY_E_METRIC_UNAVAILABLE', { metric: opts.metric, subject: `any live version of "${model}"`, hint: 'Record it at registration with --metric <name>=<value>.' });
      if (wantsJson(cmd)) return printJson(ctx, { model, metric: opts.metric, direction: larger ? 'max' : 'min', best, ranking: ranked });
      print(ctx, table(['rank', 'version', opts.metric, 'aliases'], ranked.map((r, i) => [i + 1, r.version, r.value, r.aliases.join(',') || '-'])));
      print(ctx, `Best: ${model}:${best.version} (${opts.metric} = ${best.value}, ${larger ? 'higher' : 'lower'} is better). Promote it with: ferry promote ${model} ${best.version} --to champion`);
    });
}
