/**
 * A PMML `Matrix` (GeneralRegression's contrast matrices) in its own module: a package of a
 * document without a Matrix carries a stand-in (src/edge/narrowing.ts).
 */
import type { CompileContext } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { numAttr, numericArray, reqNum } from './kernel-helpers.js';

/**
 * A PMML `Matrix` as an element lookup, 1-based like the document: `kind` any (one Array per row),
 * diagonal (one Array of the diagonal), symmetric (the lower triangle, row i holding i entries), or
 * MatCell elements with `diagDefault`/`offDiagDefault` for the cells not listed. Undefined outside the matrix.
 */
export function pmmlMatrix(el: XmlElement, ctx: CompileContext): (row: number, col: number) => number | undefined {
  const kind = attr(el, 'kind') ?? 'any';
  const rowsAttr = numAttr(el, 'nbRows', ctx);
  const colsAttr = numAttr(el, 'nbCols', ctx);
  const diagDefault = numAttr(el, 'diagDefault', ctx);
  const offDiagDefault = numAttr(el, 'offDiagDefault', ctx);
  const arrays = el.children.filter((c) => c.name === 'Array' || c.name === 'REAL-SparseArray' || c.name === 'INT-SparseArray').map((a) => numericArray(a, ctx));
  const cells = children(el, 'MatCell');
  if (arrays.length > 0 && cells.length > 0) ctx.invalid(el, 'a Matrix holds either Arrays or MatCells, not both');
  if (cells.length > 0) {
    const values = new Map<string, number>();
    let rows = 0;
    let cols = 0;
    for (const c of cells) {
      const r = reqNum(c, 'row', ctx);
      const k = reqNum(c, 'col', ctx);
      if (!Number.isInteger(r) || !Number.isInteger(k) || r < 1 || k < 1) ctx.invalid(c, `MatCell row="${r}" col="${k}" is not a 1-based position`);
      const v = Number(c.text.trim());
      if (Number.isNaN(v)) ctx.invalid(c, `"${c.text.trim()}" is not a number`);
      values.set(`${r},${k}`, v);
      rows = Math.max(rows, r);
      cols = Math.max(cols, k);
    }
    const nr = rowsAttr ?? rows;
    const nc = colsAttr ?? cols;
    return (r, k) => {
      if (r < 1 || k < 1 || r > nr || k > nc) return undefined;
      return values.get(`${r},${k}`) ?? (r === k ? diagDefault : offDiagDefault);
    };
  }
  switch (kind) {
    case 'diagonal': {
      if (arrays.length !== 1) ctx.invalid(el, `a diagonal Matrix has one Array, not ${arrays.length}`);
      const d = arrays[0]!;
      return (r, k) => (r < 1 || k < 1 || r > d.length || k > d.length ? undefined : r === k ? d[r - 1] : offDiagDefault ?? 0);
    }
    case 'symmetric': {
      arrays.forEach((a, i) => { if (a.length !== i + 1) ctx.invalid(el, `row ${i + 1} of a symmetric Matrix holds ${i + 1} entries, not ${a.length}`); });
      return (r, k) => {
        const [i, j] = r >= k ? [r, k] : [k, r];
        return i < 1 || j < 1 || i > arrays.length ? undefined : arrays[i - 1]![j - 1];
      };
    }
    case 'any': {
      if (rowsAttr !== undefined && rowsAttr !== arrays.length) ctx.invalid(el, `nbRows="${rowsAttr}" but ${arrays.length} rows`);
      arrays.forEach((a, i) => { if (colsAttr !== undefined && a.length !== colsAttr) ctx.invalid(el, `row ${i + 1} has ${a.length} entries, nbCols="${colsAttr}"`); });
      return (r, k) => (r < 1 || k < 1 || r > arrays.length ? undefined : arrays[r - 1]![k - 1]);
    }
    default:
      return ctx.unsupported(el, `Matrix kind="${kind}"`);
  }
}
