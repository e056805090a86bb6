/**
 * Regression tests for a hung alert hook (issue #18): it stopped all alert evaluation, and
 * SIGTERM then did not stop `ferry serve`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { AlertEngine, DEFAULT_DELIVERY } from '../src/monitoring/alerts.js';
import { saveRule } from '../src/monitoring/alerts-store.js';
import { tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('alert hooks that hang', () => {
  const tmp = tempDir();
  let app: Ferry;
  const pidFile = join(tmp.dir, 'hook.pid');
  before(async () => {
    app = await openFerry(loadConfig({ FERRY_HOME: join(tmp.dir, 'home') }));
    await app.registry.register({ path: fixture('breast_mlp').model, name: 'bc', actor: 'test' });
    // The hook records its shell's pid, then starts a child that would outlive a plain kill of the shell.
    await saveRule(app.database, { name: 'errors', model: 'bc', kind: 'error-rate', threshold: 0.1, webhooks: [], hook: { command: `echo $$ > ${pidFile}; sleep 600 & wait` }, enabled: true, createdAt: new Date().toISOString() });
  });
  after(async () => {
    await app.close();
    tmp.cleanup();
  });

  const failing = () => Promise.resolve({ total: 100, errors: 50 });

  it('a hook command that hangs is killed after hookTimeoutMs, with its children, and evaluation goes on', async () => {
    const engine = new AlertEngine(app, { requestCounter: failing, delivery: { ...DEFAULT_DELIVERY, hookTimeoutMs: 300 } });
    const t0 = performance.now();
    const [result] = await engine.tick();
    assert.ok(performance.now() - t0 < 5000, `the tick took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(result?.action, 'notified');
    assert.match(result?.event?.error ?? '', /killed after 300 ms/);
    // The killed shell is reaped asynchronously: wait (bounded) for it to disappear.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(pid), 'the hook process group is gone');
  });

  it('stop() does not wait for a hook in flight', async () => {
    // A rule with no history yet fires (and calls its hook); the first one is deduplicated.
    rmSync(pidFile, { force: true });
    await saveRule(app.database, { name: 'errors-2', model: 'bc', kind: 'error-rate', threshold: 0.1, webhooks: [], hook: { command: `echo $$ > ${pidFile}; sleep 600 & wait` }, enabled: true, createdAt: new Date().toISOString() });
    const engine = new AlertEngine(app, { requestCounter: failing, delivery: { ...DEFAULT_DELIVERY, hookTimeoutMs: 600_000 } });
    engine.start(60_000);
    const deadline = Date.now() + 10_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      assert.ok(Date.now() < deadline, 'the hook never started');
      await new Promise((r) => setImmediate(r));
    }
    const t0 = performance.now();
    await engine.stop();
    assert.ok(performance.now() - t0 < 2000, `stop() waited ${(performance.now() - t0).toFixed(0)} ms for the hook`);
  });
});
