/**
 * A feature-staleness alert rule (`ferry alerts add --kind feature-staleness`): it fires while a
 * view's newest value in the online store is older than the threshold, and is resolved once a
 * materialisation brings a fresh value; a receiver gets both notices. Validation names what is wrong.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';

const HOUR = 3_600_000;
const ts = (ms: number) => new Date(ms).toISOString();

describe('feature-staleness alerts', () => {
  const tmp = tempDir('ferry-falerts-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => { data += d.toString(); });
    req.on('end', () => { bodies.push(JSON.parse(data) as Record<string, unknown>); res.writeHead(200).end(); });
  });
  after(async () => {
    await new Promise<void>((resolve) => { server.close(() => resolve()); });
    tmp.cleanup();
  });

  it('fires while a view is older than the threshold and resolves after a materialisation', async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const now = Date.now();
    const source = join(tmp.dir, 'events.csv');
    writeFileSync(source, `id,t,v\n1,${ts(now - 72 * HOUR)},1\n2,${ts(now - 80 * HOUR)},2\n`);
    writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: thing, key: id}]
views:
  - {name: things, entity: thing, source: {path: events.csv}, timestamp: t, features: [v]}
  - {name: others, entity: thing, source: {path: events.csv}, timestamp: t, features: [v]}
services: [{name: s, features: [things.v]}]
`);
    assert.equal((await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env)).code, 0);
    assert.equal((await runCli(['features', 'materialize', 'things'], env)).code, 0);

    const refused = await runCli(['alerts', 'add', 'x', '--kind', 'feature-staleness', '--model', 'm', '--threshold', '2d'], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /FERRY_E_ALERT_RULE_INVALID: .*watches a feature view \(--view\), not a model/);
    const unknown = await runCli(['alerts', 'add', 'x', '--kind', 'feature-staleness', '--view', 'nope', '--threshold', '2d'], env);
    assert.match(unknown.stderr, /FERRY_E_FEATURE_VIEW_NOT_FOUND: Feature view "nope" is not declared/);
    const added = await runCli(['alerts', 'add', 'stale-things', '--kind', 'feature-staleness', '--view', 'things', '--threshold', '2d', '--webhook', hook, '--json'], env);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse(added.stdout) as { threshold: number }).threshold, 172_800);

    type Tick = { rule: string; verdict: { state: string; value: number; message: string }; action: string }[];
    const tick = async (): Promise<Tick> => {
      const r = await runCli(['alerts', 'run', '--once', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Tick;
    };
    const [firing] = await tick();
    assert.equal(firing?.verdict.state, 'firing');
    assert.equal(firing.action, 'notified');
    assert.ok(firing.verdict.value >= 72 * 3600 && firing.verdict.value < 73 * 3600, `the newest value's age: ${firing.verdict.value}`);
    assert.match(firing.verdict.message, /things 2592\d\d s old/);
    assert.equal((await tick())[0]?.action, 'deduplicated');

    // An event after the first run's watermark (its --until was "now" then).
    appendFileSync(source, `1,${ts(Date.now())},3\n`);
    assert.equal((await runCli(['features', 'materialize', 'things'], env)).code, 0);
    const [resolved] = await tick();
    assert.equal(resolved?.verdict.state, 'ok');
    assert.equal(resolved.action, 'notified');
    assert.deepEqual(bodies.map((b) => [b.rule, b.kind, b.state]), [['stale-things', 'feature-staleness', 'firing'], ['stale-things', 'feature-staleness', 'resolved']]);

    // Without --view the rule watches every view: "others" was never materialised.
    assert.equal((await runCli(['alerts', 'add', 'stale-any', '--kind', 'feature-staleness', '--threshold', '3600'], env)).code, 0);
    const all = await tick();
    const any = all.find((r) => r.rule === 'stale-any');
    assert.equal(any?.verdict.state, 'firing');
    assert.match(any.verdict.message, /others never materialised/);
    const list = await runCli(['alerts', 'list'], env);
    assert.match(list.stdout, /feature view things: newest value older than 172800 s/);
  });
});
