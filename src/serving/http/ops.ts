import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.js';
import { openApiDocument } from './openapi.js';

/** Operational endpoints: Prometheus metrics and the OpenAPI description. */
export function opsRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/metrics', async (_req, reply) => {
    // Under `serve --processes N`, every process's counters and histograms, summed.
    const registry = await ctx.group.metrics(ctx.metrics.registry);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/openapi.json', () => openApiDocument(ctx.version));
}
