/**
 * A model that cannot be loaded is not the messages' fault: `ferry stream run` retries them
 * (Redis Streams redelivery) and, after --max-deliver deliveries, sends them to the dead
 * letters with FERRY_E_STREAM_MAX_DELIVER and the last error — it never crashes or drops them.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { redisBroker, startConsumer, uniqueName } from './helpers/brokers.js';
import { corruptArtifacts, tempDir } from './helpers/env.js';
import { fixture, inputColumnFlags, records } from './helpers/fixtures.js';

const f = fixture('breast_mlp');
const home = tempDir('ferry-stream-retry-');
const env = { FERRY_HOME: home.dir };
const broker = redisBroker();
const base = uniqueName('ferry-retry');
const names = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };

after(async () => {
  await broker.cleanup([names.input, names.output, names.dead], [{ group: names.group, consumers: ['c1'] }]);
  home.cleanup();
});

test('messages a broken model cannot score are retried, then dead-lettered with the last error', async () => {
  const reg = await runCli(['register', f.model, '--name', 'bmlp', ...inputColumnFlags(f, true)], env);
  assert.equal(reg.code, 0, reg.stderr);
  corruptArtifacts(home.dir);
  const dead = await broker.collect(names.dead);
  const out = await broker.collect(names.output);
  const c = await startConsumer(['bmlp', '--from', broker.url(names.input), '--to', broker.url(names.output), '--dead-letter', broker.url(names.dead),
    '--group', names.group, '--consumer', 'c1', '--max-deliver', '2', '--runtime-workers', '0'], env);
  const ids = ['r-0', 'r-1', 'r-2'];
  await broker.publish(names.input, ids.map((id, i) => JSON.stringify({ id, inputs: records(f)[i] })));
  await dead.until((m) => m.length >= ids.length, 'the dead letters');
  assert.deepEqual(dead.messages.map((m) => m.id).sort(), ids);
  for (const m of dead.messages) {
    const reason = m.reason as { code: string; message: string };
    assert.equal(reason.code, 'FERRY_E_STREAM_MAX_DELIVER');
    assert.match(reason.message, /FERRY_E_ARTIFACT_INTEGRITY/);
    assert.equal(m.attempts, 3);
  }
  assert.equal(out.messages.length, 0);
  assert.equal(c.child.exitCode, null, 'the consumer is still running');
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});
