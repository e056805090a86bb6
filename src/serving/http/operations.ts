import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServingContext } from '../context.js';

/**
 * Batch and stream status for the dashboard and scripts (predict scope), from the views the
 * composition hands the server: `GET /ferry/v1/batch?limit=50` (runs with progress, jobs with
 * schedules) and `GET /ferry/v1/streams` (the groups given to `ferry serve --watch-stream`).
 */
export function operationsRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/ferry/v1/batch', async (req: FastifyRequest<{ Querystring: { limit?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const limit = Number(req.query.limit ?? 50);
    return ctx.operations ? ctx.operations.batch(Number.isInteger(limit) && limit > 0 ? limit : 50) : { runs: [], jobs: [] };
  });

  app.get('/ferry/v1/streams', async (req) => {
    ctx.auth.check(req, 'predict');
    return { streams: ctx.operations ? await ctx.operations.streams() : [] };
  });
}
