import { ferry, quoteList } from '../../core/errors.js';
import type { LgbmModel } from '../../runtimes/lightgbm/lightgbm-model.js';
import { compileLightgbm } from '../../runtimes/lightgbm/lightgbm-text.js';
import { compileModel, type CompiledModel } from '../../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../../runtimes/xgboost/xgboost-runtime.js';
import type { ExportModel, ExportOptions, ExportTarget } from '../export-target.js';
import { checkSqlInDuckDb } from './duckdb-check.js';
import { lightgbmSql, lightgbmSqlRefusal } from './lightgbm-sql.js';
import { DIALECTS, renderQuery, type Dialect } from './sql-ast.js';
import { xgboostSql, xgboostSqlRefusal } from './xgboost-sql.js';

type Compiled = { format: 'xgboost'; model: CompiledModel } | { format: 'lightgbm'; model: LgbmModel };

function compile(model: ExportModel): Compiled | undefined {
  const { format } = model.version;
  if (format === 'xgboost') return { format, model: compileModel(parseXgboost(model.artifact)) };
  if (format === 'lightgbm') return { format, model: compileLightgbm(new TextDecoder().decode(model.artifact)) };
  return undefined;
}

/** The input's column names, in feature order (SQL reads columns by name). */
function featureColumns(model: ExportModel): readonly string[] | undefined {
  const [input, ...more] = model.version.signature.inputs;
  return input && more.length === 0 ? input.columns : undefined;
}

function dialectOf(options: ExportOptions): Dialect {
  const d = options.dialect;
  if (!d || !(DIALECTS as readonly string[]).includes(d)) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--target sql needs --dialect ${DIALECTS.join('|')}${d ? ` (got "${d}")` : ''}.` });
  return d as Dialect;
}

/**
 * `--target sql`: one SELECT that scores the rows of `--table` inside the database, with the
 * model's own comparison semantics (see xgboost-sql.ts, lightgbm-sql.ts). Output columns: the
 * `--key` columns, then the outputs named as `ferry predict` names CSV columns.
 */
export const sqlTarget: ExportTarget = {
  name: 'sql',
  output: 'file',
  checked: true,
  refusal(model) {
    const { format } = model.version;
    if (format !== 'xgboost' && format !== 'lightgbm') return `the SQL target writes XGBoost and LightGBM models (linear boosters and tree ensembles); ${format} models are exported for node or browser`;
    if (!featureColumns(model)) return 'its input has no column names; register it with --input-columns input=a,b,c so the query can read them';
    const compiled = compile(model);
    if (!compiled) return `format ${format} is not supported`;
    return compiled.format === 'xgboost' ? xgboostSqlRefusal(compiled.model) : lightgbmSqlRefusal(compiled.model);
  },
  build(model, options) {
    const dialect = dialectOf(options);
    if (!options.table) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: '--target sql needs --table <name>: the table (or view) whose rows the query scores.' });
    const columns = featureColumns(model) ?? [];
    const keys = options.keys ?? [];
    const clash = keys.filter((k) => columns.includes(k));
    if (clash.length > 0) throw ferry('FERRY_E_EXPORT_OPTIONS_INVALID', { detail: `--key ${quoteList(clash)} is an input of the model.` });
    const compiled = compile(model);
    if (!compiled) throw ferry('FERRY_E_INTERNAL', { detail: `sql target asked to build ${model.version.format}` });
    const outputs = model.version.signature.outputs;
    const { steps, final } = compiled.format === 'xgboost' ? xgboostSql(compiled.model, columns, outputs) : lightgbmSql(compiled.model, columns, outputs);
    const v = model.version;
    const header = `-- ${v.model}:${v.version} (${v.format}, artifact ${v.digest}) scoring the rows of ${options.table} in ${dialect}.\n-- Written by ferry export --target sql; outputs are named as \`ferry predict\` names CSV columns.\n`;
    const sql = header + renderQuery(dialect, options.table, keys, steps, final);
    return Promise.resolve([{ path: 'query.sql', kind: 'text', bytes: new TextEncoder().encode(sql) }]);
  },
  verify: checkSqlInDuckDb,
};
