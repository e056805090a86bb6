import { useMemo, useState } from 'preact/hooks';
import { COLORS, TimeChart, type Line } from '../chart.js';
import { ActionResult, useAction } from '../actions.js';
import { sendJson } from '../api.js';
import { Failure, fmt, when } from '../components.js';
import { useJson } from '../hooks.js';
import type { AliasEvent, Traffic, TrafficSeries } from '../types.js';

interface ShadowView { model: string; route: string; shadow: { target: string; share: number } | null; canary: { target: string; weight: number }[] | null; setBy: { actor: string; at: string } | null; outcomes: Record<string, number> }

/** Live traffic from the server's ring buffer (polled every 2 s): rates, latency percentiles, errors, batch size, per model and version. */
export function TrafficPage() {
  const [model, setModel] = useState('');
  const [seconds, setSeconds] = useState(120);
  const { data, error } = useJson<Traffic>('ferry/v1/traffic', { model, seconds }, 2000);
  const split = useJson<{ models: ShadowView[] }>('ferry/v1/traffic/split', { model }, 5000);
  const series = data?.series ?? [];
  const x = useMemo(() => series[0]?.points.map((p) => p.t) ?? [], [data]);
  const label = (s: TrafficSeries) => `${s.model}:${s.version} ${s.source}`;
  const rate: Line[] = useMemo(() => series.map((s, i) => ({ label: label(s), values: s.points.map((p) => p.rps), color: COLORS[i % COLORS.length]! })), [data]);
  const p99: Line[] = useMemo(() => {
    const all = series.filter((s) => s.requests > 0);
    return all.flatMap((s, i) => [
      { label: `${label(s)} p50`, values: s.points.map((p) => p.p50), color: COLORS[(2 * i) % COLORS.length]! },
      { label: `${label(s)} p99`, values: s.points.map((p) => p.p99), color: COLORS[(2 * i + 1) % COLORS.length]! },
    ]);
  }, [data]);
  return (
    <section aria-labelledby="traffic-title">
      <h1 id="traffic-title">Traffic</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="traffic-model">Model</label>
        <input id="traffic-model" value={model} placeholder="all models" onChange={(e) => setModel(e.currentTarget.value.trim())} />
        <label for="traffic-window">Window</label>
        <select id="traffic-window" value={seconds} onChange={(e) => setSeconds(Number(e.currentTarget.value))}>
          <option value={60}>1 minute</option><option value={120}>2 minutes</option><option value={300}>5 minutes</option>
        </select>
        <span class="muted small" aria-live="off">live, every 2 s{data ? ` · step ${data.step} s` : ''}</span>
      </form>
      <Failure error={error} />
      {series.length === 0 && data ? <p class="muted">No traffic in this window yet.</p> : null}
      {series.length > 0 ? (
        <div class="grid">
          <TimeChart title="Requests per second" x={x} lines={rate} unit="req/s" />
          <TimeChart title="Latency (ms)" x={x} lines={p99} unit="ms" />
        </div>
      ) : null}
      <h2>By model, version and source</h2>
      <div class="table-wrap">
        <table data-testid="traffic-table">
          <caption class="sr-only">Traffic totals over the window</caption>
          <thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Source</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Rows/request</th><th scope="col" class="num">p50 ms</th><th scope="col" class="num">p95 ms</th><th scope="col" class="num">p99 ms</th><th scope="col">Errors by code</th></tr></thead>
          <tbody>
            {series.map((s) => (
              <tr key={label(s)}>
                <th scope="row">{s.model}</th><td>{s.version}</td><td>{s.source}</td><td class="num">{fmt(s.requests)}</td><td class="num">{fmt(s.rows)}</td><td class="num">{fmt(s.rowsPerRequest)}</td>
                <td class="num">{fmt(s.p50)}</td><td class="num">{fmt(s.p95)}</td><td class="num">{fmt(s.p99)}</td>
                <td class="small">{Object.entries(s.errors).map(([c, n]) => <div key={c}>{c}: {fmt(n)}</div>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Canary and shadow</h2>
      <Failure error={split.error} />
      <div class="table-wrap">
        <table data-testid="split-table">
          <thead><tr><th scope="col">Model</th><th scope="col">Canary split</th><th scope="col">Shadow</th><th scope="col">Set by</th><th scope="col">Shadow outcomes</th><th scope="col" class="num">Agreement</th></tr></thead>
          <tbody>
            {(split.data?.models ?? []).map((m) => {
              const total = Object.values(m.outcomes).reduce((a, b) => a + b, 0);
              return (
                <tr key={m.model}>
                  <th scope="row">{m.model}</th>
                  <td>{m.canary ? m.canary.map((c) => `${c.target}: ${c.weight}`).join(', ') : 'off'}</td>
                  <td>{m.shadow ? `${m.shadow.target} (${fmt(m.shadow.share * 100)} %)` : 'off'}</td>
                  <td class="small">{m.setBy ? `${m.setBy.actor}, ${when(m.setBy.at)}` : 'ferry.yaml'}</td>
                  <td class="small">{Object.entries(m.outcomes).map(([k, n]) => `${k} ${fmt(n)}`).join(' · ') || '–'}</td>
                  <td class="num">{total ? `${fmt((100 * (m.outcomes.agree ?? 0)) / total)} %` : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <SetTraffic models={split.data?.models ?? []} onDone={split.reload} />
    </section>
  );
}

/** `champion=90, challenger=10` → routes; throws on anything else. */
function parseCanary(text: string): { target: string; weight: number }[] | null {
  const parts = text.split(/[,\s]+/).filter(Boolean);
  if (parts.length === 0) return null;
  return parts.map((p) => {
    const m = /^([^=]+)=(.+)$/.exec(p);
    const weight = Number(m?.[2]);
    if (!m?.[1] || !Number.isFinite(weight)) throw new Error(`"${p}" is not <target>=<weight> (e.g. champion=90)`);
    return { target: m[1], weight };
  });
}

/**
 * Set a model's canary weights and shadow (admin key): the same registry call as `ferry traffic
 * set`, recorded in the alias history; every replica applies it.
 */
function SetTraffic({ models, onDone }: { models: ShadowView[]; onDone(): void }) {
  const [model, setModel] = useState('');
  const [canary, setCanary] = useState('');
  const [shadow, setShadow] = useState('');
  const [share, setShare] = useState('100');
  const action = useAction(onDone);
  const chosen = model || models[0]?.model || '';
  const pick = (name: string) => {
    setModel(name);
    const m = models.find((x) => x.model === name);
    setCanary(m?.canary ? m.canary.map((c) => `${c.target}=${c.weight}`).join(', ') : '');
    setShadow(m?.shadow?.target ?? '');
    setShare(m?.shadow ? String(m.shadow.share * 100) : '100');
  };
  const path = `ferry/v1/models/${encodeURIComponent(chosen)}/traffic`;
  const set = () => action.run(async () => {
    const body = { canary: parseCanary(canary), shadow: shadow ? { target: shadow, share: Number(share) / 100 } : null };
    const e = await sendJson<AliasEvent>('PUT', path, body);
    return `Traffic of ${chosen}: ${e.note ?? ''}.`;
  });
  return (
    // Enter in any field sets the traffic, as the button does.
    <form class="card" aria-labelledby="set-traffic-title" onSubmit={(e) => { e.preventDefault(); if (chosen) void set(); }}>
      <h3 id="set-traffic-title">Set canary and shadow (admin key)</h3>
      <p class="muted small" id="set-traffic-help">Kept in the registry: every replica applies it in place of ferry.yaml's canary and shadow, and it is recorded in the alias history. Leave a field empty to turn it off.</p>
      <div class="row">
        <label for="traffic-set-model">Model</label>
        <select id="traffic-set-model" value={chosen} onChange={(e) => pick(e.currentTarget.value)}>
          {models.map((m) => <option key={m.model} value={m.model}>{m.model}</option>)}
        </select>
        <label for="traffic-canary">Canary weights</label>
        <input id="traffic-canary" size={28} value={canary} placeholder="champion=90, challenger=10" aria-describedby="set-traffic-help" onInput={(e) => setCanary(e.currentTarget.value)} />
      </div>
      <div class="row">
        <label for="traffic-shadow">Shadow target</label>
        <input id="traffic-shadow" size={14} value={shadow} placeholder="challenger" onInput={(e) => setShadow(e.currentTarget.value.trim())} />
        <label for="traffic-share">Shadow share (%)</label>
        <input id="traffic-share" inputMode="decimal" size={5} value={share} onInput={(e) => setShare(e.currentTarget.value.trim())} />
        <button type="submit" class="primary" disabled={!chosen}>Set traffic</button>
        <button type="button" disabled={!chosen} onClick={() => void action.run(async () => {
          const e = await sendJson<AliasEvent>('DELETE', path);
          return `Traffic of ${chosen}: ${e.note ?? ''}.`;
        })}>Clear (use ferry.yaml)</button>
      </div>
      <ActionResult state={action} testId="traffic-result" />
    </form>
  );
}
