import { useState } from 'preact/hooks';
import { ActionResult, useAction } from '../actions.js';
import { ApiError, getJson, sendJson } from '../api.js';
import { Chip, Failure, fmt, Pager, when } from '../components.js';
import { useJson } from '../hooks.js';
import type { AliasEvent, LoggedPrediction, ModelDetail, Version } from '../types.js';

const PAGE = 20;

/** One model: versions (paged), aliases and their history, signature, reference profile, compare, and the admin actions. */
export function ModelPage({ name }: { name: string }) {
  const [offset, setOffset] = useState(0);
  const { data, error, reload } = useJson<ModelDetail>(`ferry/v1/models/${encodeURIComponent(name)}`, { offset, limit: PAGE });
  const [picked, setPicked] = useState<number[]>([]);
  const [shown, setShown] = useState<number | null>(null);
  if (!data) return <section><h1>{name}</h1><Failure error={error} /></section>;
  const { model, versions, aliases, history, serving } = data;
  const current = versions.items.find((v) => v.version === (shown ?? versions.items[0]?.version));
  const toggle = (v: number) => setPicked((p) => (p.includes(v) ? p.filter((x) => x !== v) : [...p, v].slice(-2)));
  return (
    <section aria-labelledby="model-title">
      <p><a href="#/models">← Models</a></p>
      <h1 id="model-title">{model.name}</h1>
      {model.description ? <p class="muted">{model.description}</p> : null}
      <Failure error={error} />
      <div class="stats card" data-testid="serving">
        <div><span class="muted">Serving</span><b><Chip kind={serving.state === 'ready' ? 'ok' : serving.state === 'loading' ? 'warn' : 'off'}>{serving.state}</Chip></b></div>
        <div><span class="muted">Route</span><b>{serving.route ?? '–'}</b></div>
        <div><span class="muted">Canary</span><b>{serving.canary ? serving.canary.map((c) => `${c.target} ${c.weight}`).join(' / ') : 'off'}</b></div>
        <div><span class="muted">Shadow</span><b>{serving.shadow ? `${serving.shadow.target} (${fmt(serving.shadow.share * 100)} %)` : 'off'}</b></div>
        <div><span class="muted">Versions</span><b>{fmt(versions.total)}</b></div>
      </div>

      <h2>Aliases</h2>
      <ul class="row" aria-label="Aliases">
        {aliases.length === 0 ? <li class="muted">none</li> : aliases.map((a) => <li key={a.alias} style={{ listStyle: 'none' }}><Chip>{a.alias} → {a.version}</Chip></li>)}
      </ul>
      <Actions model={model.name} aliases={aliases.map((a) => a.alias)} latest={versions.items[0]?.version} onDone={reload} />

      <h2>Versions</h2>
      <div class="table-wrap">
        <table data-testid="versions-table">
          <caption class="sr-only">Versions of {model.name}, newest first</caption>
          <thead><tr><th scope="col">Compare</th><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Creator</th><th scope="col">Format</th><th scope="col">Digest</th><th scope="col">Metrics</th><th scope="col">Tags</th><th scope="col">Lineage</th><th scope="col">Aliases</th></tr></thead>
          <tbody>
            {versions.items.map((v) => (
              <tr key={v.version}>
                <td><input type="checkbox" aria-label={`Compare version ${v.version}`} checked={picked.includes(v.version)} onChange={() => toggle(v.version)} /></td>
                <th scope="row"><button type="button" class="link" aria-pressed={current?.version === v.version} onClick={() => setShown(v.version)}>{v.version}</button>{v.archivedAt ? <Chip kind="off">archived</Chip> : null}</th>
                <td class="small">{when(v.createdAt)}</td>
                <td class="small">{v.createdBy}</td>
                <td>{v.format}</td>
                <td class="mono" title={v.digest}>{v.digest.slice(7, 19)}</td>
                <td class="small">{Object.entries(v.metrics).map(([k, x]) => <div key={k}>{k} = {fmt(x, 4)}</div>)}</td>
                <td>{Object.entries(v.tags).map(([k, x]) => <Chip key={k} kind="off">{k}={x}</Chip>)}</td>
                <td class="small">{lineage(v)}</td>
                <td>{v.aliases.map((a) => <Chip key={a}>{a}</Chip>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager total={versions.total} offset={versions.offset} limit={versions.limit} onOffset={setOffset} label="Versions" />

      {picked.length === 2 ? <Compare model={model.name} a={versions.items.find((v) => v.version === Math.min(...picked))} b={versions.items.find((v) => v.version === Math.max(...picked))} /> : <p class="muted small">Tick two versions to compare them.</p>}

      {current ? <SignatureView version={current} /> : null}
      {current ? <Profile model={model.name} version={current.version} /> : null}

      <RecentPredictions model={model.name} logged={serving.log !== null} />

      <h2>Alias history</h2>
      <History events={history} />
    </section>
  );
}

function lineage(v: Version): string {
  const parts = [v.lineage.trainingData && `data: ${v.lineage.trainingData}`, v.lineage.code && `code: ${v.lineage.code}`, v.lineage.parentVersion !== undefined && `parent: ${v.lineage.parentVersion}`].filter(Boolean);
  return parts.length ? parts.join(' · ') : '–';
}

/** The alias-history name of traffic changes (canary, shadow); the setting is in the note. */
const TRAFFIC_EVENT = '(traffic)';

function History({ events }: { events: AliasEvent[] }) {
  if (events.length === 0) return <p class="muted">No alias moves yet.</p>;
  return (
    <div class="table-wrap">
      <table data-testid="alias-history">
        <caption class="sr-only">Alias moves, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Alias</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Actor</th><th scope="col">Note</th></tr></thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}><td class="small">{when(e.at)}</td><td>{e.alias}</td><td>{e.fromVersion ?? '–'}</td><td>{e.toVersion ?? (e.alias === TRAFFIC_EVENT ? '–' : '(deleted)')}</td><td class="small">{e.actor}</td><td class="small">{e.note ?? ''}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Move an alias, roll it back, or promote through gates: admin scope, the same code as the CLI. */
function Actions({ model, aliases, latest, onDone }: { model: string; aliases: string[]; latest: number | undefined; onDone(): void }) {
  const [alias, setAlias] = useState(aliases[0] ?? 'champion');
  const [version, setVersion] = useState(latest !== undefined ? String(latest) : '');
  const [gates, setGates] = useState('');
  const action = useAction(onDone);
  const run = action.run;
  const path = `ferry/v1/models/${encodeURIComponent(model)}`;
  return (
    <form class="card" aria-labelledby="actions-title" onSubmit={(e) => e.preventDefault()}>
      <h3 id="actions-title">Act (admin key)</h3>
      <div class="row">
        <label for="act-alias">Alias</label>
        <input id="act-alias" list="known-aliases" value={alias} onInput={(e) => setAlias(e.currentTarget.value.trim())} />
        <datalist id="known-aliases">{aliases.map((a) => <option key={a} value={a} />)}</datalist>
        <label for="act-version">Version</label>
        <input id="act-version" inputMode="numeric" size={6} value={version} onInput={(e) => setVersion(e.currentTarget.value.trim())} />
        <button type="button" class="primary" onClick={() => void run(async () => {
          const e = await sendJson<AliasEvent>('PUT', `${path}/aliases/${encodeURIComponent(alias)}`, { version: Number(version) });
          return `Moved @${e.alias}: ${e.fromVersion ?? 'none'} → ${e.toVersion}.`;
        })}>Move alias</button>
        <button type="button" onClick={() => void run(async () => {
          const e = await sendJson<AliasEvent>('POST', `${path}/aliases/${encodeURIComponent(alias)}/rollback`);
          return `Rolled back @${e.alias}: ${e.fromVersion ?? 'none'} → ${e.toVersion ?? 'none'}.`;
        })}>Roll back</button>
      </div>
      <div class="row">
        <label for="act-gates">Promotion gates</label>
        <input id="act-gates" size={48} value={gates} placeholder='accuracy >= champion.accuracy; no-drift' onInput={(e) => setGates(e.currentTarget.value)} />
        <button type="button" onClick={() => void run(async () => {
          const out = await sendJson<{ candidate: number; champion: number | null; gates: { gate: string; ok: boolean; detail: string }[] }>('POST', `${path}/promote`, { version: Number(version), to: alias, require: gates.split(';').map((g) => g.trim()).filter(Boolean) });
          return `Promoted ${model}:${out.candidate} to @${alias}${out.champion !== null ? ` (was ${out.champion})` : ''}. ${out.gates.map((g) => `✓ ${g.gate}: ${g.detail}`).join(' ')}`;
        })}>Promote through gates</button>
      </div>
      <ActionResult state={action} testId="action-result" />
    </form>
  );
}

function SignatureView({ version }: { version: Version }) {
  const rows = [...version.signature.inputs.map((s) => ({ ...s, io: 'input' })), ...version.signature.outputs.map((s) => ({ ...s, io: 'output' }))];
  return (
    <>
      <h2>Signature of version {version.version}</h2>
      <div class="table-wrap">
        <table data-testid="signature">
          <thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Shape</th><th scope="col">Columns</th></tr></thead>
          <tbody>
            {rows.map((s) => <tr key={`${s.io}:${s.name}`}><td>{s.io}</td><th scope="row">{s.name}</th><td>{s.dtype}</td><td class="mono">[{s.shape.map((d, i) => (d < 0 ? (i === 0 ? 'N' : '?') : d)).join(', ')}]</td><td class="small">{s.columns?.join(', ') ?? ''}</td></tr>)}
          </tbody>
        </table>
      </div>
    </>
  );
}

interface ProfileView { source: string; rows: number; columns: { name: string; role: string; kind: string; count: number; missing: number; mean: number | null; std: number | null; min: number | null; p50: number | null; max: number | null; top: [string, number][] }[] }

function Profile({ model, version }: { model: string; version: number }) {
  const { data, error } = useJson<ProfileView>(`ferry/v1/models/${encodeURIComponent(model)}/versions/${version}/profile`);
  return (
    <>
      <h2>Reference profile of version {version}</h2>
      {error instanceof ApiError && error.code === 'FERRY_E_PROFILE_NOT_FOUND' ? <p class="muted">No reference profile (ferry profile {model}:{version} --data …).</p> : <Failure error={error} />}
      {data ? (
        <div class="table-wrap">
          <p class="small muted">{fmt(data.rows)} rows from {data.source}</p>
          <table data-testid="profile">
            <thead><tr><th scope="col">Column</th><th scope="col">Role</th><th scope="col">Kind</th><th scope="col" class="num">Missing</th><th scope="col" class="num">Mean</th><th scope="col" class="num">Std</th><th scope="col" class="num">Min</th><th scope="col" class="num">Median</th><th scope="col" class="num">Max</th><th scope="col">Top values</th></tr></thead>
            <tbody>
              {data.columns.map((c) => (
                <tr key={`${c.role}:${c.name}`}><th scope="row">{c.name}</th><td>{c.role}</td><td>{c.kind}</td><td class="num">{fmt(c.missing)}</td><td class="num">{fmt(c.mean)}</td><td class="num">{fmt(c.std)}</td><td class="num">{fmt(c.min)}</td><td class="num">{fmt(c.p50)}</td><td class="num">{fmt(c.max)}</td><td class="small">{c.top.map(([k, n]) => `${k} (${fmt(n)})`).join(', ')}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

interface Comparison { a: string; b: string; rows: number; tolerance: number; equivalent: boolean; agreement: number; maxAbsDiff: number; outputs: Record<string, { maxAbsDiff: number; maxRelDiff: number; agreement: number }>; unmatched: string[] }

function Compare({ model, a, b }: { model: string; a: Version | undefined; b: Version | undefined }) {
  const [result, setResult] = useState<Comparison | null>(null);
  const [error, setError] = useState<Error | undefined>(undefined);
  if (!a || !b) return null;
  const keys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  return (
    <div class="card" data-testid="compare">
      <h2>Compare {a.version} and {b.version}</h2>
      <table>
        <thead><tr><th scope="col">Metric</th><th scope="col" class="num">Version {a.version}</th><th scope="col" class="num">Version {b.version}</th><th scope="col" class="num">Difference</th></tr></thead>
        <tbody>
          {keys.length === 0 ? <tr><td colSpan={4} class="muted">No metrics recorded.</td></tr> : keys.map((k) => <tr key={k}><th scope="row">{k}</th><td class="num">{fmt(a.metrics[k], 4)}</td><td class="num">{fmt(b.metrics[k], 4)}</td><td class="num">{a.metrics[k] !== undefined && b.metrics[k] !== undefined ? fmt(b.metrics[k]! - a.metrics[k]!, 3) : '–'}</td></tr>)}
        </tbody>
      </table>
      <div class="row">
        <button type="button" onClick={() => void getJson<Comparison>(`ferry/v1/models/${encodeURIComponent(model)}/compare`, { a: a.version, b: b.version }).then((r) => { setResult(r); setError(undefined); }, (e: Error) => setError(e))}>Compare answers on the reference data</button>
      </div>
      <Failure error={error} />
      {result ? (
        <>
          <p role="status">{result.equivalent ? 'Equivalent' : 'Different'} on {fmt(result.rows)} reference rows: {fmt(result.agreement * 100)} % agree within {result.tolerance}.</p>
          <table>
            <thead><tr><th scope="col">Output</th><th scope="col" class="num">Agreement</th><th scope="col" class="num">Largest abs. difference</th><th scope="col" class="num">Largest rel. difference</th></tr></thead>
            <tbody>{Object.entries(result.outputs).map(([name, o]) => <tr key={name}><th scope="row">{name}</th><td class="num">{fmt(o.agreement * 100)} %</td><td class="num">{fmt(o.maxAbsDiff)}</td><td class="num">{fmt(o.maxRelDiff)}</td></tr>)}</tbody>
          </table>
          <details><summary>JSON (as ferry compare --json)</summary><pre data-testid="compare-result">{JSON.stringify(result, null, 2)}</pre></details>
        </>
      ) : null}
    </div>
  );
}

/** Shown of a logged prediction's outputs (the whole JSON is in the cell's title). */
const OUTPUT_CHARS = 80;

/** The newest logged predictions (every caller's inputs: the server asks for an admin key). */
function RecentPredictions({ model, logged }: { model: string; logged: boolean }) {
  const { data, error } = useJson<{ predictions: LoggedPrediction[] }>(`ferry/v1/models/${encodeURIComponent(model)}/predictions`, { limit: 20 });
  const rows = data ? [...data.predictions].reverse() : [];
  return (
    <>
      <h2>Recent predictions</h2>
      {/* The page's own key form is enough: this list alone needs an admin key, so say so instead of asking again. */}
      {error instanceof ApiError && (error.status === 401 || error.status === 403) ? <p class="muted">Logged predictions hold every caller's inputs: reading them needs an admin key.</p> : <Failure error={error} />}
      {data && rows.length === 0 ? <p class="muted">{logged ? 'No logged predictions yet.' : 'No logged predictions: this server does not log this model (log: in ferry.yaml, or serve --log-predictions).'}</p> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table data-testid="predictions">
            <caption class="sr-only">The newest logged predictions of {model}, newest first</caption>
            <thead><tr><th scope="col">Id</th><th scope="col">Version</th><th scope="col">When</th><th scope="col">Source</th><th scope="col">Outputs</th><th scope="col" class="num">Confidence</th><th scope="col">Ground truth</th><th scope="col" class="num">Latency ms</th></tr></thead>
            <tbody>
              {rows.map((p) => {
                const outputs = JSON.stringify(p.outputs);
                return (
                  <tr key={p.id}>
                    <th scope="row" class="mono small">{p.id}</th>
                    <td>{p.version}</td>
                    <td class="small">{when(p.at)}</td>
                    <td class="small">{p.source}</td>
                    <td class="mono small" title={outputs}>{outputs.length > OUTPUT_CHARS ? `${outputs.slice(0, OUTPUT_CHARS)}…` : outputs}</td>
                    <td class="num">{fmt(p.confidence)}{p.lowConfidence ? <Chip kind="warn">low</Chip> : null}</td>
                    <td class="small">{p.actual === undefined ? '–' : JSON.stringify(p.actual)}</td>
                    <td class="num">{fmt(p.latencyMs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
