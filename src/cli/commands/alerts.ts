import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { ALERT_KINDS, listEvents, listRules, removeRule, saveRule, type AlertKind, type AlertRule } from '../../monitoring/alerts-store.js';
import { AlertEngine, DEFAULT_DELIVERY, scrapeCounter } from '../../monitoring/alerts.js';
import { parseWindow } from '../../monitoring/drift-run.js';
import { parseModelRef } from '../../registry/refs.js';
import { collect, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

interface AddOptions {
  model?: string;
  view?: string;
  kind: string;
  threshold?: string;
  metric?: string;
  window: string;
  minRows?: string;
  webhook?: string[];
  hookUrl?: string;
  hookCommand?: string;
  dedup: string;
  disabled?: boolean;
}

export function alertsCommand(program: Command, ctx: CliContext): void {
  const alerts = program.command('alerts')
    .description('Alert rules (drift, live metric, error rate, p99 latency, attribution drift, feature staleness) evaluated periodically, delivered to webhooks, with history');

  alerts.command('add')
    .description('Add (or replace) an alert rule')
    .argument('<name>', 'rule name')
    .option('--model <ref>', 'model reference: name, name:3 or name@alias (every kind but feature-staleness)')
    .requiredOption('--kind <kind>', `what to watch: ${ALERT_KINDS.join(', ')}`)
    .option('--view <name>', 'kind feature-staleness: the feature view watched (default: every declared view)')
    .option('--threshold <x>', 'drift: drifted-feature share (default 0.5); metric: fires below it (above it for errors/losses); error-rate: share 0–1; latency-p99: ms; attribution-drift: change of attribution shares, 0–1 (default 0.2); feature-staleness: the oldest a view\'s newest value may be (2d, 6h, or seconds)')
    .option('--metric <name>', 'kind metric: the live metric (accuracy, f1, roc_auc, log_loss, mae, rmse, r2, …)', 'accuracy')
    .option('--window <duration>', 'the window of the prediction log looked at', '1h')
    .option('--min-rows <n>', 'fewest rows (labelled rows for metric) needed for a verdict', '1')
    .option('--webhook <url>', 'POST alerts (JSON) here (repeatable)', collect)
    .option('--hook-url <url>', 'retraining hook: POST the alert here when the rule fires')
    .option('--hook-command <cmd>', 'retraining hook: run this shell command when the rule fires (alert in FERRY_ALERT_* variables and on stdin)')
    .option('--dedup <duration>', 'do not re-send the same rule and state within this time', '1h')
    .option('--disabled', 'store the rule switched off')
    .option('--json', 'print the rule as JSON')
    .action(async (name: string, opts: AddOptions, cmd: Command) => {
      const rule = parseRule(name, opts);
      await withFerry(ctx, async (app) => {
        if (rule.kind === 'feature-staleness') {
          const { declarations } = await app.features.require();
          if (rule.view !== undefined && !declarations.views.some((v) => v.name === rule.view)) throw ferry('FERRY_E_FEATURE_VIEW_NOT_FOUND', { view: rule.view, views: declarations.views.map((v) => v.name).join(', ') });
        } else {
          await app.registry.resolve(rule.model);
        }
        // A destination the server would refuse is refused now, not at the first firing.
        for (const url of [...rule.webhooks, ...(rule.hook && 'url' in rule.hook ? [rule.hook.url] : [])]) await app.webhooks.check(url);
        await saveRule(app.database, rule);
      });
      if (wantsJson(cmd)) return printJson(ctx, rule);
      print(ctx, `Alert rule "${name}" stored: ${describe(rule)}`);
    });

  alerts.command('list')
    .description('List the alert rules')
    .option('--json', 'print the rules as JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const rules = await withFerry(ctx, (app) => listRules(app.database));
      if (wantsJson(cmd)) return printJson(ctx, rules);
      if (rules.length === 0) return print(ctx, 'No alert rules. Add one with `ferry alerts add <name> --model <ref> --kind drift --webhook <url>`.');
      print(ctx, table(['name', 'model', 'kind', 'rule', 'webhooks', 'hook', 'enabled'], rules.map((r) => [r.name, r.model, r.kind, describe(r), r.webhooks.length, r.hook ? ('url' in r.hook ? 'url' : 'command') : '-', r.enabled ? 'yes' : 'no'])));
    });

  alerts.command('remove')
    .description('Remove an alert rule (its history stays)')
    .argument('<name>', 'rule name')
    .action(async (name: string) => {
      await withFerry(ctx, (app) => removeRule(app.database, name));
      print(ctx, `Alert rule "${name}" removed.`);
    });

  alerts.command('run')
    .description('Evaluate the rules now (--once) or every --interval until stopped, delivering alerts to their webhooks')
    .option('--once', 'evaluate once and exit')
    .option('--interval <duration>', 'time between evaluations', '1m')
    .option('--server <url>', 'a running `ferry serve` whose /metrics gives request counts for error-rate rules')
    .option('--retries <n>', 'delivery attempts per webhook', String(DEFAULT_DELIVERY.attempts))
    .option('--backoff <ms>', 'first retry delay; doubles on each retry', String(DEFAULT_DELIVERY.baseDelayMs))
    .option('--json', 'with --once: print what each rule did as JSON')
    .action(async (opts: { once?: boolean; interval: string; server?: string; retries: string; backoff: string }, cmd: Command) => {
      const attempts = Number(opts.retries);
      const baseDelayMs = Number(opts.backoff);
      if (!Number.isInteger(attempts) || attempts < 1 || !(baseDelayMs >= 0)) throw ferry('FERRY_E_USAGE', { detail: '--retries must be a positive integer and --backoff a number of ms ≥ 0.' });
      const intervalMs = parseWindow(opts.interval);
      await withFerry(ctx, async (app) => {
        const engine = new AlertEngine(app, {
          delivery: { ...DEFAULT_DELIVERY, attempts, baseDelayMs, destinations: app.webhooks },
          requestCounter: opts.server ? scrapeCounter(opts.server) : undefined,
          featureFreshness: async () => (await app.featureLookups()).freshness(),
          log: (msg, extra) => ctx.stderr.write(`${msg}${extra ? ` ${JSON.stringify(extra)}` : ''}\n`),
        });
        if (opts.once) {
          const results = await engine.tick();
          if (wantsJson(cmd)) return printJson(ctx, results);
          if (results.length === 0) return print(ctx, 'No enabled alert rules.');
          print(ctx, table(['rule', 'state', 'value', 'action', 'delivery', 'message'], results.map((r) => [r.rule, r.verdict.state, r.verdict.value, r.action, r.event?.delivery ?? '-', r.verdict.message])));
          return;
        }
        print(ctx, `Evaluating alert rules every ${opts.interval}; stop with Ctrl-C.`);
        await new Promise<void>((resolve) => {
          engine.start(intervalMs);
          const stop = () => { void engine.stop().then(resolve); };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      });
    });

  alerts.command('history')
    .description('Alerts sent (and failed deliveries), newest first')
    .option('--rule <name>', 'only this rule')
    .option('--model <name>', 'only rules of this model')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print the history as JSON')
    .action(async (opts: { rule?: string; model?: string; limit: string }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw ferry('FERRY_E_USAGE', { detail: '--limit must be a positive integer.' });
      const events = await withFerry(ctx, (app) => listEvents(app.database, { rule: opts.rule, model: opts.model, limit }));
      if (wantsJson(cmd)) return printJson(ctx, events);
      if (events.length === 0) return print(ctx, 'No alerts recorded.');
      print(ctx, table(['at', 'rule', 'state', 'value', 'delivery', 'attempts', 'message', 'error'], events.map((e) => [e.at.replace('T', ' ').slice(0, 19), e.rule, e.state, e.value, e.delivery, e.attempts, e.message, e.error ?? '-'])));
    });
}

/** Validate the flags of `alerts add` into a rule. */
export function parseRule(name: string, opts: AddOptions): AlertRule {
  const bad = (detail: string) => ferry('FERRY_E_ALERT_RULE_INVALID', { detail });
  if (!/^[A-Za-z0-9][\w.-]{0,127}$/.test(name)) throw bad(`the name "${name}" must be 1–128 letters, digits, ".", "_" or "-"`);
  if (!(ALERT_KINDS as readonly string[]).includes(opts.kind)) throw bad(`--kind "${opts.kind}" is not one of ${ALERT_KINDS.join(', ')}`);
  const kind = opts.kind as AlertKind;
  const features = kind === 'feature-staleness';
  if (features && opts.model !== undefined) throw bad('a feature-staleness rule watches a feature view (--view), not a model');
  if (!features && opts.view !== undefined) throw bad('--view is for feature-staleness rules');
  if (!features && opts.model === undefined) throw bad(`--model is required for ${kind} rules`);
  if (!features) parseModelRef(opts.model ?? '');
  const threshold = opts.threshold === undefined ? (kind === 'drift' ? 0.5 : kind === 'attribution-drift' ? 0.2 : undefined)
    : features && !/^\d+(\.\d+)?$/.test(opts.threshold) ? parseWindow(opts.threshold) / 1000 : Number(opts.threshold);
  if (threshold === undefined || !Number.isFinite(threshold)) throw bad(`--threshold is required for ${kind} rules and must be a number`);
  if (kind === 'drift' && !(threshold > 0 && threshold <= 1)) throw bad('a drift threshold is a share of features in (0, 1]');
  if (kind === 'attribution-drift' && !(threshold > 0 && threshold < 1)) throw bad('an attribution-drift threshold is a distance between shares, in (0, 1)');
  parseWindow(opts.window);
  const dedupSeconds = parseWindow(opts.dedup) / 1000;
  const minRows = Number(opts.minRows ?? '1');
  if (!Number.isInteger(minRows) || minRows < 1) throw bad('--min-rows must be a positive integer');
  for (const url of [...(opts.webhook ?? []), ...(opts.hookUrl ? [opts.hookUrl] : [])]) {
    if (!/^https?:\/\/\S+$/.test(url)) throw bad(`"${url}" is not an http(s) URL`);
  }
  if (opts.hookUrl && opts.hookCommand) throw bad('give --hook-url or --hook-command, not both');
  return {
    name, model: opts.model ?? '', kind, threshold, ...(kind === 'metric' ? { metric: opts.metric ?? 'accuracy' } : {}),
    ...(features && opts.view !== undefined ? { view: opts.view } : {}),
    window: opts.window, minRows, webhooks: opts.webhook ?? [],
    ...(opts.hookUrl ? { hook: { url: opts.hookUrl } } : opts.hookCommand ? { hook: { command: opts.hookCommand } } : {}),
    dedupSeconds, enabled: !opts.disabled, createdAt: new Date().toISOString(),
  };
}

function describe(r: AlertRule): string {
  if (r.kind === 'feature-staleness') return `feature view ${r.view ?? '(every view)'}: newest value older than ${r.threshold} s`;
  const what = r.kind === 'drift' ? `drifted share ≥ ${r.threshold}` : r.kind === 'metric' ? `${r.metric ?? 'accuracy'} beyond ${r.threshold}` : r.kind === 'error-rate' ? `error rate > ${r.threshold}`
    : r.kind === 'attribution-drift' ? `attribution shares moved > ${r.threshold}` : `p99 latency > ${r.threshold} ms`;
  return `${r.model}: ${what} over ${r.window ?? '1h'}`;
}
