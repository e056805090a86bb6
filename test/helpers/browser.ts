/** Headless Chromium (Debian's, driven by playwright-core) and a reverse proxy for the dashboard tests. */
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests are skipped here, or false. */
export const noBrowser: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;

/** One browser per test file (start-up costs about a second); close it in `after`. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}

/**
 * A reverse proxy that mounts `target` under `prefix` and strips it (as nginx `location /p/ { proxy_pass http://ferry/; }`):
 * the dashboard must work at `<proxy>/<prefix>/ui/` with nothing rewritten in its pages.
 * Anything outside the prefix gets a 404, so an absolute URL in the page fails the test.
 */
export async function prefixProxy(target: string, prefix: string): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (!path.startsWith(`${prefix}/`) && path !== prefix) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`outside ${prefix}: ${path}`);
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: path.slice(prefix.length) || '/', headers: { ...req.headers, host: to.host } }, (up) => {
      // Redirects from upstream must be relative to survive the prefix (Ferry's are).
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => { res.writeHead(502).end(); });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
