/**
 * `ferry stream run` started before its broker answers (a broker restarting, an MQTT session being
 * handed back from a survivor's takeover): it tries again a few times, saying so, instead of
 * exiting at the first refused connection. Real Mosquitto behind a TCP relay that opens late.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { MQTT, mqttBroker, startConsumer, uniqueName, type Consumer } from './helpers/brokers.js';
import { tempDir } from './helpers/env.js';
import { fixture, inputColumnFlags, records } from './helpers/fixtures.js';

const f = fixture('breast_mlp');
const home = tempDir('ferry-stream-start-');
const env = { FERRY_HOME: home.dir };
const broker = mqttBroker();
const base = uniqueName('ferry-start');
const names = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };
let relay: net.Server | undefined;
let consumer: Consumer | undefined;

after(async () => {
  consumer?.child.kill('SIGKILL');
  await consumer?.exited;
  relay?.close();
  await broker.cleanup([names.input, names.output, names.dead], [{ group: names.group, consumers: ['c1'] }]);
  home.cleanup();
});

/** A loopback port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test('a consumer whose broker is not there yet tries again and starts once it is', async () => {
  const reg = await runCli(['register', f.model, '--name', 'bmlp', ...inputColumnFlags(f, true)], env);
  assert.equal(reg.code, 0, reg.stderr);
  const port = await freePort();
  const out = await broker.collect(names.output);
  const starting = startConsumer(['bmlp', '--from', `mqtt://127.0.0.1:${port}/${names.input}`, '--to', broker.url(names.output), '--dead-letter', broker.url(names.dead),
    '--group', names.group, '--consumer', 'c1', '--runtime-workers', '0'], env);
  // The relay to Mosquitto opens after the first attempt was refused.
  await new Promise((resolve) => setTimeout(resolve, 700));
  relay = net.createServer((sock) => {
    const up = net.connect(MQTT.port, MQTT.host);
    sock.pipe(up);
    up.pipe(sock);
    sock.on('error', () => up.destroy());
    up.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve) => relay!.listen(port, '127.0.0.1', () => resolve()));
  consumer = await starting;
  assert.match(consumer.log.join('\n'), /broker not reachable yet; trying again/);
  await broker.publish(names.input, [JSON.stringify({ id: 'late-1', inputs: records(f)[0] })]);
  await out.until((m) => m.length >= 1, 'the output');
  assert.deepEqual(out.messages.map((m) => m.id), ['late-1']);
  await out.close();
});
