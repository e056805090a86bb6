import { useRef } from 'preact/hooks';
import { Chip, Failure, fmt, when } from '../components.js';
import { useJson } from '../hooks.js';

interface Run { id: string; job: string | null; model: string; version: number; status: string; progress: string; total: number | null; rowsIn: number; scored: number; rejected: number; skipped: number; rowsPerSecond: number; seconds: number; startedAt: string; finishedAt: string | null; etaSeconds: number | null; error: { code: string; message: string } | null }
interface Job { name: string; model: string; cron: string | null; highWater: string | null; input: string; output: string; lastRun: { id: string; status: string; finishedAt: string | null } | null }
interface Batch { runs: Run[]; jobs: Job[] }

const statusKind = (s: string) => (s === 'succeeded' ? 'ok' : s === 'running' ? 'warn' : s === 'failed' || s === 'interrupted' ? 'bad' : 'off');

/** Batch runs (live progress) and named jobs with their schedules. */
export function BatchPage() {
  const { data, error } = useJson<Batch>('ferry/v1/batch', { limit: 50 }, 2000);
  return (
    <section aria-labelledby="batch-title">
      <h1 id="batch-title">Batch</h1>
      <Failure error={error} />
      <h2>Runs</h2>
      {data && data.runs.length === 0 ? <p class="muted">No batch runs yet (ferry batch run …).</p> : null}
      <div class="table-wrap">
        <table data-testid="batch-runs">
          <caption class="sr-only">Batch runs, newest first</caption>
          <thead><tr><th scope="col">Run</th><th scope="col">Job</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">Scored</th><th scope="col" class="num">Rejected</th><th scope="col" class="num">Rows/s</th><th scope="col" class="num">Duration s</th><th scope="col">Started</th><th scope="col">Error</th></tr></thead>
          <tbody>
            {(data?.runs ?? []).map((r) => (
              <tr key={r.id}>
                <th scope="row" class="mono">{r.id}</th><td>{r.job ?? ''}</td><td>{r.model}:{r.version}</td>
                <td><Chip kind={statusKind(r.status)}>{r.status}</Chip></td>
                <td>{r.total ? <progress max={r.total} value={r.rowsIn + r.skipped} aria-label={`run ${r.id} progress`} /> : null} {r.progress}</td>
                <td class="num">{fmt(r.scored)}</td><td class="num">{fmt(r.rejected)}</td><td class="num">{fmt(r.rowsPerSecond)}</td><td class="num">{fmt(r.seconds)}</td>
                <td class="small">{when(r.startedAt)}</td><td class="small">{r.error ? `${r.error.code}: ${r.error.message}` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Jobs and schedules</h2>
      {data && data.jobs.length === 0 ? <p class="muted">No named jobs (ferry batch job create …).</p> : null}
      <div class="table-wrap">
        <table data-testid="batch-jobs">
          <thead><tr><th scope="col">Job</th><th scope="col">Model</th><th scope="col">Schedule</th><th scope="col">High-water mark</th><th scope="col">Input</th><th scope="col">Output</th><th scope="col">Last run</th></tr></thead>
          <tbody>
            {(data?.jobs ?? []).map((j) => (
              <tr key={j.name}><th scope="row">{j.name}</th><td>{j.model}</td><td class="mono">{j.cron ?? 'manual'}</td><td class="mono">{j.highWater ?? '–'}</td><td class="small">{j.input}</td><td class="small">{j.output}</td><td>{j.lastRun ? <Chip kind={statusKind(j.lastRun.status)}>{j.lastRun.status}</Chip> : '–'}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

interface Consumer { consumer: string; host: string; pid: number; model: string; version: number | null; processed: number; deadLetters: number; startedAt: string; at: string }
interface DeadLetter { id: string | null; code: string; reason: string; attempts: number; at: string; consumer: string }
interface Stream { stream: string; group: string; lag: number | null; pending: number | null; consumers: Consumer[]; error?: string; deadLetters: DeadLetter[]; deadLetterTo: string[] }

/** Stream consumers the server watches (`ferry serve --watch-stream`): lag, live consumers, messages/s, dead letters. */
export function StreamsPage() {
  const { data, error } = useJson<{ streams: Stream[] }>('ferry/v1/streams', {}, 2000);
  // messages/s from successive polls of each consumer's processed count.
  const last = useRef(new Map<string, { processed: number; t: number; rate: number }>());
  const rate = (s: Stream, c: Consumer) => {
    const key = `${s.stream}/${s.group}/${c.consumer}`;
    const t = Date.parse(c.at);
    const prev = last.current.get(key);
    if (!prev) { last.current.set(key, { processed: c.processed, t, rate: 0 }); return null; }
    if (t > prev.t) last.current.set(key, { processed: c.processed, t, rate: ((c.processed - prev.processed) * 1000) / (t - prev.t) });
    return last.current.get(key)!.rate;
  };
  return (
    <section aria-labelledby="streams-title">
      <h1 id="streams-title">Streams</h1>
      <Failure error={error} />
      {data && data.streams.length === 0 ? <p class="muted">No streams watched. Start the server with --watch-stream &lt;url&gt;#&lt;group&gt; (see docs/ui.md).</p> : null}
      {(data?.streams ?? []).map((s) => (
        <div class="card" key={`${s.stream}#${s.group}`} data-testid="stream">
          <h2>{s.stream} <span class="muted small">group {s.group}</span></h2>
          {s.error ? <p class="error" role="alert">{s.error}</p> : null}
          <div class="stats">
            <div><span class="muted">Lag</span><b>{s.lag ?? 'unknown'}</b></div>
            <div><span class="muted">Pending</span><b>{s.pending ?? 'unknown'}</b></div>
            <div><span class="muted">Consumers</span><b>{s.consumers.length}</b></div>
            <div><span class="muted">Dead letters</span><b>{fmt(s.consumers.reduce((a, c) => a + c.deadLetters, 0))}</b></div>
          </div>
          <table data-testid="stream-consumers">
            <caption class="sr-only">Live consumers of group {s.group}</caption>
            <thead><tr><th scope="col">Consumer</th><th scope="col">Host / pid</th><th scope="col">Model</th><th scope="col" class="num">Processed</th><th scope="col" class="num">Messages/s</th><th scope="col" class="num">Dead letters</th><th scope="col">Heartbeat</th></tr></thead>
            <tbody>
              {s.consumers.map((c) => <tr key={c.consumer}><th scope="row" class="mono">{c.consumer}</th><td class="small">{c.host} / {c.pid}</td><td>{c.model}{c.version !== null ? `:${c.version}` : ''}</td><td class="num">{fmt(c.processed)}</td><td class="num">{fmt(rate(s, c))}</td><td class="num">{fmt(c.deadLetters)}</td><td class="small">{when(c.at)}</td></tr>)}
            </tbody>
          </table>
          <h3 id={`dead-${s.group}`}>Latest dead letters</h3>
          {s.deadLetterTo.length ? <p class="muted small">Every dead letter, with its payload, is on {s.deadLetterTo.map((d) => <code key={d}>{d}</code>)}; the newest 20 of the live consumers are shown here.</p> : null}
          {s.deadLetters.length === 0 ? <p class="muted">None from the live consumers.</p> : (
            <div class="table-wrap">
              <table data-testid="dead-letters" aria-labelledby={`dead-${s.group}`}>
                <thead><tr><th scope="col">Message id</th><th scope="col">Code</th><th scope="col">Reason</th><th scope="col" class="num">Attempts</th><th scope="col">Consumer</th><th scope="col">At</th></tr></thead>
                <tbody>{s.deadLetters.map((d, i) => <tr key={i}><td class="mono">{d.id ?? '–'}</td><td class="mono">{d.code}</td><td class="small">{d.reason}</td><td class="num">{d.attempts}</td><td class="mono small">{d.consumer}</td><td class="small">{when(d.at)}</td></tr>)}</tbody>
              </table>
            </div>
          )}
        </div>
      ))}
    </section>
  );
}

interface Rule { name: string; model: string; kind: string; threshold: number; metric?: string; window?: string; webhooks: number; hook: string | null; enabled: boolean }
interface Firing { id: number; rule: string; model: string; state: string; value: number | null; message: string; at: string; delivery: string; attempts: number; error: string | null }

/** Alert rules, recent firings and their deliveries. */
export function AlertsPage() {
  const { data, error } = useJson<{ rules: Rule[]; events: Firing[] }>('ferry/v1/alerts', { limit: 100 }, 10000);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alerts</h1>
      <Failure error={error} />
      <h2>Rules</h2>
      {data && data.rules.length === 0 ? <p class="muted">No rules (ferry alerts add …).</p> : null}
      <div class="table-wrap">
        <table data-testid="alert-rules">
          <thead><tr><th scope="col">Rule</th><th scope="col">Model</th><th scope="col">Kind</th><th scope="col">Metric</th><th scope="col" class="num">Threshold</th><th scope="col">Window</th><th scope="col">Webhooks</th><th scope="col">Enabled</th></tr></thead>
          <tbody>{(data?.rules ?? []).map((r) => <tr key={r.name}><th scope="row">{r.name}</th><td>{r.model}</td><td>{r.kind}</td><td>{r.metric ?? ''}</td><td class="num">{fmt(r.threshold)}</td><td>{r.window ?? ''}</td><td class="small">{r.webhooks}{r.hook ? ` + ${r.hook} hook` : ''}</td><td>{r.enabled ? 'yes' : 'no'}</td></tr>)}</tbody>
        </table>
      </div>
      <h2>Recent firings and deliveries</h2>
      {data && data.events.length === 0 ? <p class="muted">Nothing fired yet.</p> : null}
      <div class="table-wrap">
        <table data-testid="alert-events">
          <thead><tr><th scope="col">When</th><th scope="col">Rule</th><th scope="col">Model</th><th scope="col">State</th><th scope="col" class="num">Value</th><th scope="col">Message</th><th scope="col">Deliveries</th></tr></thead>
          <tbody>{(data?.events ?? []).map((e) => <tr key={e.id}><td class="small">{when(e.at)}</td><td>{e.rule}</td><td>{e.model}</td><td><Chip kind={e.state === 'firing' ? 'bad' : 'ok'}>{e.state}</Chip></td><td class="num">{fmt(e.value)}</td><td class="small">{e.message}</td><td class="small"><Chip kind={e.delivery === 'delivered' ? 'ok' : e.delivery === 'failed' ? 'bad' : 'off'}>{e.delivery}</Chip> {e.attempts ? `${e.attempts} attempt${e.attempts > 1 ? 's' : ''}` : ''}{e.error ? ` · ${e.error}` : ''}</td></tr>)}</tbody>
        </table>
      </div>
    </section>
  );
}
