import type { FastifyInstance } from 'fastify';
import type { Auth } from '../auth.js';

/** Paths answered without a key: the health probes of load balancers and Kubernetes. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/v2/health/live', '/v2/health/ready', '/ping', '/health']);

/** The dashboard's static files are public (no data in them): the page asks for a key, then reads /ferry/v1/ with it. */
const isUiFile = (path: string) => path === '/ui' || path.startsWith('/ui/');

/**
 * With auth on, refuse a request without a valid key in `onRequest`, before its body is read:
 * a keyless client cannot make the server buffer body_limit bytes. Routes still check the scope
 * they need. The connection is closed after the 401 so an unread body is not drained.
 */
export function authenticateBeforeBody(app: FastifyInstance, auth: Auth): void {
  if (!auth.enabled) return;
  app.addHook('onRequest', (req, reply, done) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (OPEN_PATHS.has(path) || isUiFile(path)) return done();
    try {
      auth.authenticate(req);
    } catch (err) {
      void reply.header('connection', 'close');
      return done(err as Error);
    }
    done();
  });
}
