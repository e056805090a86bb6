/**
 * Regression tests for webhook destinations (issue #18, finding 17): URLs were checked for their
 * scheme only — link-local and loopback addresses were posted to, and redirects were followed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { isFerryError } from '../src/core/errors.js';
import { DEFAULT_DELIVERY, postWithRetry } from '../src/monitoring/alerts.js';
import { WebhookDestinations } from '../src/monitoring/webhook-destinations.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { join } from 'node:path';

interface Receiver {
  readonly url: string;
  readonly hits: string[];
  readonly server: Server;
}

async function receiver(answer: (path: string) => { status: number; location?: string }): Promise<Receiver> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    const { status, location } = answer(req.url ?? '');
    res.writeHead(status, location ? { location } : {}).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

const policy = (destinations: WebhookDestinations) => ({ ...DEFAULT_DELIVERY, attempts: 3, baseDelayMs: 0, destinations });

describe('webhook destinations', () => {
  let target: Receiver;
  let bouncer: Receiver;
  before(async () => {
    target = await receiver(() => ({ status: 204 }));
    bouncer = await receiver(() => ({ status: 302, location: `${target.url}/internal` }));
  });
  after(() => {
    target.server.close();
    bouncer.server.close();
  });

  it('a redirect is not followed, and not retried', async () => {
    const before = target.hits.length;
    const r = await postWithRetry(`${bouncer.url}/hook`, { a: 1 }, policy(new WebhookDestinations()));
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.match(r.error ?? '', /HTTP 302: redirect to http:\/\/127\.0\.0\.1:\d+\/internal not followed/);
    assert.equal(target.hits.length, before, 'the redirect target was never called');
  });

  it('link-local addresses (the cloud metadata service) are refused by default, without a connection', async () => {
    const destinations = new WebhookDestinations();
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://[::ffff:169.254.169.254]/', 'http://0.0.0.0:1/']) {
      const r = await postWithRetry(url, {}, policy(destinations));
      assert.equal(r.ok, false, url);
      assert.equal(r.attempts, 1, url);
      assert.match(r.error ?? '', /FERRY_WEBHOOK|deny list/, url);
    }
  });

  it('FERRY_WEBHOOK_DENY refuses loopback, also reached through a host name (checked after DNS)', async () => {
    const destinations = new WebhookDestinations(loadConfig({ FERRY_HOME: '/nonexistent', FERRY_WEBHOOK_DENY: '127.0.0.0/8, ::1' }).webhooks);
    const before = target.hits.length;
    const port = new URL(target.url).port;
    for (const url of [`${target.url}/x`, `http://localhost:${port}/x`]) {
      const r = await postWithRetry(url, {}, policy(destinations));
      assert.equal(r.ok, false, url);
      assert.equal(r.attempts, 1, url);
      assert.match(r.error ?? '', /is on the deny list/, url);
    }
    assert.equal(target.hits.length, before, 'nothing reached the receiver');
  });

  it('FERRY_WEBHOOK_ALLOW posts only to the listed destinations', async () => {
    const onlyTen = new WebhookDestinations({ allow: ['10.0.0.0/8'], deny: [] });
    const refused = await postWithRetry(`${target.url}/x`, {}, policy(onlyTen));
    assert.match(refused.error ?? '', /not on FERRY_WEBHOOK_ALLOW/);
    const port = new URL(target.url).port;
    for (const allow of ['127.0.0.1', '127.0.0.0/8', 'localhost']) {
      const destinations = new WebhookDestinations({ allow: [allow], deny: [] });
      const before = target.hits.length;
      const r = await postWithRetry(allow === 'localhost' ? `http://localhost:${port}/ok` : `${target.url}/ok`, { a: 1 }, policy(destinations));
      assert.equal(r.ok, true, `${allow}: ${r.error}`);
      assert.equal(target.hits.length, before + 1);
    }
  });

  it('`ferry alerts add` refuses a destination the server would refuse, and stores nothing', async () => {
    const tmp = tempDir();
    try {
      const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_WEBHOOK_DENY: '127.0.0.0/8' };
      const reg = await runCli(['register', join(ROOT, 'fixtures/pmml/cases/sklearn-linear/model.pmml'), '--name', 'lin'], env);
      assert.equal(reg.code, 0, reg.stderr);
      const port = new URL(target.url).port;
      for (const [flag, url] of [['--webhook', 'http://169.254.169.254/latest/'], ['--webhook', `http://localhost:${port}/x`], ['--hook-url', `${target.url}/retrain`]] as const) {
        const r = await runCli(['alerts', 'add', 'r1', '--model', 'lin', '--kind', 'drift', flag, url], env);
        assert.notEqual(r.code, 0, url);
        assert.match(r.stderr, /FERRY_E_WEBHOOK_REFUSED[\s\S]*deny list/, url);
      }
      const list = await runCli(['alerts', 'list', '--json'], env);
      assert.deepEqual(JSON.parse(list.stdout), [], 'no rule was stored');
      // A name that does not resolve here may resolve where the server runs: stored, checked at each POST.
      const ok = await runCli(['alerts', 'add', 'r2', '--model', 'lin', '--kind', 'drift', '--webhook', 'http://alerts.invalid/hook'], env);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      tmp.cleanup();
    }
  });

  it('an invalid entry fails at start with FERRY_E_CONFIG_INVALID', () => {
    assert.throws(() => new WebhookDestinations({ allow: ['10.0.0.0/99'], deny: [] }), (e) => isFerryError(e, 'FERRY_E_CONFIG_INVALID'));
    assert.throws(() => new WebhookDestinations({ allow: [], deny: ['http://x'] }), (e) => isFerryError(e, 'FERRY_E_CONFIG_INVALID'));
  });
});
