/**
 * Field scopes of a PMML document: what the DataDictionary, DerivedFields and OutputFields
 * declare, looked up by name through nested scopes (document, model, segment).
 */
import { castTo, compileExpression, expressionChild, invalid, need, type DefinedFunction, type ExprScope } from './expressions.js';
import type { DataType, Expr, FieldInfo, OpType } from './types.js';
import { attr, children, type XmlElement } from './xml.js';
import { isNumeric } from './values.js';

/** A field of the DataDictionary with what MiningSchema treatment needs. */
export interface DataFieldDef extends FieldInfo {
  /** Keys (valueKey) of values declared valid; empty when none are declared. */
  readonly valid: ReadonlySet<string>;
  readonly invalidValues: ReadonlySet<string>;
  readonly missingValues: ReadonlySet<string>;
  /** Interval tests for continuous fields; empty when none. */
  readonly intervals: readonly ((x: number) => boolean)[];
  /** Display value by value key (Value displayValue). */
  readonly displayValues: ReadonlyMap<string, string>;
}

/** Field lookup with a parent scope; DefineFunctions are shared by the whole document. */
export class Scope implements ExprScope {
  readonly #fields = new Map<string, FieldInfo>();
  readonly #parent: Scope | undefined;
  readonly #functions: Map<string, DefinedFunction>;

  constructor(parent: Scope | undefined, functions?: Map<string, DefinedFunction>) {
    this.#parent = parent;
    this.#functions = functions ?? (parent ? parent.#functions : new Map<string, DefinedFunction>());
  }

  field(name: string): FieldInfo | undefined {
    return this.#fields.get(name) ?? this.#parent?.field(name);
  }

  add(info: FieldInfo): void {
    this.#fields.set(info.name, info);
  }

  defined(name: string): DefinedFunction | undefined {
    return this.#functions.get(name);
  }

  defineFunction(name: string, fn: DefinedFunction): void {
    this.#functions.set(name, fn);
  }
}

/** Field info from an element with name/dataType/optype attributes (DerivedField, OutputField). */
export function fieldInfo(el: XmlElement, fallbackType: DataType = 'string'): FieldInfo {
  const dataType = (attr(el, 'dataType') ?? fallbackType) as DataType;
  const opType = (attr(el, 'optype') ?? (isNumeric(dataType) ? 'continuous' : 'categorical')) as OpType;
  return { name: need(el, 'name'), dataType, opType, values: children(el, 'Value').map((v) => need(v, 'value')) };
}

/** A DerivedField's expression, cast to its data type. */
export function derivedField(el: XmlElement, scope: ExprScope): Expr {
  const expr = expressionChild(el);
  if (!expr) invalid(el, `DerivedField "${attr(el, 'name') ?? ''}" has no expression`);
  return castTo(attr(el, 'dataType') as DataType | undefined, compileExpression(expr, scope));
}
