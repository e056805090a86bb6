import pg from 'pg';

/** The channel every Ferry registry notifies on; payloads name the schema, so registries sharing a database stay apart. */
export const REGISTRY_CHANNEL = 'ferry_registry';

/** What a change notification carries: the registry's schema and the model that changed. */
export interface ChangePayload {
  readonly schema: string;
  readonly model: string;
}

/** Called with the model that changed, or undefined after a reconnect (anything may have changed meanwhile). */
export type ChangeListener = (model: string | undefined) => void;

export interface ListenerLog {
  warn(obj: object, msg: string): void;
}

/**
 * A dedicated connection LISTENing for registry changes. Notifications are sent inside the
 * writing transaction, so PostgreSQL delivers them at commit and never for a rolled-back
 * change. A lost connection is retried with backoff; after a reconnect the listener is told
 * "anything changed", because notifications sent while disconnected are gone.
 */
export class RegistryChangeListener {
  readonly #connectionString: string;
  readonly #schema: string;
  readonly #listener: ChangeListener;
  readonly #log: ListenerLog | undefined;
  #client: pg.Client | undefined;
  #closed = false;
  #connectedOnce = false;
  #retry: NodeJS.Timeout | undefined;
  #backoffMs = 100;

  constructor(connectionString: string, schema: string, listener: ChangeListener, log?: ListenerLog) {
    this.#connectionString = connectionString;
    this.#schema = schema;
    this.#listener = listener;
    this.#log = log;
  }

  /** Connect and LISTEN; resolves once listening (or after the first failure, retrying in the background). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#connectionString, connectionTimeoutMillis: 10_000 });
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (!this.#closed) {
        if (err) this.#log?.warn({ err }, 'registry change listener lost its connection; retrying');
        this.#schedule();
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      const payload = parse(msg.payload);
      if (payload && payload.schema === this.#schema) this.#listener(payload.model);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
    } catch (err) {
      onLost(err);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#backoffMs = 100;
    if (this.#connectedOnce) this.#listener(undefined);
    this.#connectedOnce = true;
  }

  #schedule(): void {
    if (this.#retry || this.#closed) return;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect().catch(() => this.#schedule());
    }, wait);
    this.#retry.unref();
  }
}

function parse(text: string | undefined): ChangePayload | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && typeof (value as ChangePayload).schema === 'string' && typeof (value as ChangePayload).model === 'string') return value as ChangePayload;
  } catch {
    // Someone else's payload on the same channel: not ours.
  }
  return undefined;
}
