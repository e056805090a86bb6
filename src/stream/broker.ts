import { ferry } from '../core/errors.js';

/**
 * The one seam between stream consumers and message brokers. A broker adapter (one folder per
 * broker: redis/, nats/, mqtt/, rabbitmq/, and one line in `BROKERS`, brokers.ts) owns its URL
 * scheme, default port, naming rules and dead-letter naming, and opens a `StreamSource` to consume
 * a stream in a consumer group and a `StreamSink` to publish to one. The runner (runner.ts) owns
 * batching, scoring, dead letters and metrics; adapters only move bytes.
 */

/** A parsed stream URL: `redis://host:port/<stream>`, `nats://host:port/<subject>`, `mqtt://host:port/<topic>`, `amqp://host:port/<queue>`. */
export interface StreamUrl {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  /** Stream key, subject or topic (the URL path without its leading slash). */
  readonly name: string;
  /** `scheme://host:port`, for messages and connections. */
  readonly location: string;
  readonly text: string;
}

/** One message handed to the consumer, not yet acknowledged. */
export interface Delivery {
  /** The broker's handle for this delivery (entry id, stream sequence, packet id). */
  readonly handle: string;
  readonly payload: Uint8Array;
  /** When the broker accepted the message (epoch ms), if it says. */
  readonly enqueuedAt: number | undefined;
  /** How many times it has been delivered, this time included. */
  readonly attempts: number;
}

/** A message to publish; `key` makes the publish idempotent (a second publish of a key is dropped). */
export interface OutMessage {
  readonly key: string;
  readonly payload: string;
}

export type PublishOutcome = 'published' | 'duplicate';

/** One live consumer as its heartbeat last reported it. */
export interface ConsumerHeartbeat {
  readonly consumer: string;
  readonly group: string;
  readonly pid: number;
  readonly host: string;
  readonly model: string;
  readonly version: number | null;
  readonly processed: number;
  readonly deadLetters: number;
  /** Where this consumer sends dead letters (a stream URL). */
  readonly deadLetterTo?: string;
  /** The newest dead letters it sent (at most RECENT_DEAD_LETTERS, newest first), with their reasons. */
  readonly recentDeadLetters?: readonly DeadLetterSummary[];
  readonly startedAt: string;
  readonly at: string;
}

/** One dead letter as a heartbeat reports it: the message id, why it was refused, when. */
export interface DeadLetterSummary {
  readonly id: string | null;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  readonly at: string;
}

/** How many recent dead letters a heartbeat carries (a heartbeat stays a small record). */
export const RECENT_DEAD_LETTERS = 20;

/** What the broker knows about a consumer group. */
export interface GroupStatus {
  readonly stream: string;
  readonly group: string;
  /** Messages not yet delivered to the group; null when the broker cannot tell (MQTT). */
  readonly lag: number | null;
  /** Delivered but not acknowledged; null when the broker cannot tell. */
  readonly pending: number | null;
  readonly consumers: readonly ConsumerHeartbeat[];
}

export interface SourceOptions {
  readonly group: string;
  readonly consumer: string;
  /** Unacknowledged messages idle this long are taken over from (dead) consumers. */
  readonly reclaimIdleMs: number;
  /** Largest batch the runner asks for (sizes client-side buffers). */
  readonly maxBatch: number;
  /** Deliveries before the broker itself gives up (the runner dead-letters one delivery earlier). */
  readonly maxDeliver: number;
  /** Redis URL of the idempotency store, for brokers without their own (MQTT, RabbitMQ). */
  readonly stateUrl: string;
  /** Where the adapter reports background work (MQTT session takeovers); optional. */
  readonly log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface SinkOptions {
  readonly consumer: string;
  readonly group: string;
  /** How long an idempotency record is kept (s): a redelivery later than this is published again. */
  readonly dedupeTtlSeconds: number;
  readonly stateUrl: string;
}

/** A consumer-group subscription to one stream. */
export interface StreamSource {
  /** Up to `max` deliveries that are ready, waiting at most `waitMs` for the first one. */
  fetch(max: number, waitMs: number): Promise<Delivery[]>;
  /** Done with these: the broker forgets them. */
  ack(deliveries: readonly Delivery[]): Promise<void>;
  /** Not done: deliver again later (possibly to another consumer). */
  nak(deliveries: readonly Delivery[]): Promise<void>;
  /** Messages waiting for the group (not yet delivered), when the broker can tell. */
  lag(): Promise<number | null>;
  heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void>;
  /** Stop receiving; unacknowledged deliveries go back to the broker. */
  close(): Promise<void>;
  /**
   * Optional, for a broker without idempotent publishing (RabbitMQ): true when publishes to `sink`
   * can go through this source's channel; then the runner calls `commit` instead of publish + ack.
   */
  includes?(sink: StreamSink): boolean;
  /**
   * Publish these messages, then acknowledge these deliveries once the broker has every publish:
   * a failure before that acknowledges nothing (the deliveries come back); after it, at worst the
   * acknowledgements are lost and the messages come back to be published again.
   */
  commit?(publishes: readonly { readonly sink: StreamSink; readonly messages: readonly OutMessage[] }[], acked: readonly Delivery[]): Promise<void>;
}

/** Idempotent publishing to one stream. */
export interface StreamSink {
  publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]>;
  close(): Promise<void>;
}

/** A broker adapter. */
export interface StreamBroker {
  readonly scheme: string;
  /** The port a URL without one means. */
  readonly defaultPort: number;
  /** The URL form, for messages: `redis://host:port/<stream>`. */
  readonly urlForm: string;
  /** Why this broker refuses a stream name (beyond the shared rule: no `+`, `#`), or undefined. */
  refuseName?(name: string): string | undefined;
  /** The default dead-letter destination of an input stream. */
  deadLetterName(name: string): string;
  openSource(url: StreamUrl, options: SourceOptions): Promise<StreamSource>;
  openSink(url: StreamUrl, options: SinkOptions): Promise<StreamSink>;
  /** Group status from the broker plus the consumers' heartbeats. */
  status(url: StreamUrl, group: string, stateUrl: string): Promise<GroupStatus>;
}

/** Parse and check a URL of this broker (brokers.ts `parseStreamUrl` picks the broker by scheme). */
export function brokerUrl(text: string, broker: StreamBroker): StreamUrl {
  const invalid = (detail: string) => ferry('FERRY_E_STREAM_URL_INVALID', { url: text, detail, forms: broker.urlForm });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('it is not a URL');
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== broker.scheme) throw invalid(`the scheme is "${scheme}", not "${broker.scheme}"`);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw invalid('the path must name the stream, subject or topic');
  if (/[+#]/.test(name) || url.hash !== '' || text.endsWith('#')) throw invalid('wildcards are not allowed: name one stream, subject or topic');
  const refused = broker.refuseName?.(name);
  if (refused !== undefined) throw invalid(refused);
  const host = url.hostname || '127.0.0.1';
  const port = url.port ? Number(url.port) : broker.defaultPort;
  return Object.freeze({ scheme, host, port, name, location: `${scheme}://${host}:${port}`, text });
}

/**
 * The same broker and server, another stream name (default dead-letter destinations). The
 * credentials and query of the original URL (a RabbitMQ user, `?vhost=`) are kept.
 */
export function siblingUrl(url: StreamUrl, name: string): StreamUrl {
  const u = new URL(url.text);
  u.pathname = `/${encodeURIComponent(name)}`;
  return Object.freeze({ ...url, name, text: u.toString() });
}

/** A name safe in NATS KV keys, stream names and Redis keys. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
