/**
 * Ferry's own JSON API is documented where people and tools look: every `/ferry/v1/` route the
 * server registers (the dashboard reads nothing else) is in GET /openapi.json with its method,
 * and in docs/api.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from './helpers/env.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

/** `/ferry/v1/models/:model/aliases/:alias` and `/ferry/v1/models/{m}/aliases/{a}` → `/ferry/v1/models/{}/aliases/{}`. */
const shape = (path: string) => path.replace(/:[A-Za-z]+/g, '{}').replace(/\{[^}]*\}/g, '{}');

describe('the /ferry/v1 API is documented', () => {
  let server: InProcess;
  let routes: { method: string; path: string }[];
  before(async () => {
    server = await startInProcess();
    routes = server.server.routes
      .map((r) => { const [method = '', path = ''] = r.split(' '); return { method, path }; })
      .filter((r) => r.path.startsWith('/ferry/v1/') && r.method !== 'HEAD');
  });
  after(async () => { await server?.cleanup(); });

  it('registers the routes the dashboard reads and acts through', () => {
    const have = new Set(routes.map((r) => `${r.method} ${shape(r.path)}`));
    for (const wanted of ['GET /ferry/v1/models', 'GET /ferry/v1/models/{}', 'GET /ferry/v1/traffic', 'GET /ferry/v1/traffic/split', 'GET /ferry/v1/streams', 'GET /ferry/v1/batch', 'GET /ferry/v1/alerts',
      'GET /ferry/v1/models/{}/versions/{}/examples', 'PUT /ferry/v1/models/{}/traffic', 'DELETE /ferry/v1/models/{}/traffic', 'POST /ferry/v1/models/{}/promote']) {
      assert.ok(have.has(wanted), `${wanted} is not registered`);
    }
  });

  it('lists every /ferry/v1 route in /openapi.json with its method', async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
    const documented = new Map(Object.entries(doc.paths).map(([p, item]) => [shape(p), item]));
    const missing = routes.filter((r) => !documented.get(shape(r.path))?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(missing, [], 'routes missing from /openapi.json');
  });

  it('lists every /ferry/v1 route in docs/api.md with its method', () => {
    const page = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    // `GET /ferry/v1/models/{m}?offset=…` or `PUT`/`DELETE /ferry/v1/…` in a table cell.
    const documented = new Set<string>();
    for (const m of page.matchAll(/`((?:GET|PUT|POST|DELETE)(?:`\/`(?:GET|PUT|POST|DELETE))*) (\/ferry\/v1\/[^`?\s]*)/g)) {
      for (const method of m[1]!.split('`/`')) documented.add(`${method} ${shape(m[2]!)}`);
    }
    const missing = routes.filter((r) => !documented.has(`${r.method} ${shape(r.path)}`)).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(missing, [], 'routes missing from docs/api.md');
  });
});
