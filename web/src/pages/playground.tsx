import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, apiKey, getJson, sendJson, url } from '../api.js';
import { Failure } from '../components.js';
import { useJson } from '../hooks.js';
import type { ModelDetail, TensorSpec, Version } from '../types.js';

const OIP_TYPES: Record<string, string> = { float16: 'FP16', float32: 'FP32', float64: 'FP64', int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', bool: 'BOOL', string: 'BYTES' };

/** Which data columns filled each input when the reference profile was made (the examples endpoint's `inputs`). */
export type ProfileInputs = Readonly<Record<string, readonly string[]>>;

/**
 * The data columns that fill an input: its saved mapping, else the reference profile's (a version
 * registered without a mapping), else `name[i]` for each element of a row.
 */
function columnsOf(spec: TensorSpec, profile: ProfileInputs = {}): string[] {
  if (spec.columns?.length) return spec.columns;
  const fromProfile = profile[spec.name];
  if (fromProfile?.length) return [...fromProfile];
  const width = spec.shape.slice(1).reduce((a, d) => a * Math.max(1, d), 1);
  return width === 1 ? [spec.name] : Array.from({ length: width }, (_, i) => `${spec.name}[${i}]`);
}

/** An Open Inference Protocol request of one row from the form's values. */
export function oipRequest(inputs: TensorSpec[], row: Record<string, string>, profile: ProfileInputs = {}): { inputs: { name: string; shape: number[]; datatype: string; data: (number | string)[] }[] } {
  return {
    inputs: inputs.map((spec) => {
      const cols = columnsOf(spec, profile);
      const text = spec.dtype === 'string';
      const rest = spec.shape.slice(1);
      const free = rest.filter((d) => d < 0).length;
      const known = rest.filter((d) => d >= 0).reduce((a, d) => a * d, 1);
      const shape = [1, ...rest.map((d) => (d >= 0 ? d : free === 1 ? cols.length / known : 1))];
      return { name: spec.name, shape, datatype: OIP_TYPES[spec.dtype] ?? 'FP32', data: cols.map((c) => (text ? row[c] ?? '' : Number(row[c] ?? '0'))) };
    }),
  };
}

/** A form generated from the signature, example rows from the reference profile, the answer, and "copy as curl" for three protocols. */
export function PlaygroundPage({ model: initial }: { model?: string }) {
  const [model, setModel] = useState(initial ?? '');
  const [pointer, setPointer] = useState('');
  const detail = useJson<ModelDetail>(model ? `ferry/v1/models/${encodeURIComponent(model)}` : null, { limit: 50 });
  const versions = detail.data?.versions.items ?? [];
  const target = pointer || detail.data?.serving.route || 'latest';
  const version: Version | undefined = useMemo(() => {
    const alias = detail.data?.aliases.find((a) => a.alias === target);
    const n = alias ? alias.version : /^\d+$/.test(target) ? Number(target) : versions[0]?.version;
    return versions.find((v) => v.version === n) ?? versions[0];
  }, [detail.data, target]);
  const [row, setRow] = useState<Record<string, string>>({});
  const [answer, setAnswer] = useState<unknown>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [examples, setExamples] = useState<Record<string, unknown>[]>([]);
  const [profileInputs, setProfileInputs] = useState<ProfileInputs>({});
  useEffect(() => {
    setAnswer(undefined);
    setExamples([]);
    setProfileInputs({});
    if (!version) return;
    const cols = version.signature.inputs.flatMap((s) => columnsOf(s));
    setRow(Object.fromEntries(cols.map((c) => [c, ''])));
    getJson<{ rows: Record<string, unknown>[]; inputs?: ProfileInputs }>(`ferry/v1/models/${encodeURIComponent(version.model)}/versions/${version.version}/examples`, { n: 5 })
      .then((r) => {
        setProfileInputs(r.inputs ?? {});
        setExamples(r.rows);
      }, () => setExamples([]));
  }, [version?.model, version?.version]);
  const inputs = version?.signature.inputs ?? [];
  const columns = inputs.flatMap((s) => columnsOf(s, profileInputs).map((c) => ({ column: c, spec: s })));
  const oipPath = `v2/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(target)}/infer`;
  const predict = async () => {
    setError(undefined);
    try {
      setAnswer(await sendJson('POST', oipPath, oipRequest(inputs, row, profileInputs)));
    } catch (err) {
      setAnswer(undefined);
      setError(err as ApiError);
    }
  };
  const record = Object.fromEntries(columns.map(({ column, spec }) => [column, spec.dtype === 'string' ? row[column] ?? '' : Number(row[column] ?? '0')]));
  const auth = apiKey() ? ` -H "authorization: Bearer $FERRY_API_KEY"` : '';
  const curl = (path: string, body: unknown) => `curl -s ${url(path)}${auth} -H 'content-type: application/json' -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`;
  const curls: [string, string][] = [
    ['Open Inference Protocol', curl(oipPath, oipRequest(inputs, row, profileInputs))],
    ['MLflow', curl(`models/${encodeURIComponent(model)}/invocations`, { dataframe_records: [record] })],
    ['KServe v1', curl(`v1/models/${encodeURIComponent(model)}:predict`, { instances: [record] })],
  ];
  return (
    <section aria-labelledby="play-title">
      <h1 id="play-title">Playground</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="play-model">Model</label>
        <input id="play-model" value={model} placeholder="model name" onChange={(e) => { setModel(e.currentTarget.value.trim()); setPointer(''); }} />
        <label for="play-pointer">Version or alias</label>
        <select id="play-pointer" value={target} onChange={(e) => setPointer(e.currentTarget.value)}>
          {[...new Set([detail.data?.serving.route ?? 'latest', ...(detail.data?.aliases.map((a) => a.alias) ?? []), ...versions.map((v) => String(v.version))])].map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </form>
      <Failure error={detail.error} />
      {version ? (
        <form class="card" aria-label="Inputs" onSubmit={(e) => { e.preventDefault(); void predict(); }}>
          <div class="row">
            <span class="muted small">{version.model}:{version.version} · {columns.length} input columns</span>
            {examples.map((ex, i) => <button type="button" key={i} onClick={() => setRow(Object.fromEntries(columns.map(({ column }) => [column, ex[column] === null || ex[column] === undefined ? '' : String(ex[column])])))}>Example {i + 1}</button>)}
          </div>
          <div class="fields">
            {columns.map(({ column, spec }) => (
              <div class="field" key={column}>
                <label for={`f-${column}`}>{column}</label>
                <input id={`f-${column}`} name={column} inputMode={spec.dtype === 'string' ? 'text' : 'decimal'} value={row[column] ?? ''} onInput={(e) => { const v = e.currentTarget.value; setRow((r) => ({ ...r, [column]: v })); }} />
              </div>
            ))}
          </div>
          <button type="submit" class="primary">Predict</button>
        </form>
      ) : null}
      <Failure error={error} />
      {answer !== undefined ? (<><h2>Answer</h2><pre data-testid="answer">{JSON.stringify(answer, null, 2)}</pre></>) : null}
      {version ? (
        <>
          <h2>Copy as curl</h2>
          {curls.map(([name, text]) => (
            <div key={name}>
              <div class="row"><b>{name}</b><button type="button" onClick={() => void navigator.clipboard?.writeText(text)}>Copy</button></div>
              <pre data-testid={`curl-${name}`}>{text}</pre>
            </div>
          ))}
        </>
      ) : null}
    </section>
  );
}
