import type { Command } from 'commander';
import type { Ferry } from '../../main/ferry.js';
import { ferry } from '../../core/errors.js';
import { parseModelRef } from '../../registry/refs.js';
import { attributionSummary, type AttributionSummary } from '../../monitoring/attributions.js';
import { liveMetrics, type LiveMetrics, type Task } from '../../monitoring/live-metrics.js';
import { listPredictions, deletePredictionsBefore, predictionJson } from '../../monitoring/prediction-log-store.js';
import { parseDuration } from '../../core/duration.js';
import { CLI_FLAGS, listingQuery, windowQuery, type WindowOptions } from '../../monitoring/log-window.js';
import { print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

/**
 * The `ferry monitor` command group. Other monitoring commands attach their subcommands with
 * `monitorOf(program)` (e.g. `monitor drift`), so the group has one owner and no shared list.
 */
export function monitorOf(program: Command): Command {
  return program.commands.find((c) => c.name() === 'monitor')
    ?? program.command('monitor').description('Watch served models: the prediction log, live metrics from ground truth, drift');
}

const WINDOW_HELP = {
  window: 'the last duration, e.g. 1h, 30m, 7d (until now or --until)',
  since: 'from this time: ISO date/time, epoch ms, or a duration ago (2h)',
  until: 'before this time (same forms as --since)',
  last: 'only the newest N predictions',
};

type WindowFlags = WindowOptions;

function windowOptions(cmd: Command): Command {
  return cmd
    .option('--window <duration>', WINDOW_HELP.window)
    .option('--since <time>', WINDOW_HELP.since)
    .option('--until <time>', WINDOW_HELP.until)
    .option('--last <n>', WINDOW_HELP.last);
}

/** `ferry monitor log`, `ferry monitor metrics`, `ferry monitor prune`. */
export function monitorCommand(program: Command, ctx: CliContext): void {
  const monitor = monitorOf(program);

  windowOptions(monitor.command('log')
    .description('Show logged predictions of a model (newest last): id, version, time, inputs, outputs, latency, confidence, ground truth')
    .argument('<ref>', REF_HELP))
    .option('--limit <n>', 'show at most this many (the newest)', '20')
    .option('--low-confidence', 'only predictions flagged below the model\'s minimum confidence')
    .option('--labelled', 'only predictions with ground truth')
    .option('--unlabelled', 'only predictions without ground truth')
    .option('--json', 'print the predictions as JSON')
    .action(async (ref: string, opts: WindowFlags & { limit: string; lowConfidence?: boolean; labelled?: boolean; unlabelled?: boolean }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw ferry('FERRY_E_USAGE', { detail: '--limit must be a positive whole number.' });
      if (opts.labelled && opts.unlabelled) throw ferry('FERRY_E_USAGE', { detail: 'give --labelled or --unlabelled, not both.' });
      const { model, rows } = await withFerry(ctx, async (app) => {
        const target = await logTarget(app, ref);
        const window = windowQuery(target.model, { ...opts, version: target.version }, CLI_FLAGS);
        const query = listingQuery(window, limit, { lowConfidence: opts.lowConfidence === true, labelled: opts.labelled ? true : opts.unlabelled ? false : undefined });
        return { model: target.model, rows: await listPredictions(app.database, query) };
      });
      if (wantsJson(cmd)) return printJson(ctx, rows.map(predictionJson));
      if (rows.length === 0) return print(ctx, `No logged predictions of ${model} match. Serve it with prediction logging on (ferry serve --log-predictions, or log: in ferry.yaml).`);
      print(ctx, table(['id', 'version', 'at', 'source', 'outputs', 'confidence', 'actual', 'latency ms'], rows.map((p) => [
        p.id, p.version, new Date(p.at).toISOString(), p.source, short(JSON.stringify(p.outputs)),
        p.confidence === null ? '-' : `${p.confidence.toFixed(3)}${p.lowConfidence ? ' (low)' : ''}`,
        p.actual === undefined ? '-' : JSON.stringify(p.actual), p.latencyMs.toFixed(2),
      ])));
    });

  windowOptions(monitor.command('metrics')
    .description('Live metrics of a model from ground truth attached with `ferry feedback`: accuracy, precision, recall, F1, ROC AUC, log loss (classification) or MAE, RMSE, R² (regression), with label coverage')
    .argument('<ref>', REF_HELP))
    .option('--task <task>', 'classification | regression | auto (from the logged outputs)', 'auto')
    .option('--output <name>', 'the output holding the prediction (default: found from the outputs)')
    .option('--json', 'print the metrics as JSON')
    .action(async (ref: string, opts: WindowFlags & { task: string; output?: string }, cmd: Command) => {
      if (!['auto', 'classification', 'regression'].includes(opts.task)) throw ferry('FERRY_E_USAGE', { detail: `--task must be classification, regression or auto, not "${opts.task}".` });
      const m = await withFerry(ctx, async (app) => {
        const target = await logTarget(app, ref);
        const query = windowQuery(target.model, { ...opts, version: target.version, window: opts.window ?? (opts.since === undefined && opts.last === undefined ? '1h' : undefined) }, CLI_FLAGS);
        return liveMetrics(app.database, query, { task: opts.task as Task, output: opts.output });
      });
      if (wantsJson(cmd)) return printJson(ctx, m);
      print(ctx, describeMetrics(m));
    });

  windowOptions(monitor.command('attributions')
    .description('Mean absolute contribution per input column over a window of explained predictions (logged with explanations on), and its share; docs/explain.md')
    .argument('<ref>', REF_HELP))
    .option('--json', 'print the summary as JSON')
    .action(async (ref: string, opts: WindowFlags, cmd: Command) => {
      const summary = await withFerry(ctx, async (app) => {
        const target = await logTarget(app, ref);
        const query = windowQuery(target.model, { ...opts, version: target.version, window: opts.window ?? (opts.since === undefined && opts.last === undefined ? '1h' : undefined) }, CLI_FLAGS);
        return attributionSummary(app.database, query);
      });
      if (wantsJson(cmd)) return printJson(ctx, summary);
      print(ctx, describeAttributions(summary));
    });

  monitor.command('prune')
    .description('Delete logged predictions older than a duration (the server does this hourly when prediction_log.retention_days is set)')
    .requiredOption('--older-than <duration>', 'e.g. 30d')
    .option('--json', 'print {"deleted": n}')
    .action(async (opts: { olderThan: string }, cmd: Command) => {
      const before = Date.now() - parseDuration(opts.olderThan, '--older-than');
      const deleted = await withFerry(ctx, (app) => deletePredictionsBefore(app.database, before));
      if (wantsJson(cmd)) return printJson(ctx, { deleted, before: new Date(before).toISOString() });
      print(ctx, `Deleted ${deleted} prediction(s) logged before ${new Date(before).toISOString()}.`);
    });
}

const REF_HELP = 'model name (every version), or name:3 / name@alias (that version only)';

/** A name covers every logged version; `name:3` and `name@alias` one version. */
async function logTarget(app: Ferry, ref: string): Promise<{ model: string; version: string | undefined }> {
  const parsed = parseModelRef(ref);
  if (!(await app.registry.store.getModel(parsed.model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: parsed.model });
  if (parsed.kind === 'latest') return { model: parsed.model, version: undefined };
  const version = (await app.registry.resolve(parsed)).version;
  return { model: parsed.model, version: String(version) };
}

function describeMetrics(m: LiveMetrics): string {
  const window = `${m.since === null ? 'the beginning' : new Date(m.since).toISOString()} → ${m.until === null ? 'now' : new Date(m.until).toISOString()}`;
  const lines = [
    `${m.model}${m.version === null ? '' : `:${m.version}`} · ${window}`,
    `predictions ${m.total} · labelled ${m.labelled} (coverage ${(m.coverage * 100).toFixed(1)}%) · low confidence ${m.lowConfidence}${m.meanConfidence === null ? '' : ` · mean confidence ${m.meanConfidence.toFixed(3)}`}`,
  ];
  if (m.labelled === 0) return [...lines, 'No ground truth yet: attach actual values with `ferry feedback --file <f>` or POST /v1/feedback.'].join('\n');
  lines.push(`task ${m.task} · output ${m.output ?? '-'}`, '');
  lines.push(table(['metric', 'value'], Object.entries(m.metrics).map(([k, v]) => [k, v === null ? 'n/a' : v.toFixed(4)])));
  if (m.perClass) {
    lines.push('', table(['class', 'precision', 'recall', 'f1', 'support'], Object.entries(m.perClass).map(([c, s]) => [c, s.precision.toFixed(4), s.recall.toFixed(4), s.f1.toFixed(4), s.support])));
  }
  return lines.join('\n');
}

function describeAttributions(a: AttributionSummary): string {
  const head = `${a.model}${a.version === null ? '' : `:${a.version}`} · ${a.since ?? 'the beginning'} → ${a.until} · ${a.rows} explained prediction(s)${a.space ? ` · ${a.space} space` : ''}`;
  if (a.rows === 0) return `${head}\nNo explained predictions in the window: log them with explanations on (e.g. ferry batch run --explain --log-predictions, or requests with explain: true to a server that logs).`;
  return `${head}\n\n${table(['feature', 'mean |contribution|', 'share'], a.features.map((f) => [f.feature, f.mean_abs.toPrecision(4), `${(f.share * 100).toFixed(1)}%`]))}`;
}

function short(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
