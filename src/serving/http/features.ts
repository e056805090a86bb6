import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { FeatureLookups } from '../../features/lookup.js';
import { ferry } from '../../core/errors.js';
import type { Cell } from '../../core/frame.js';
import type { ServingContext } from '../context.js';
import { bodyText, parseJsonBody } from './fastify.js';

const PROTOCOL = 'features';

/**
 * Online feature reads: `POST /ferry/v1/features/{service}` with `{"entities": [{"customer_id": 42}, …]}`
 * (or one entity object, or a list) answers `{"service", "features": [{"customer_id": 42, "age": …}, …]}`
 * in entity order, through the same lookups (cache, ttl, missing-value policy, transforms) the
 * pipeline uses; entities refused by a `reject` policy are listed in `errors` with their index.
 */
export function featureRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const open = ctx.app.featureLookups;
  if (!open) return;
  featureGauges(ctx.metrics.registry, open);
  app.post('/ferry/v1/features/:service', async (req: FastifyRequest<{ Params: { service: string } }>) => {
    ctx.auth.check(req, 'predict');
    const doc = parseJsonBody(bodyText(req), PROTOCOL);
    const list = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.entities) ? doc.entities as unknown[] : isObject(doc) ? [doc] : undefined;
    if (!list || !list.every(isObject)) throw ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail: 'send {"entities": [{"<key>": …}, …]}' });
    const lookups = await open();
    const { rows, rejects } = await lookups.get(req.params.service, list as Record<string, Cell>[]);
    return {
      service: req.params.service,
      features: rows,
      ...(rejects.length > 0 ? { errors: rejects.map((r) => ({ index: r.row, code: r.error.code, message: r.error.message })) } : {}),
    };
  });
}

/**
 * Prometheus gauges read at scrape time: `ferry_feature_freshness_seconds{view}` (age of the
 * newest value in the online store: alert on it for staleness), and per service and feature the
 * rows looked up and those without a value (`ferry_feature_lookup_rows`, `ferry_feature_missing_rows`:
 * their ratio is the null rate). Nothing is reported before declarations are applied.
 */
function featureGauges(registry: Registry, open: () => Promise<FeatureLookups>): void {
  const freshness = new Gauge({ name: 'ferry_feature_freshness_seconds', help: 'Age of the newest value of each feature view in the online store.', labelNames: ['view'], registers: [registry],
    async collect() {
      const views = await open().then((l) => l.freshness()).catch(() => []);
      for (const v of views) if (v.seconds !== null) freshness.labels(v.view).set(v.seconds);
    } });
  const rows = new Gauge({ name: 'ferry_feature_lookup_rows', help: 'Rows whose features this server looked up, by service.', labelNames: ['service'], registers: [registry],
    async collect() {
      for (const s of await open().then((l) => l.stats()).catch(() => [])) rows.labels(s.service).set(s.rows);
    } });
  const missing = new Gauge({ name: 'ferry_feature_missing_rows', help: 'Looked-up rows with no value for a feature (unknown entity, null or stale), by service and feature.', labelNames: ['service', 'feature'], registers: [registry],
    async collect() {
      for (const s of await open().then((l) => l.stats()).catch(() => [])) for (const [f, n] of Object.entries(s.missing)) missing.labels(s.service, f).set(n);
    } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
