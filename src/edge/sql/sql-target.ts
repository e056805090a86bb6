import { ferry, quoteList } from '../../core/errors.js';
import type { LgbmModel } from '../../runtimes/lightgbm/lightgbm-model.js';
import { compileLightgbm } from '../../runtimes/lightgbm/lightgbm-text.js';
import type { ExportForm } from '../../runtimes/pmml/model.js';
import { loadDocument } from '../../runtimes/pmml/pmml-model.js';
import { compileModel, type CompiledModel } from '../../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../../runtimes/xgboost/xgboost-loaded.js';
import type { ExportModel, ExportOptions, ExportTarget } from '../export-target.js';
import { sqlColumns } from './columns.js';
import { checkSqlInDuckDb } from './duckdb-check.js';
import { lightgbmSql, lightgbmSqlRefusal } from './lightgbm-sql.js';
import { pmmlSql, pmmlSqlFields, pmmlSqlRefusal } from './pmml-sql.js';
import { DIALECTS, renderQuery, type Dialect, type Expr, type Step } from './sql-ast.js';
import { xgboostSql, xgboostSqlRefusal } from './xgboost-sql.js';

type Compiled =
  | { format: 'xgboost'; model: CompiledModel }
  | { format: 'lightgbm'; model: LgbmModel }
  | { format: 'pmml'; form: ExportForm | string };

const FORMATS = ['xgboost', 'lightgbm', 'pmml'];

function compile(model: ExportModel): Compiled | undefined {
  const { format } = model.version;
  if (format === 'xgboost') return { format, model: compileModel(parseXgboost(model.artifact)) };
  if (format === 'lightgbm') return { format, model: compileLightgbm(new TextDecoder().decode(model.artifact)) };
  if (format === 'pmml') return { format, form: loadDocument(model.artifact).model.exportForm() };
  return undefined;
}

function dialectOf(options: ExportOptions): Dialect {
  const d = options.dialect;
  if (!d || !(DIALECTS as readonly string[]).includes(d)) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--target sql needs --dialect ${DIALECTS.join('|')}${d ? ` (got "${d}")` : ''}.` });
  return d as Dialect;
}

function refusalOf(c: Compiled): string | undefined {
  if (c.format === 'xgboost') return xgboostSqlRefusal(c.model);
  if (c.format === 'lightgbm') return lightgbmSqlRefusal(c.model);
  return typeof c.form === 'string' ? c.form : pmmlSqlRefusal(c.form);
}

/**
 * `--target sql`: one SELECT that scores the rows of `--table` inside the database, with the
 * model's own comparison semantics (see xgboost-sql.ts, lightgbm-sql.ts, pmml-sql.ts). Output
 * columns: the `--key` columns, then the outputs named as `ferry predict` names CSV columns.
 */
export const sqlTarget: ExportTarget = {
  name: 'sql',
  output: 'file',
  checked: true,
  refusal(model) {
    const { format } = model.version;
    if (!FORMATS.includes(format)) return `the SQL target writes XGBoost, LightGBM and PMML models (linear models and tree ensembles); ${format} models are exported for node or browser`;
    if (!sqlColumns(model.version.signature)) return 'its input has no column names; register it with --input-columns input=a,b,c so the query can read them';
    const compiled = compile(model);
    if (!compiled) return `format ${format} is not supported`;
    return refusalOf(compiled);
  },
  build(model, options) {
    const dialect = dialectOf(options);
    if (!options.table) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: '--target sql needs --table <name>: the table (or view) whose rows the query scores.' });
    const keys = options.keys ?? [];
    const compiled = compile(model);
    if (!compiled || refusalOf(compiled) !== undefined) throw ferry('FERRY_E_INTERNAL', { detail: `sql target asked to build ${model.version.format}` });
    const outputs = model.version.signature.outputs;
    let query: { steps: Step[]; final: [string, Expr][] };
    let columns: readonly string[];
    if (compiled.format === 'pmml') {
      const form = compiled.form as ExportForm;
      columns = pmmlSqlFields(form);
      query = pmmlSql(form, outputs);
    } else {
      columns = sqlColumns(model.version.signature) ?? [];
      query = compiled.format === 'xgboost' ? xgboostSql(compiled.model, columns, outputs) : lightgbmSql(compiled.model, columns, outputs);
    }
    const clash = keys.filter((k) => columns.includes(k));
    if (clash.length > 0) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--key ${quoteList(clash)} is an input of the model.` });
    const v = model.version;
    const header = `-- ${v.model}:${v.version} (${v.format}, artifact ${v.digest}) scoring the rows of ${options.table} in ${dialect}.\n-- Written by ferry export --target sql; outputs are named as \`ferry predict\` names CSV columns.\n`;
    const sql = header + renderQuery(dialect, options.table, keys, query.steps, query.final);
    return Promise.resolve([{ path: 'query.sql', kind: 'text', bytes: new TextEncoder().encode(sql) }]);
  },
  verify: checkSqlInDuckDb,
};
