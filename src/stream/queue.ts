/**
 * A small local buffer for brokers that push messages at us (NATS consume, MQTT): `take`
 * hands out what is ready or waits for the first item; `room` lets the producer pause
 * while the buffer is full, so the broker stops sending instead of memory growing.
 */
export class DeliveryQueue<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #takers: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];
  #closed = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    this.#wake();
  }

  /** Put items back at the front (a nak of a push broker: retry them first). */
  unshift(items: readonly T[]): void {
    this.#items.unshift(...items);
    this.#wake();
  }

  /** Resolves once the buffer has room for more. */
  room(): Promise<void> {
    if (this.#items.length < this.#capacity || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Up to `max` items; waits at most `waitMs` for the first one. */
  async take(max: number, waitMs: number): Promise<T[]> {
    if (this.#items.length === 0 && waitMs > 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#takers.push(done);
      });
    }
    const out = this.#items.splice(0, max);
    if (this.#items.length < this.#capacity) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const w of waiters) w();
    }
    return out;
  }

  /** Wake every waiter and hand out what is left. */
  close(): T[] {
    this.#closed = true;
    this.#wake();
    for (const w of this.#roomWaiters.splice(0)) w();
    return this.#items.splice(0);
  }

  #wake(): void {
    const takers = this.#takers;
    this.#takers = [];
    for (const t of takers) t();
  }
}
