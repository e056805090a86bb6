import type { FastifyInstance, FastifyRequest } from 'fastify';
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
