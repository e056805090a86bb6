/**
 * A document's TransformationDictionary: DefineFunctions (compiled on first use, every body checked
 * at load) and DerivedFields visible to the top-level model.
 */
import { compileExpression, expressionChild, invalid, need } from './expressions.js';
import { derivedField, fieldInfo, Scope } from './scope.js';
import type { DataType, Expr } from './types.js';
import { attr, children, type XmlElement } from './xml.js';

/** Add the dictionary's functions and fields to `scope`; returns the derived fields by name. */
export function compileTransformations(td: XmlElement, scope: Scope): Map<string, Expr> {
  const globals = new Map<string, Expr>();
  for (const fn of children(td, 'DefineFunction')) defineFunction(fn, scope);
  // Compile every body now so an unsupported one is refused at load (bodies may call each other).
  for (const fn of children(td, 'DefineFunction')) scope.defined(need(fn, 'name'))?.body();
  for (const df of children(td, 'DerivedField')) scope.add(fieldInfo(df));
  for (const df of children(td, 'DerivedField')) globals.set(need(df, 'name'), derivedField(df, scope));
  return globals;
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
