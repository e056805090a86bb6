import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.js';
import { openApiDocument } from './openapi.js';

/** Operational endpoints: Prometheus metrics and the OpenAPI description. */
export function opsRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', () => openApiDocument(ctx.version));
}
