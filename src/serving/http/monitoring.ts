import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { ColumnFrame } from '../../core/frame.js';
import { ferry } from '../../core/errors.js';
import { listEvents, listRules } from '../../monitoring/alerts-store.js';
import { compareVersions } from '../../monitoring/compare.js';
import { DRIFT_TESTS, type DriftOptions, type DriftResult, type DriftTestName } from '../../monitoring/drift.js';
import { driftReport, parseWindow, type DriftReport } from '../../monitoring/drift-run.js';
import { driftTimeline, featureHistogram } from '../../monitoring/drift-timeline.js';
import { requireProfile } from '../../monitoring/profile-store.js';
import { profileSummary, referenceRows } from '../../monitoring/profile-view.js';
import type { ModelVersion } from '../../registry/types.js';
import type { ServingContext } from '../context.js';

interface DriftQuery {
  version?: string;
  window?: string;
  last?: string;
  test?: string;
  threshold?: string;
  share?: string;
}

/**
 * Prometheus gauges of the latest drift computed for each model (REST call or alert rule). Under
 * `serve --processes N` a process's figures are not added to another's: the first one that has them is shown.
 */
export class DriftGauges {
  readonly share: Gauge<'model' | 'version' | 'target'>;
  readonly detected: Gauge<'model' | 'version' | 'target'>;
  readonly column: Gauge<'model' | 'version' | 'column' | 'test'>;

  constructor(registry: Registry) {
    this.share = new Gauge({ name: 'ferry_drift_share', help: 'Share of columns that drifted in the latest drift test (target: features or predictions).', labelNames: ['model', 'version', 'target'], registers: [registry], aggregator: 'first' });
    this.detected = new Gauge({ name: 'ferry_drift_detected', help: '1 when the latest drift test found dataset (or prediction) drift, else 0.', labelNames: ['model', 'version', 'target'], registers: [registry], aggregator: 'first' });
    this.column = new Gauge({ name: 'ferry_drift_column_drifted', help: '1 when the column drifted in the latest drift test, else 0.', labelNames: ['model', 'version', 'column', 'test'], registers: [registry], aggregator: 'first' });
  }

  record(report: DriftReport): void {
    const version = String(report.version);
    const set = (target: string, r: DriftResult) => {
      this.share.labels(report.model, version, target).set(r.share);
      this.detected.labels(report.model, version, target).set(r.dataset_drift ? 1 : 0);
      for (const f of r.features) this.column.labels(report.model, version, f.name, f.test).set(f.drift ? 1 : 0);
    };
    set('features', report.features);
    if (report.predictions) set('predictions', report.predictions);
  }
}

/**
 * `GET /ferry/v1/models/{model}/drift?window=1h|last=N[&version=3&test=psi&threshold=&share=]`:
 * the version's reference profile against its logged predictions (feature and prediction
 * drift), shaped like `ferry monitor drift --json` plus the prediction drift. Sets the gauges.
 */
