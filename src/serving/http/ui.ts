import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import { sendError } from './fastify.js';

/** The dashboard's build (`npm run build` → vite → dist/web), the same path from src/ (tsx) and dist/. */
export const UI_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};

// Everything from this origin; no inline script. Styles set from script (uPlot, Preact's style props) need no 'unsafe-inline'.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

interface Asset { readonly body: Buffer; readonly type: string; readonly etag: string; readonly immutable: boolean }

/**
 * The dashboard, served at `/ui/` from memory (a few files, read once at start). Every URL in it
 * is relative, so it works unchanged behind a reverse proxy that mounts Ferry under a path prefix.
 * The files are public (no data in them); every view reads `/ferry/v1/…` with the caller's key.
 */
export function uiRoutes(app: FastifyInstance, dir: string = UI_DIR): void {
  const assets = readAssets(dir);
  // Relative, so `/prefix/ui` lands on `/prefix/ui/` behind a proxy too.
  app.get('/ui', (_req, reply) => reply.code(301).header('location', 'ui/').send());
  const serve = (req: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const path = req.params['*'] === '' ? 'index.html' : req.params['*'];
    const asset = assets.get(path);
    if (!asset) {
      const error = assets.size === 0
        ? ferry('FERRY_E_ROUTE_NOT_FOUND', { method: req.method, path: `${req.url} (the dashboard is not built: run npm run build)` })
        : ferry('FERRY_E_ROUTE_NOT_FOUND', { method: req.method, path: req.url });
      return sendError(reply, error, 'oip');
    }
    void reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
      .header('etag', asset.etag).header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };
  app.get('/ui/*', serve);
}

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const body = readFileSync(file);
        const path = relative(dir, file).split(sep).join('/');
        assets.set(path, {
          body, type: TYPES[extname(file)] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          // Vite names bundles by content hash: they never change under one name.
          immutable: path.startsWith('assets/'),
        });
      }
    }
  };
  walk(dir);
  return assets;
}
