/**
 * Compiles a PMML document: DataDictionary, TransformationDictionary (DerivedField,
 * DefineFunction) and the top-level model. Each model (top level or segment) is compiled by
 * `compileModel` in model.ts.
 */
import { INTERVAL_READERS, invalid, need, unsupported } from './expressions.js';
import { compileModel, type TopModel } from './model.js';
import { MODEL_ELEMENTS } from './model-elements.js';
import { Scope, type DataFieldDef } from './scope.js';
import { compileTransformations } from './transformations.js';
import type { DataType, Expr, OpType } from './types.js';
import { attr, child, children, type XmlElement } from './xml.js';
import { isNumeric, toType, valueKey } from './values.js';

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
  const intervals = children(el, 'Interval').map((i) => (INTERVAL_READERS.Interval ?? unsupported)(i));
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
  const td = child(root, 'TransformationDictionary');
  const globals = td ? compileTransformations(td, scope) : new Map<string, Expr>();
  const models = root.children.filter((c) => MODEL_ELEMENTS.has(c.name) && attr(c, 'isScorable') !== 'false');
  const top = models[0];
  if (!top) invalid(root, 'the document has no (scorable) model element');
  const model = compileModel(top, { scope, dataFields, globals, top: true, version });
  return { version, dataFields, model: model as TopModel };
}
