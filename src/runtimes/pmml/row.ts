import type { Expr, Row, Value } from './types.js';

/** A row with no fields. */
export const EMPTY_ROW: Row = { get: () => null };

/**
 * The fields of one model while it scores one row: its own values (treated MiningSchema
 * fields, output fields), derived fields computed on first use and kept, then the enclosing row.
 */
export class ModelRow implements Row {
  readonly #own: Map<string, Value>;
  readonly #derived: ReadonlyMap<string, Expr>;
  readonly #base: Row;

  constructor(base: Row, own: Map<string, Value>, derived: ReadonlyMap<string, Expr>) {
    this.#base = base;
    this.#own = own;
    this.#derived = derived;
  }

  get(name: string): Value {
    const v = this.#own.get(name);
    if (v !== undefined) return v;
    const d = this.#derived.get(name);
    if (d) {
      this.#own.set(name, null); // a cycle reads missing instead of recursing forever
      const x = d(this);
      this.#own.set(name, x);
      return x;
    }
    return this.#base.get(name);
  }

  values(name: string): readonly Value[] {
    return this.#base.values ? this.#base.values(name) : [this.get(name)];
  }

  /** Set a field of this row (chained segment outputs, output fields). */
  set(name: string, value: Value): void {
    this.#own.set(name, value);
  }
}
