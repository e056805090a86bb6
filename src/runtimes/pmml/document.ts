/**
 * Compiles a PMML document: DataDictionary, TransformationDictionary (DerivedField,
 * DefineFunction) and the top-level model. Each model (top level or segment) is compiled by
 * `compileModel` in model.ts.
 */
import { castTo, compileExpression, expressionChild, intervalTest, invalid, need, unsupported, type DefinedFunction, type ExprScope } from './expressions.js';
import { compileModel, MODEL_ELEMENTS, type TopModel } from './model.js';
import type { DataType, Expr, FieldInfo, OpType } from './types.js';
import { attr, child, children, type XmlElement } from './xml.js';
import { isNumeric, toType, valueKey } from './values.js';

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

function dataField(el: XmlElement): DataFieldDef {
  const dataType = need(el, 'dataType') as DataType;
  const opType = (attr(el, 'optype') ?? (isNumeric(dataType) ? 'continuous' : 'categorical')) as OpType;
  const name = need(el, 'name');
  const values: string[] = [];
  const valid = new Set<string>();
  const invalidValues = new Set<string>();
  const missingValues = new Set<string>();
  const displayValues = new Map<string, string>();
  const key = (text: string): string => valueKey(toType(dataType, text) ?? text);
  for (const v of children(el, 'Value')) {
    const text = need(v, 'value');
    const property = attr(v, 'property') ?? 'valid';
    if (property === 'valid') {
      values.push(text);
      valid.add(key(text));
    } else if (property === 'invalid') invalidValues.add(key(text));
    else if (property === 'missing') missingValues.add(key(text));
    const display = attr(v, 'displayValue');
    if (display !== undefined) displayValues.set(key(text), display);
  }
  const intervals = children(el, 'Interval').map(intervalTest);
  return { name, dataType, opType, values, valid, invalidValues, missingValues, intervals, displayValues };
}

export interface CompiledDocument {
  readonly version: string;
  readonly dataFields: ReadonlyMap<string, DataFieldDef>;
  readonly model: TopModel;
}

/** Compile a parsed PMML document. Throws PmmlError for what is not supported or not valid. */
export function compileDocument(root: XmlElement): CompiledDocument {
  if (root.name !== 'PMML') invalid(root, `the root element is <${root.name}>, not <PMML>`);
  const version = attr(root, 'version') ?? '';
  const dd = child(root, 'DataDictionary');
  if (!dd) invalid(root, 'the document has no DataDictionary');
  const dataFields = new Map<string, DataFieldDef>();
  const scope = new Scope(undefined, new Map());
  for (const f of children(dd, 'DataField')) {
    const def = dataField(f);
    dataFields.set(def.name, def);
    scope.add(def);
  }
  for (const el of root.children) {
    if (el.name === 'Header' || el.name === 'DataDictionary' || el.name === 'TransformationDictionary' || el.name === 'Extension' || el.name === 'MiningBuildTask') continue;
    if (MODEL_ELEMENTS.has(el.name)) continue;
    unsupported(el, `<${el.name}> is not supported at the top level of a PMML document`);
  }
  const globals = new Map<string, Expr>();
  const td = child(root, 'TransformationDictionary');
  if (td) {
    for (const fn of children(td, 'DefineFunction')) defineFunction(fn, scope);
    // Compile every body now so an unsupported one is refused at load (bodies may call each other).
    for (const fn of children(td, 'DefineFunction')) scope.defined(need(fn, 'name'))?.body();
    for (const df of children(td, 'DerivedField')) scope.add(fieldInfo(df));
    for (const df of children(td, 'DerivedField')) globals.set(need(df, 'name'), derivedField(df, scope));
  }
  const models = root.children.filter((c) => MODEL_ELEMENTS.has(c.name) && attr(c, 'isScorable') !== 'false');
  const top = models[0];
  if (!top) invalid(root, 'the document has no (scorable) model element');
  const model = compileModel(top, { scope, dataFields, globals, top: true, version });
  return { version, dataFields, model: model as TopModel };
}

/** A DerivedField's expression, cast to its data type. */
export function derivedField(el: XmlElement, scope: ExprScope): Expr {
  const expr = expressionChild(el);
  if (!expr) invalid(el, `DerivedField "${attr(el, 'name') ?? ''}" has no expression`);
  return castTo(attr(el, 'dataType') as DataType | undefined, compileExpression(expr, scope));
}

function defineFunction(el: XmlElement, scope: Scope): void {
  const name = need(el, 'name');
  const params = children(el, 'ParameterField').map((p) => ({ name: need(p, 'name'), dataType: attr(p, 'dataType') as DataType | undefined }));
  const bodyEl = expressionChild(el);
  if (!bodyEl) invalid(el, `DefineFunction "${name}" has no expression`);
  const fnScope = new Scope(scope);
  for (const p of params) fnScope.add({ name: p.name, dataType: p.dataType ?? 'string', opType: 'continuous', values: [] });
  let body: Expr | undefined;
  scope.defineFunction(name, {
    params,
    dataType: attr(el, 'dataType') as DataType | undefined,
    body: () => (body ??= compileExpression(bodyEl, fnScope)),
  });
}
