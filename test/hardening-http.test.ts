/**
 * Regression tests for what a client could make the REST server hold (issue #18): bodies read
 * before the key was checked, no connection cap, a stalled body outliving request_timeout_ms,
 * and operational endpoints open under --auth.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const breast = fixture('breast_mlp');

/** Send headers and one chunk of a body that never ends; resolve with the status (or 'none' after `waitMs`). */
function stalledUpload(url: string, headers: Record<string, string>, waitMs: number): Promise<number | 'none' | 'closed'> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(60 * 1024 * 1024), ...headers } });
    const timer = setTimeout(() => { req.destroy(); resolve('none'); }, waitMs);
    req.on('response', (res) => { clearTimeout(timer); res.resume(); resolve(res.statusCode ?? 0); req.destroy(); });
    req.on('error', () => { clearTimeout(timer); resolve('closed'); });
    req.write(Buffer.alloc(64 * 1024));
  });
}

describe('REST under auth', () => {
  let srv: InProcess;
  let key = '';
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], flags: { auth: true }, keys: [['predict']] });
    key = srv.keys[0] ?? '';
  });
  after(() => srv.cleanup());

  it('a keyless upload is refused before its body is read', async () => {
    // The body never completes: a server that reads it before checking the key never answers.
    assert.equal(await stalledUpload(`${srv.url}/v2/models/bc/infer`, {}, 3000), 401);
    assert.equal(await stalledUpload(`${srv.url}/v2/models/bc/infer`, { authorization: 'Bearer fk_nope0000_xxxxxxxxxxxxxxxxxxxxxxxx' }, 3000), 401);
    assert.equal(await stalledUpload(`${srv.url}/v2/models/bc/infer`, { authorization: `Bearer ${key}` }, 300), 'none', 'with a key the body is awaited');
  });

  it('/metrics, /v2, /version and /openapi.json need a key under --auth; health probes do not', async () => {
    for (const path of ['/metrics', '/v2', '/version', '/openapi.json']) {
      assert.equal((await fetch(`${srv.url}${path}`)).status, 401, path);
      assert.equal((await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).status, 200, `${path} with a key`);
    }
    for (const path of ['/v2/health/live', '/v2/health/ready', '/ping', '/health']) assert.equal((await fetch(`${srv.url}${path}`)).status, 200, path);
  });
});

describe('connections and timeouts', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], serve: { max_connections: 4, request_timeout_ms: 500 } });
  });
  after(() => srv.cleanup());

  it('connections past max_connections are closed on accept', async () => {
    const { port } = new URL(srv.url);
    const open = (): Promise<{ socket: Socket; answered: Promise<boolean> }> => new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        const answered = new Promise<boolean>((done) => {
          socket.once('data', () => done(true));
          socket.once('close', () => done(false));
        });
        socket.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
        resolve({ socket, answered });
      });
      socket.once('error', reject);
    });
    const kept: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const c = await open();
        kept.push(c.socket);
        assert.equal(await c.answered, true, `connection ${i + 1} is answered`);
      }
      const fifth = await open();
      kept.push(fifth.socket);
      assert.equal(await fifth.answered, false, 'the fifth connection is closed without an answer');
    } finally {
      for (const s of kept) s.destroy();
    }
  });

  it('a stalled body is closed within request_timeout_ms (plus a check interval), not ~80 s later', async () => {
    const t0 = performance.now();
    const outcome = await stalledUpload(`${srv.url}/v2/models/bc/infer`, {}, 5000);
    const ms = performance.now() - t0;
    assert.notEqual(outcome, 'none', 'the server never closed the stalled request');
    assert.ok(ms < 2000, `closed after ${ms.toFixed(0)} ms (request_timeout_ms 500)`);
  });
});
