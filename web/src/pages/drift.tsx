import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { Failure, fmt, when } from '../components.js';
import { useJson } from '../hooks.js';

interface Timeline { model: string; version: number; referenceRows: number; rows: number; capped: boolean; features: string[]; windows: { from: number; to: number; rows: number; share: number | null; datasetDrift: boolean | null; features: Record<string, { drift: boolean; test: string; statistic: number }> }[] }
interface Histogram { feature: string; kind: string; bins: ([number, number] | string)[]; reference: number[]; current: number[]; currentRows: number }
interface Attributions { model: string; version: number | null; rows: number; space: string | null; features: { feature: string; mean_abs: number; share: number }[] }
interface Metrics { total: number; labelled: number; coverage: number; task: string; metrics: Record<string, number | null> }

const SPANS: Record<string, string> = { '1h': '1 hour', '6h': '6 hours', '24h': '24 hours', '7d': '7 days' };

/** Drift of logged traffic against the reference profile over time, one feature's histograms, and live metrics from feedback. */
export function DriftPage({ model: initial }: { model?: string }) {
  const [model, setModel] = useState(initial ?? '');
  const [span, setSpan] = useState('1h');
  const [feature, setFeature] = useState('');
  const path = model ? `ferry/v1/models/${encodeURIComponent(model)}` : null;
  const timeline = useJson<Timeline>(path && `${path}/drift/timeline`, { window: span, windows: 12 }, 15000);
  const metrics = useJson<Metrics>(path && `${path}/metrics`, { window: span }, 15000);
  const attributions = useJson<Attributions>(path && `${path}/attributions`, { window: span }, 15000);
  const chosen = feature || timeline.data?.features[0] || '';
  const hist = useJson<Histogram>(path && chosen ? `${path}/drift/histogram` : null, { feature: chosen, window: span });
  const t = timeline.data;
  return (
    <section aria-labelledby="drift-title">
      <h1 id="drift-title">Drift and quality</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="drift-model">Model</label>
        <input id="drift-model" value={model} placeholder="model name" onChange={(e) => { setModel(e.currentTarget.value.trim()); setFeature(''); }} />
        <label for="drift-span">Span</label>
        <select id="drift-span" value={span} onChange={(e) => setSpan(e.currentTarget.value)}>{Object.entries(SPANS).map(([k, v]) => <option key={k} value={k}>{v}</option>)}</select>
      </form>
      {!model ? <p class="muted">Choose a model (its version with a reference profile and logged predictions).</p> : null}
      {timeline.error instanceof ApiError && (timeline.error.code === 'FERRY_E_PROFILE_NOT_FOUND') ? <p class="muted">{timeline.error.message}</p> : <Failure error={timeline.error} />}
      {t ? (
        <>
          <p class="small muted">{t.model}:{t.version} · reference {fmt(t.referenceRows)} rows · {fmt(t.rows)} logged rows{t.capped ? ' (the newest, capped)' : ''}</p>
          <h2>Dataset drift over time</h2>
          <div class="table-wrap">
            <table class="heat" data-testid="drift-heatmap">
              <caption>Drifted features per window (■ drift, □ no drift, blank: no traffic)</caption>
              <thead>
                <tr><th scope="col">Feature</th>{t.windows.map((w) => <th scope="col" key={w.from} title={`${when(new Date(w.from).toISOString())} – ${when(new Date(w.to).toISOString())}`}>{new Date(w.to).toISOString().slice(11, 16)}</th>)}</tr>
                <tr><th scope="row">Drift share</th>{t.windows.map((w) => <td key={w.from} class={w.datasetDrift ? 'cell-bad' : ''}>{w.share === null ? '' : `${fmt(w.share * 100, 2)}%`}</td>)}</tr>
              </thead>
              <tbody>
                {t.features.map((f) => (
                  <tr key={f}>
                    <th scope="row"><button type="button" class="link" aria-pressed={chosen === f} onClick={() => setFeature(f)}>{f}</button></th>
                    {t.windows.map((w) => {
                      const c = w.features[f];
                      return <td key={w.from} class={c?.drift ? 'cell-bad' : c ? 'cell-ok' : ''} title={c ? `${c.test} ${fmt(c.statistic)}` : 'no data'}>{c ? (c.drift ? '■' : '□') : ''}<span class="sr-only">{c ? (c.drift ? 'drift' : 'no drift') : 'no data'}</span></td>;
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {hist.data ? <HistogramView h={hist.data} /> : <Failure error={hist.error} />}
      <h2>Live metrics from feedback</h2>
      <Failure error={metrics.error} />
      {metrics.data ? (
        <div class="stats card" data-testid="live-metrics">
          <div><span class="muted">Logged</span><b>{fmt(metrics.data.total)}</b></div>
          <div><span class="muted">Labelled</span><b>{fmt(metrics.data.labelled)}</b></div>
          <div><span class="muted">Label coverage</span><b>{fmt(metrics.data.coverage * 100)} %</b></div>
          {Object.entries(metrics.data.metrics ?? {}).filter(([, v]) => typeof v === 'number').map(([k, v]) => <div key={k}><span class="muted">{k}</span><b>{fmt(v, 4)}</b></div>)}
        </div>
      ) : null}
      {model ? (
        <>
          <h2>Attributions per feature</h2>
          <Failure error={attributions.error} />
          {attributions.data ? <AttributionsView a={attributions.data} model={model} /> : null}
        </>
      ) : null}
    </section>
  );
}

/** Mean |contribution| and share per input column over the explained, logged predictions of the span. */
function AttributionsView({ a, model }: { a: Attributions; model: string }) {
  if (a.rows === 0) {
    return <p class="muted" data-testid="attributions">No attributions logged for {model} in this span. Explained predictions are kept when the model logs (<code>log:</code> or <code>--log-predictions</code>) and the request asks for an explanation (<code>explain: true</code>, <code>batch run --explain</code>, <code>stream run --explain</code>), or the model's <code>log: {"{"} explain: 0.1 {"}"}</code> explains a share of requests for the log.</p>;
  }
  const top = a.features[0]?.mean_abs ?? 1;
  return (
    <div class="table-wrap">
      <table data-testid="attributions">
        <caption class="small muted">{fmt(a.rows)} explained rows{a.version !== null ? ` of version ${a.version}` : ''}{a.space ? ` · ${a.space} space` : ''} · largest mean |contribution| first</caption>
        <thead><tr><th scope="col">Feature</th><th scope="col">Mean |contribution|</th><th scope="col" class="num">Share</th></tr></thead>
        <tbody>
          {a.features.map((f) => (
            <tr key={f.feature}>
              <th scope="row">{f.feature}</th>
              <td><span class="bar cur" style={{ width: `${(75 * f.mean_abs) / (top || 1)}%` }} />{fmt(f.mean_abs, 4)}</td>
              <td class="num">{fmt(f.share * 100, 3)} %</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function HistogramView({ h }: { h: Histogram }) {
  const max = Math.max(1e-9, ...h.reference, ...h.current);
  const label = (b: [number, number] | string) => (typeof b === 'string' ? b : `${fmt(b[0])}–${fmt(b[1])}`);
  return (
    <>
      <h2>{h.feature}: reference vs current</h2>
      <p class="small muted">{fmt(h.currentRows)} current values · shares of rows per bin</p>
      <div class="hist" role="table" aria-label={`Histogram of ${h.feature}`} data-testid="histogram">
        <div role="row" class="hist-row hist-head"><span role="columnheader">Bin</span><span role="columnheader">Reference</span><span role="columnheader">Current</span></div>
        {h.bins.map((b, i) => (
          <div role="row" class="hist-row" key={i}>
            <span role="rowheader" class="small">{label(b)}</span>
            <span role="cell"><span class="bar ref" style={{ width: `${(100 * (h.reference[i] ?? 0)) / max}%` }} />{fmt((h.reference[i] ?? 0) * 100, 2)}%</span>
            <span role="cell"><span class="bar cur" style={{ width: `${(100 * (h.current[i] ?? 0)) / max}%` }} />{fmt((h.current[i] ?? 0) * 100, 2)}%</span>
          </div>
        ))}
      </div>
    </>
  );
}