export function monitoringRoutes(app: FastifyInstance, ctx: ServingContext, gauges: DriftGauges): void {
  // Live traffic of this server from memory (every process's under `serve --processes`): `?model=&seconds=60&step=` (seconds ≤ 300).
  app.get('/ferry/v1/traffic', async (req: FastifyRequest<{ Querystring: { model?: string; seconds?: string; step?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const seconds = q.seconds === undefined ? undefined : Number(q.seconds);
    const step = q.step === undefined ? undefined : Number(q.step);
    if ((seconds !== undefined && !(seconds >= 1)) || (step !== undefined && !(step >= 1))) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'seconds/step', detail: 'both must be ≥ 1' });
    return (await ctx.group.traffic(ctx.traffic, seconds ?? 60)).snapshot({ model: q.model || undefined, seconds, step });
  });

  // Canary weights and shadow settings of each served model (and who set them in the registry), with the shadow outcomes counted since start.
  app.get('/ferry/v1/traffic/split', async (req: FastifyRequest<{ Querystring: { model?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const outcomes = (await (await ctx.group.metrics(ctx.metrics.registry)).getSingleMetric('ferry_shadow_requests_total')?.get())?.values ?? [];
    const models = ctx.deployments.models.filter((m) => !req.query.model || m === req.query.model);
    return {
      models: models.map((model) => {
        const d = ctx.deployments.config(model);
        const counts: Record<string, number> = {};
        for (const v of outcomes) if (v.labels.model === model) counts[String(v.labels.outcome)] = v.value;
        return { model, route: d.route, canary: d.canary ?? null, shadow: d.shadow ?? null, setBy: ctx.deployments.trafficSetBy(model) ?? null, outcomes: counts };
      }),
    };
  });

  // The version named in the path or `?version=`, else the model's newest.
  const version = (req: FastifyRequest): Promise<ModelVersion> => {
    const { model, version: inPath } = req.params as { model: string; version?: string };
    const v = inPath ?? (req.query as { version?: string }).version;
    return ctx.app.registry.resolve(v ? `${model}:${v}` : model);
  };

  // A version's reference profile as people read it.
  app.get('/ferry/v1/models/:model/versions/:version/profile', async (req: FastifyRequest<{ Params: { model: string; version: string } }>) => {
    ctx.auth.check(req, 'predict');
    return profileSummary(await requireProfile(ctx.app.database, await version(req)));
  });

  // Rows that look like the reference data (drawn from its profile): the playground's examples.
  app.get('/ferry/v1/models/:model/versions/:version/examples', async (req: FastifyRequest<{ Params: { model: string; version: string }; Querystring: { n?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const n = req.query.n === undefined ? 5 : Number(req.query.n);
    if (!Number.isInteger(n) || n < 1) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'n', detail: 'it must be a whole number ≥ 1 (at most 64 rows come back)' });
    const stored = await requireProfile(ctx.app.database, await version(req));
    // With the columns that filled each input when the profile was made: a version registered
    // without a column mapping has only its tensor names in the signature.
    return { rows: referenceRows(stored, n), inputs: stored.inputs };
  });

  // `ferry compare a b` on rows drawn from a's reference profile (64 rows).
  app.get('/ferry/v1/models/:model/compare', async (req: FastifyRequest<{ Params: { model: string }; Querystring: { a?: string; b?: string; tolerance?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const { a, b, tolerance = '1e-6' } = req.query;
    const tol = Number(tolerance);
    if (!a || !b || !(tol >= 0)) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'a/b/tolerance', detail: 'give two versions (a=1&b=2) and tolerance ≥ 0' });
    const [va, vb] = await Promise.all([ctx.app.registry.resolve(`${req.params.model}:${a}`), ctx.app.registry.resolve(`${req.params.model}:${b}`)]);
    const stored = await requireProfile(ctx.app.database, va);
    return compareVersions(ctx.monitoring, va, vb, ColumnFrame.fromRows(referenceRows(stored, 64)), tol);
  });

  // Dataset drift per time window (the feature × window heatmap): `?window=1h&windows=12&version=`.
  app.get('/ferry/v1/models/:model/drift/timeline', async (req: FastifyRequest<{ Params: { model: string }; Querystring: DriftQuery & { windows?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const v = await version(req);
    const untilMs = Date.now();
    const windows = req.query.windows === undefined ? 12 : Number(req.query.windows);
    if (!Number.isInteger(windows) || windows < 1) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'windows', detail: 'it must be a whole number ≥ 1 (at most 24)' });
    return driftTimeline(ctx.monitoring, v, { sinceMs: untilMs - parseWindow(req.query.window ?? '1h', 'window'), untilMs, windows }, queryOptions(req.query));
  });

  // One feature's reference vs current histogram: `?feature=&window=1h&version=`.
  app.get('/ferry/v1/models/:model/drift/histogram', async (req: FastifyRequest<{ Params: { model: string }; Querystring: { feature?: string; window?: string; version?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const v = await version(req);
    const feature = req.query.feature ?? '';
    const untilMs = Date.now();
    const h = await featureHistogram(ctx.monitoring, v, feature, untilMs - parseWindow(req.query.window ?? '1h', 'window'), untilMs);
    if (!h) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'feature', detail: `${v.model}:${v.version}'s reference profile has no feature "${feature}"` });
    return h;
  });

  // Alert rules (webhook URLs left out: they often carry tokens) and the newest firings with their delivery.
  app.get('/ferry/v1/alerts', async (req: FastifyRequest<{ Querystring: { model?: string; limit?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const [rules, events] = await Promise.all([listRules(ctx.app.database), listEvents(ctx.app.database, { model: req.query.model || undefined, limit })]);
    return {
      rules: rules.map((r) => ({ name: r.name, model: r.model, kind: r.kind, threshold: r.threshold, metric: r.metric ?? null, window: r.window ?? null, minRows: r.minRows ?? null, webhooks: r.webhooks.length, hook: r.hook ? ('url' in r.hook ? 'url' : 'command') : null, enabled: r.enabled, createdAt: r.createdAt })),
      events,
    };
  });
  app.get('/ferry/v1/models/:model/drift', async (req: FastifyRequest<{ Params: { model: string }; Querystring: DriftQuery }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const ref = q.version ? `${req.params.model}:${q.version}` : req.params.model;
    const version = await ctx.app.registry.resolve(ref);
    const last = q.last === undefined ? undefined : Number(q.last);
    if (last !== undefined && !(Number.isInteger(last) && last > 0)) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'last', detail: 'it must be a positive whole number' });
    const sinceMs = last === undefined ? Date.now() - parseWindow(q.window ?? '1h', 'window') : undefined;
    const report = await driftReport(ctx.monitoring, version, { kind: 'log', sinceMs, last, maxRows: ctx.config.monitoringMaxRows, offThread: true }, queryOptions(q));
    gauges.record(report);
    return {
      model: report.model, version: report.version, reference_rows: report.referenceRows, current_rows: report.currentRows,
      ...(report.capped ? { capped: true } : {}),
      ...report.features,
      prediction_drift: report.predictions,
    };
  });
}

function queryOptions(q: DriftQuery): DriftOptions {
  if (q.test !== undefined && !(DRIFT_TESTS as readonly string[]).includes(q.test)) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'test', detail: `"${q.test}" is not one of ${DRIFT_TESTS.join(', ')}` });
  const threshold = q.threshold === undefined ? undefined : Number(q.threshold);
  const share = q.share === undefined ? undefined : Number(q.share);
  if ((threshold !== undefined && !(threshold > 0)) || (share !== undefined && !(share > 0 && share <= 1))) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'threshold/share', detail: 'threshold must be > 0 and share in (0, 1]' });
  return { test: q.test as DriftTestName | undefined, threshold, share };
}
