import { ferry, quoteList } from '../core/errors.js';
import { brokerUrl, siblingUrl, type StreamBroker, type StreamUrl } from './broker.js';
import { mqttBroker } from './mqtt/mqtt.js';
import { natsBroker } from './nats/nats.js';
import { rabbitmqBroker } from './rabbitmq/rabbitmq.js';
import { redisBroker } from './redis/redis.js';

/** The broker adapters, by URL scheme. A new broker is one folder and one line here. */
export const BROKERS: ReadonlyMap<string, StreamBroker> = new Map([redisBroker, natsBroker, mqttBroker, rabbitmqBroker].map((b) => [b.scheme, b]));

/** Every broker's URL form, for messages. */
export function streamUrlForms(): string {
  const forms = [...BROKERS.values()].map((b) => b.urlForm);
  return forms.length > 1 ? `${forms.slice(0, -1).join(', ')} or ${forms.at(-1) ?? ''}` : forms.join('');
}

/** Parse and check a stream URL: its scheme picks the broker, whose rules check the rest. */
export function parseStreamUrl(text: string): StreamUrl {
  let scheme: string;
  try {
    scheme = new URL(text).protocol.replace(/:$/, '');
  } catch {
    throw ferry('FERRY_E_STREAM_URL_INVALID', { url: text, detail: 'it is not a URL', forms: streamUrlForms() });
  }
  const broker = BROKERS.get(scheme);
  if (!broker) throw ferry('FERRY_E_STREAM_URL_INVALID', { url: text, detail: `unknown scheme "${scheme}" (brokers: ${quoteList([...BROKERS.keys()])})`, forms: streamUrlForms() });
  return brokerUrl(text, broker);
}

/** The default dead-letter destination of an input: on the same broker, named by the broker's rule. */
export function deadLetterUrl(from: StreamUrl): StreamUrl {
  return siblingUrl(from, brokerFor(from).deadLetterName(from.name));
}

export function brokerFor(url: StreamUrl): StreamBroker {
  const broker = BROKERS.get(url.scheme);
  if (!broker) throw ferry('FERRY_E_STREAM_URL_INVALID', { url: url.text, detail: `no adapter for "${url.scheme}" (adapters: ${quoteList([...BROKERS.keys()])})`, forms: streamUrlForms() });
  return broker;
}
