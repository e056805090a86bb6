import type { CanaryRoute } from './deployment-config.js';

/**
 * A canary split: smooth weighted round-robin (as nginx balances upstreams), so 90/10 sends
 * exactly 9 of every 10 requests to the first target, interleaved rather than in runs.
 */
export class TrafficSplit {
  readonly #routes: readonly CanaryRoute[];
  readonly #current: number[];
  readonly #total: number;

  constructor(routes: readonly CanaryRoute[]) {
    this.#routes = routes;
    this.#current = routes.map(() => 0);
    this.#total = routes.reduce((s, r) => s + r.weight, 0);
  }

  next(): string {
    let best = 0;
    this.#routes.forEach((r, i) => {
      this.#current[i] = (this.#current[i] ?? 0) + r.weight;
      if ((this.#current[i] ?? 0) > (this.#current[best] ?? 0)) best = i;
    });
    this.#current[best] = (this.#current[best] ?? 0) - this.#total;
    return this.#routes[best]?.target ?? '';
  }
}
