import type { FastifyInstance } from 'fastify';
import type { ServingContext } from '../context.js';

/** PLACEHOLDER until the KServe v1 adapter lands (being written now). */
export function kserveV1Routes(_app: FastifyInstance, _ctx: ServingContext): void {}
