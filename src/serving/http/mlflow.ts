import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.js';

/** PLACEHOLDER until the MLflow adapter lands (being written now). */
export function mlflowRoutes(_app: FastifyInstance, _ctx: ServingContext): void {}
