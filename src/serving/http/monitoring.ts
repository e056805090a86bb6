import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { ferry } from '../../core/errors.js';
import { DRIFT_TESTS, type DriftOptions, type DriftResult, type DriftTestName } from '../../monitoring/drift.js';
import { driftReport, parseWindow, type DriftReport } from '../../monitoring/drift-run.js';
import type { ServingContext } from '../context.js';

interface DriftQuery {
  version?: string;
  window?: string;
  last?: string;
  test?: string;
  threshold?: string;
  share?: string;
}

/** Prometheus gauges of the latest drift computed for each model (REST call or alert rule). */
export class DriftGauges {
  readonly share: Gauge<'model' | 'version' | 'target'>;
  readonly detected: Gauge<'model' | 'version' | 'target'>;
  readonly column: Gauge<'model' | 'version' | 'column' | 'test'>;

  constructor(registry: Registry) {
    this.share = new Gauge({ name: 'ferry_drift_share', help: 'Share of columns that drifted in the latest drift test (target: features or predictions).', labelNames: ['model', 'version', 'target'], registers: [registry] });
    this.detected = new Gauge({ name: 'ferry_drift_detected', help: '1 when the latest drift test found dataset (or prediction) drift, else 0.', labelNames: ['model', 'version', 'target'], registers: [registry] });
    this.column = new Gauge({ name: 'ferry_drift_column_drifted', help: '1 when the column drifted in the latest drift test, else 0.', labelNames: ['model', 'version', 'column', 'test'], registers: [registry] });
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
  // Live traffic of this server from memory: `?model=&seconds=60&step=` (seconds ≤ 300).
  app.get('/ferry/v1/traffic', (req: FastifyRequest<{ Querystring: { model?: string; seconds?: string; step?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const seconds = q.seconds === undefined ? undefined : Number(q.seconds);
    const step = q.step === undefined ? undefined : Number(q.step);
    if ((seconds !== undefined && !(seconds >= 1)) || (step !== undefined && !(step >= 1))) throw ferry('FERRY_E_USAGE', { detail: 'seconds and step must be ≥ 1.' });
    return ctx.traffic.snapshot({ model: q.model || undefined, seconds, step });
  });
  app.get('/ferry/v1/models/:model/drift', async (req: FastifyRequest<{ Params: { model: string }; Querystring: DriftQuery }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const ref = q.version ? `${req.params.model}:${q.version}` : req.params.model;
    const version = await ctx.app.registry.resolve(ref);
    const last = q.last === undefined ? undefined : Number(q.last);
    if (last !== undefined && !(Number.isInteger(last) && last > 0)) throw ferry('FERRY_E_USAGE', { detail: 'last must be a positive integer.' });
    const sinceMs = last === undefined ? Date.now() - parseWindow(q.window ?? '1h') : undefined;
    const report = await driftReport(ctx.monitoring, version, { kind: 'log', sinceMs, last, maxRows: ctx.config.monitoringMaxRows }, queryOptions(q));
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
  if (q.test !== undefined && !(DRIFT_TESTS as readonly string[]).includes(q.test)) throw ferry('FERRY_E_USAGE', { detail: `test "${q.test}" is not one of ${DRIFT_TESTS.join(', ')}.` });
  const threshold = q.threshold === undefined ? undefined : Number(q.threshold);
  const share = q.share === undefined ? undefined : Number(q.share);
  if ((threshold !== undefined && !(threshold > 0)) || (share !== undefined && !(share > 0 && share <= 1))) throw ferry('FERRY_E_USAGE', { detail: 'threshold must be > 0 and share in (0, 1].' });
  return { test: q.test as DriftTestName | undefined, threshold, share };
}
