import { ferry, quoteList } from '../core/errors.js';
import type { StreamBroker, StreamUrl } from './broker.js';
import { mqttBroker } from './mqtt.js';
import { natsBroker } from './nats.js';
import { rabbitmqBroker } from './rabbitmq.js';
import { redisBroker } from './redis.js';

/** The broker adapters, by URL scheme. A new broker is one file and one line here. */
export const BROKERS: ReadonlyMap<string, StreamBroker> = new Map([redisBroker, natsBroker, mqttBroker, rabbitmqBroker].map((b) => [b.scheme, b]));

export function brokerFor(url: StreamUrl): StreamBroker {
  const broker = BROKERS.get(url.scheme);
  if (!broker) throw ferry('FERRY_E_STREAM_URL_INVALID', { url: url.text, detail: `no adapter for "${url.scheme}" (adapters: ${quoteList([...BROKERS.keys()])})` });
  return broker;
}
