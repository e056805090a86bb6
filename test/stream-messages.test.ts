/** The stream message format and stream URLs (no broker needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import { siblingUrl } from '../src/stream/broker.js';
import { BROKERS, deadLetterUrl, parseStreamUrl } from '../src/stream/brokers.js';
import { deadLetterKey, deadLetterMessage, idOf, outputMessage, parseMessage } from '../src/stream/messages.js';
import { ferry } from '../src/core/errors.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

test('an input message has an id and exactly one of inputs and rows', () => {
  assert.deepEqual(parseMessage(bytes('{"id": "a", "inputs": {"x": 1}}')), { id: 'a', rows: [{ x: 1 }], many: false });
  assert.deepEqual(parseMessage(bytes('{"id": 7, "rows": [{"x": 1}, {"x": 2}]}')), { id: '7', rows: [{ x: 1 }, { x: 2 }], many: true });
  const bad: [string, RegExp][] = [
    ['nope', /not JSON/],
    ['[1]', /a JSON object, got a list/],
    ['{"inputs": {}}', /"id" must be a string or number/],
    ['{"id": "", "inputs": {}}', /1 to 512 characters/],
    ['{"id": "a"}', /exactly one of "inputs"/],
    ['{"id": "a", "inputs": {}, "rows": []}', /exactly one of "inputs"/],
    ['{"id": "a", "inputs": [1]}', /"inputs" must be an object/],
    ['{"id": "a", "rows": []}', /non-empty list/],
    ['{"id": "a", "rows": [{}, 3]}', /"rows"\[1\] must be an object/],
    ['{"id": "a", "inputs": {}, "extra": 1}', /unknown field\(s\) "extra"/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseMessage(bytes(text)), (err) => isFerryError(err, 'FERRY_E_STREAM_MESSAGE_INVALID') && message.test(err.message), text);
  }
});

test('outputs keep the id; rows give a list of outputs', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  assert.deepEqual(JSON.parse(outputMessage({ id: 'a', rows: [{}], many: false }, 'm', 2, [{ y: 1 }], at)), { id: 'a', model: 'm', version: 2, outputs: { y: 1 }, scored_at: '2026-01-01T00:00:00.000Z' });
  assert.deepEqual((JSON.parse(outputMessage({ id: 'b', rows: [{}, {}], many: true }, 'm', 2, [{ y: 1 }, { y: 0 }], at)) as { outputs: unknown }).outputs, [{ y: 1 }, { y: 0 }]);
});

test('dead letters carry the reason and the original payload (base64 when not UTF-8)', () => {
  const context = { consumer: 'c', group: 'g', attempts: 1, at: new Date() };
  const dl = JSON.parse(deadLetterMessage(bytes('{"id": "x", "inputs": 3}'), 'x', ferry('FERRY_E_STREAM_MESSAGE_INVALID', { detail: 'd' }), context)) as Record<string, unknown>;
  assert.equal(dl.payload, '{"id": "x", "inputs": 3}');
  assert.deepEqual((dl.reason as { code: string }).code, 'FERRY_E_STREAM_MESSAGE_INVALID');
  const binary = Buffer.from([0xff, 0xfe, 0x00]);
  assert.equal((JSON.parse(deadLetterMessage(binary, null, ferry('FERRY_E_STREAM_MESSAGE_INVALID', { detail: 'd' }), context)) as { payload_base64: string }).payload_base64, binary.toString('base64'));
  assert.equal(idOf(bytes('{"id": "q", "rows": 5}')), 'q');
  assert.equal(idOf(binary), null);
  assert.equal(deadLetterKey(binary, null), deadLetterKey(Buffer.from(binary), null));
  assert.equal(deadLetterKey(binary, 'q'), 'dl:q');
});

test('a default dead-letter URL keeps the input URL\'s credentials and query (a RabbitMQ user, its vhost)', () => {
  const dead = siblingUrl(parseStreamUrl('amqp://scorer:s3cret@rabbit:5672/claims?vhost=prod'), 'claims.dead-letters');
  assert.equal(dead.name, 'claims.dead-letters');
  assert.equal(dead.text, 'amqp://scorer:s3cret@rabbit:5672/claims.dead-letters?vhost=prod');
  assert.deepEqual({ ...parseStreamUrl(dead.text), text: undefined }, { ...dead, text: undefined });
  assert.equal(siblingUrl(parseStreamUrl('mqtt://127.0.0.1/plant/temp'), 'plant/temp/dead-letters').name, 'plant/temp/dead-letters');
});

test('stream URLs name a broker and one stream, subject or topic', () => {
  assert.deepEqual({ ...parseStreamUrl('redis://localhost/in') }, { scheme: 'redis', host: 'localhost', port: 6379, name: 'in', location: 'redis://localhost:6379', text: 'redis://localhost/in' });
  assert.equal(parseStreamUrl('mqtt://127.0.0.1:1884/plant/line-1/temp').name, 'plant/line-1/temp');
  assert.equal(parseStreamUrl('nats://127.0.0.1/orders.scored').port, 4222);
  for (const bad of ['kafka://h/t', 'redis://h', 'nats://h/a.*', 'mqtt://h/a/#', 'not a url']) {
    assert.throws(() => parseStreamUrl(bad), (err) => isFerryError(err, 'FERRY_E_STREAM_URL_INVALID'), bad);
  }
});

test('each broker in the table owns its scheme, default port, name rules and dead-letter naming', () => {
  assert.deepEqual([...BROKERS.keys()].sort(), ['amqp', 'mqtt', 'nats', 'redis']);
  for (const broker of BROKERS.values()) {
    const url = parseStreamUrl(`${broker.scheme}://127.0.0.1/orders`);
    assert.equal(url.port, broker.defaultPort, broker.scheme);
    assert.ok(broker.urlForm.startsWith(`${broker.scheme}://`), broker.scheme);
    const dead = deadLetterUrl(url);
    assert.equal(dead.name, broker.deadLetterName('orders'));
    assert.equal(dead.scheme, broker.scheme);
  }
  assert.equal(deadLetterUrl(parseStreamUrl('mqtt://127.0.0.1/plant/temp')).name, 'plant/temp/dead-letters');
  assert.equal(deadLetterUrl(parseStreamUrl('redis://127.0.0.1/orders')).name, 'orders.dead-letters');
  // NATS refuses its own wildcards; a `*` is a plain character in a Redis stream key.
  assert.throws(() => parseStreamUrl('nats://h/orders.*'), (err) => isFerryError(err, 'FERRY_E_STREAM_URL_INVALID') && /nats:\/\/host:port\/<subject>/.test(err.message));
  assert.equal(parseStreamUrl('redis://h/orders*').name, 'orders*');
  // An unknown scheme names every broker's URL form, from the table.
  assert.throws(() => parseStreamUrl('kafka://h/t'), (err) => isFerryError(err, 'FERRY_E_STREAM_URL_INVALID') && [...BROKERS.values()].every((b) => err.message.includes(b.urlForm)));
});
