/**
 * Alert evaluation and delivery. Each tick evaluates every enabled rule against the
 * prediction log (drift, live metric, p99 latency, attribution drift) or the server's request
 * counters (error rate); a change of state (ok → firing, firing → resolved), or a rule still firing after its
 * dedup window, is posted to the rule's webhooks with retries and exponential backoff, and
 * recorded in the alert history. A rule that fires may call a retraining hook (a URL or a
 * shell command). Runs inside `ferry serve` and `ferry alerts run`.
 */
import { spawn } from 'node:child_process';
import type { MonitoringParts } from './parts.js';
import { asFerryError, ferry, isFerryError } from '../core/errors.js';
import { attributionShift, attributionSummary } from './attributions.js';
import { listEvents, listRules, recordEvent, type AlertEvent, type AlertRule } from './alerts-store.js';
import { driftReport, parseWindow, type DriftReport } from './drift-run.js';
import { liveMetrics } from './live-metrics.js';
import { higherIsBetter } from './quality-metrics.js';
import { readPredictionChunks } from './prediction-log-store.js';
import { redact, WebhookDestinations } from './webhook-destinations.js';

/** Request counts of a model (cumulative), for the error-rate rule. */
export interface RequestCounts {
  readonly total: number;
  readonly errors: number;
}

/** Each feature view's freshness: the age of its newest value in the online store (null = never materialised). */
export type FeatureFreshness = () => Promise<readonly { readonly view: string; readonly seconds: number | null }[]>;

/** Where error rates come from: the server's counters, in process or scraped. */
export type RequestCounter = (model: string) => Promise<RequestCounts | undefined>;

export interface DeliveryPolicy {
  /** Attempts per webhook (first try included). */
  readonly attempts: number;
  /** Backoff before retry i (1-based) is baseDelayMs · 2^(i−1). */
  readonly baseDelayMs: number;
  readonly timeoutMs: number;
  /** A hook command still running after this long is killed (its whole process group); default 60 s. */
  readonly hookTimeoutMs?: number;
  /** Which addresses webhooks may be posted to (default: all but link-local and unspecified ones). */
  readonly destinations?: WebhookDestinations;
}

const DEFAULT_DESTINATIONS = new WebhookDestinations();

export const DEFAULT_DELIVERY: DeliveryPolicy = { attempts: 5, baseDelayMs: 500, timeoutMs: 5000, hookTimeoutMs: 60_000 };

/** A rule's verdict: firing or ok, or no verdict (too little data). */
export interface Verdict {
  readonly state: 'firing' | 'ok' | 'unknown';
  readonly value: number | null;
  readonly message: string;
}

/** What one tick did for one rule. */
export interface TickResult {
  readonly rule: string;
  readonly verdict: Verdict;
  /** notified | deduplicated | unchanged | skipped */
  readonly action: string;
  readonly event?: Omit<AlertEvent, 'id'>;
}

export interface AlertEngineOptions {
  readonly delivery?: DeliveryPolicy;
  readonly requestCounter?: RequestCounter | undefined;
  /** Where feature-staleness rules read freshness (the feature layer's online store). */
  readonly featureFreshness?: FeatureFreshness | undefined;
  readonly now?: () => number;
  readonly log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Logged predictions one evaluation reads at most (the newest of the rule's window). */
  readonly maxRows?: number;
  /** Called with every drift report a rule computed (the server sets its drift gauges). */
  readonly onDrift?: (report: DriftReport) => void;
  /** Run drift tests in the drift thread (a server, whose event loop answers requests meanwhile). */
  readonly driftOffThread?: boolean;
}

/** Evaluates rules and delivers alerts; keeps the previous request counts for error rates. */
export class AlertEngine {
  readonly #app: MonitoringParts;
  readonly #options: AlertEngineOptions;
  readonly #lastCounts = new Map<string, RequestCounts>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  /** Aborted by stop(): deliveries and hooks in flight give up at once. */
  readonly #stopping = new AbortController();

  constructor(app: MonitoringParts, options: AlertEngineOptions = {}) {
    this.#app = app;
    this.#options = options;
  }

  /** Evaluate every enabled rule once and notify as needed. Rule failures are reported, not thrown. */
  async tick(): Promise<TickResult[]> {
    const out: TickResult[] = [];
    for (const rule of await listRules(this.#app.database)) {
      if (!rule.enabled) continue;
      let verdict: Verdict;
      try {
        verdict = await this.evaluate(rule);
      } catch (err) {
        const e = asFerryError(err);
        verdict = { state: 'unknown', value: null, message: `${e.code}: ${e.message}` };
      }
      out.push(await this.#act(rule, verdict));
    }
    return out;
  }

  /** Tick every `intervalMs` until stopped (ticks never overlap). */
  start(intervalMs: number): void {
    const run = () => {
      if (this.#running) return;
      this.#running = this.tick()
        .catch((err: unknown) => this.#options.log?.('alert tick failed', { err: String(err) }))
        .finally(() => { this.#running = undefined; });
    };
    this.#timer = setInterval(run, intervalMs);
    this.#timer.unref();
    run();
  }

  /** Stop ticking; a tick in flight abandons its deliveries and kills its hook, so this never waits on them. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping.abort();
    await this.#running;
  }

  /** A rule's current verdict. */
  async evaluate(rule: AlertRule): Promise<Verdict> {
    if (rule.kind === 'feature-staleness') return this.#staleness(rule);
    const now = this.#options.now?.() ?? Date.now();
    const windowMs = parseWindow(rule.window ?? '1h', 'window');
    const sinceMs = now - windowMs;
    const version = await this.#app.registry.resolve(rule.model);
    const minRows = rule.minRows ?? 1;
    switch (rule.kind) {
      case 'drift': {
        const report = await driftReport(this.#app, version, { kind: 'log', sinceMs, maxRows: this.#options.maxRows, offThread: this.#options.driftOffThread ?? false }, { share: rule.threshold });
        this.#options.onDrift?.(report);
        if (report.currentRows < minRows) return { state: 'unknown', value: null, message: `only ${report.currentRows} logged row(s)` };
        const f = report.features;
        const drifted = f.features.filter((c) => c.drift).map((c) => c.name);
        return {
          state: f.dataset_drift ? 'firing' : 'ok', value: f.share,
          message: `${version.model}:${version.version}: ${drifted.length} of ${f.features.length} feature(s) drifted (share ${round(f.share)}, threshold ${rule.threshold}) over ${report.currentRows} prediction(s) in ${rule.window ?? '1h'}${drifted.length ? `: ${drifted.slice(0, 8).join(', ')}` : ''}`,
        };
      }
      case 'metric': {
        const metric = rule.metric ?? 'accuracy';
        const live = await liveMetrics(this.#app.database, { model: version.model, version: version.version, since: sinceMs }, { maxRows: this.#options.maxRows });
        const value = live.metrics[metric];
        if (live.labelled < minRows || value === null || value === undefined) return { state: 'unknown', value: null, message: `${metric} unknown: ${live.labelled} labelled prediction(s)` };
        const bad = higherIsBetter(metric) ? value < rule.threshold : value > rule.threshold;
        return { state: bad ? 'firing' : 'ok', value, message: `${version.model}:${version.version}: live ${metric} ${round(value)} ${bad ? (higherIsBetter(metric) ? 'below' : 'above') : 'within'} ${rule.threshold} over ${live.labelled} labelled prediction(s) in ${rule.window ?? '1h'} (coverage ${round(live.coverage)})` };
      }
      case 'latency-p99': {
        const latencies: number[] = [];
        for await (const chunk of readPredictionChunks(this.#app.database, { model: version.model, since: sinceMs, last: this.#options.maxRows }, { inputs: false, outputs: false })) {
          for (const p of chunk) latencies.push(p.latencyMs);
        }
        if (latencies.length < minRows || latencies.length === 0) return { state: 'unknown', value: null, message: `only ${latencies.length} logged request(s)` };
        latencies.sort((a, b) => a - b);
        const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)] as number;
        const bad = p99 > rule.threshold;
        return { state: bad ? 'firing' : 'ok', value: p99, message: `${version.model}: p99 latency ${round(p99)} ms ${bad ? 'above' : 'within'} ${rule.threshold} ms over ${latencies.length} logged prediction(s) in ${rule.window ?? '1h'}` };
      }
      case 'attribution-drift': {
        // The window against the window of the same length just before it, over the version's explained rows.
        const query = { model: version.model, version: version.version, last: this.#options.maxRows };
        const before = await attributionSummary(this.#app.database, { ...query, since: sinceMs - windowMs, until: sinceMs });
        const current = await attributionSummary(this.#app.database, { ...query, since: sinceMs, until: now });
        if (current.rows < minRows || before.rows < minRows || current.rows === 0 || before.rows === 0) {
          return { state: 'unknown', value: null, message: `${current.rows} explained prediction(s) in the window and ${before.rows} in the one before` };
        }
        const shift = attributionShift(before, current);
        const bad = shift.distance > rule.threshold;
        const moved = shift.feature === null ? '' : `; most moved: ${shift.feature} ${round(shift.from)} → ${round(shift.to)}`;
        return { state: bad ? 'firing' : 'ok', value: shift.distance, message: `${version.model}:${version.version}: attribution shares moved ${round(shift.distance)} (total variation) ${bad ? 'above' : 'within'} ${rule.threshold} from the ${rule.window ?? '1h'} before to the last ${rule.window ?? '1h'} (${before.rows} → ${current.rows} explained prediction(s))${moved}` };
      }
      case 'error-rate': {
        const counter = this.#options.requestCounter;
        if (!counter) return { state: 'unknown', value: null, message: 'no request counters here: run the rule inside `ferry serve`, or `ferry alerts run --server <url>`' };
        const counts = await counter(version.model);
        if (!counts) return { state: 'unknown', value: null, message: 'the server reported no requests for the model' };
        const before = this.#lastCounts.get(rule.name) ?? { total: 0, errors: 0 };
        this.#lastCounts.set(rule.name, counts);
        // Counters restart with the server: then the new totals are the whole interval.
        const restarted = counts.total < before.total;
        const total = restarted ? counts.total : counts.total - before.total;
        const errors = restarted ? counts.errors : counts.errors - before.errors;
        if (total < minRows || total === 0) return { state: 'unknown', value: null, message: `only ${total} request(s) since the last check` };
        const rate = errors / total;
        const bad = rate > rule.threshold;
        return { state: bad ? 'firing' : 'ok', value: rate, message: `${version.model}: error rate ${round(rate)} (${errors} of ${total} request(s)) ${bad ? 'above' : 'within'} ${rule.threshold} since the last check` };
      }
    }
  }

  /** Fires when a watched view's newest value is older than the threshold (seconds), or was never materialised. */
  async #staleness(rule: AlertRule): Promise<Verdict> {
    const freshness = this.#options.featureFreshness;
    if (!freshness) return { state: 'unknown', value: null, message: 'no feature store here' };
    const all = await freshness();
    const views = rule.view === undefined ? all : all.filter((v) => v.view === rule.view);
    if (views.length === 0) return { state: 'unknown', value: null, message: rule.view === undefined ? 'no feature views are declared' : `feature view "${rule.view}" is not declared` };
    const stale = views.filter((v) => v.seconds === null || v.seconds > rule.threshold);
    const oldest = Math.max(...views.map((v) => v.seconds ?? Infinity));
    const age = (v: { view: string; seconds: number | null }) => `${v.view} ${v.seconds === null ? 'never materialised' : `${Math.round(v.seconds)} s old`}`;
    return {
      state: stale.length > 0 ? 'firing' : 'ok',
      value: Number.isFinite(oldest) ? oldest : null,
      message: stale.length > 0 ? `feature view(s) older than ${rule.threshold} s: ${stale.map(age).join(', ')}` : `feature view(s) fresh within ${rule.threshold} s: ${views.map(age).join(', ')}`,
    };
  }

  async #act(rule: AlertRule, verdict: Verdict): Promise<TickResult> {
    if (verdict.state === 'unknown') return { rule: rule.name, verdict, action: 'skipped' };
    const [last] = await listEvents(this.#app.database, { rule: rule.name, limit: 1 });
    const lastState = last?.state;
    const now = this.#options.now?.() ?? Date.now();
    if (verdict.state === 'ok') {
      if (lastState !== 'firing') return { rule: rule.name, verdict, action: 'unchanged' };
      return this.#notify(rule, 'resolved', verdict, now);
    }
    // Firing: notify on a change, or again once the dedup window has passed since the last notice.
    const dedupMs = (rule.dedupSeconds ?? 3600) * 1000;
    if (lastState === 'firing' && last && now - Date.parse(last.at) < dedupMs && last.delivery !== 'failed') {
      return { rule: rule.name, verdict, action: 'deduplicated' };
    }
    return this.#notify(rule, 'firing', verdict, now);
  }

  async #notify(rule: AlertRule, state: 'firing' | 'resolved', verdict: Verdict, now: number): Promise<TickResult> {
    const at = new Date(now).toISOString();
    const payload = { rule: rule.name, model: rule.model, kind: rule.kind, state, value: verdict.value, threshold: rule.threshold, message: verdict.message, at };
    const policy = this.#options.delivery ?? DEFAULT_DELIVERY;
    let attempts = 0;
    const errors: string[] = [];
    let delivered = rule.webhooks.length > 0;
    for (const url of rule.webhooks) {
      const r = await postWithRetry(url, payload, policy, this.#stopping.signal);
      attempts += r.attempts;
      if (!r.ok) {
        delivered = false;
        errors.push(`${url}: ${r.error}`);
      }
    }
    if (state === 'firing' && rule.hook) {
      const h = await callHook(rule.hook, payload, policy, this.#stopping.signal);
      if (!h.ok) errors.push(`retraining hook: ${h.error}`);
    }
    const event = {
      rule: rule.name, model: rule.model, state, value: verdict.value, message: verdict.message,
      delivery: rule.webhooks.length === 0 ? 'no-webhook' : delivered ? 'delivered' : 'failed',
      attempts, error: errors.length ? errors.join('; ') : null, at,
    };
    await recordEvent(this.#app.database, event);
    this.#options.log?.(`alert ${state}: ${rule.name}`, { delivery: event.delivery, attempts });
    return { rule: rule.name, verdict, action: 'notified', event };
  }
}

/**
 * POST JSON, retrying non-2xx answers and network errors with exponential backoff. A refused
 * destination or a redirect is not retried: neither changes by trying again (redirects are
 * never followed, so a webhook cannot bounce the server's POST to an address it may not reach).
 */
export async function postWithRetry(url: string, body: unknown, policy: DeliveryPolicy, stop?: AbortSignal): Promise<{ ok: boolean; attempts: number; error?: string }> {
  const destinations = policy.destinations ?? DEFAULT_DESTINATIONS;
  const text = JSON.stringify(body);
  let error = '';
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(policy.baseDelayMs * 2 ** (attempt - 2), stop);
    if (stop?.aborted) return { ok: false, attempts: attempt - 1, error: 'abandoned: shutting down' };
    try {
      const timeout = AbortSignal.timeout(policy.timeoutMs);
      const res = await destinations.post(url, text, { 'content-type': 'application/json', 'user-agent': 'ferry-alerts' }, stop ? AbortSignal.any([timeout, stop]) : timeout);
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: attempt };
      if (res.status >= 300 && res.status < 400) return { ok: false, attempts: attempt, error: `HTTP ${res.status}: redirect${res.location ? ` to ${redact(res.location)}` : ''} not followed; give the final URL` };
      error = `HTTP ${res.status}`;
    } catch (err) {
      if (isFerryError(err, 'FERRY_E_WEBHOOK_REFUSED')) return { ok: false, attempts: attempt, error: err.message };
      error = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, attempts: policy.attempts, error: `${error} after ${policy.attempts} attempt(s)` };
}

/**
 * Call a retraining hook: POST the alert to a URL, or run a shell command with the alert in its
 * environment and on stdin. A command runs in its own process group, killed whole after
 * `hookTimeoutMs` or when `stop` aborts, so a hung hook (or a child it left behind) never holds
 * alert evaluation or shutdown.
 */
export async function callHook(hook: { readonly url: string } | { readonly command: string }, payload: Record<string, unknown>, policy: DeliveryPolicy, stop?: AbortSignal): Promise<{ ok: boolean; error?: string }> {
  if ('url' in hook) {
    const r = await postWithRetry(hook.url, payload, policy, stop);
    return r.ok ? { ok: true } : { ok: false, error: r.error ?? 'failed' };
  }
  if (stop?.aborted) return { ok: false, error: 'abandoned: shutting down' };
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', hook.command], {
      env: { ...process.env, FERRY_ALERT_RULE: String(payload.rule), FERRY_ALERT_MODEL: String(payload.model), FERRY_ALERT_STATE: String(payload.state), FERRY_ALERT_VALUE: String(payload.value), FERRY_ALERT_MESSAGE: String(payload.message) },
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let settled = false;
    const finish = (result: { ok: boolean; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
      resolve(result);
    };
    const killGroup = (why: string) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      finish({ ok: false, error: why });
    };
    const limitMs = policy.hookTimeoutMs ?? 60_000;
    const timer = setTimeout(() => killGroup(`command killed after ${limitMs} ms`), limitMs);
    timer.unref();
    const onStop = () => killGroup('command killed: shutting down');
    stop?.addEventListener('abort', onStop);
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
    child.on('error', (err) => finish({ ok: false, error: err.message }));
    // A command that does not read its input closes the pipe early; that is not a failure.
    child.stdin.on('error', () => undefined);
    child.on('exit', (code) => finish(code === 0 ? { ok: true } : { ok: false, error: `command exited with ${code}${stderr ? `: ${stderr.trim().slice(0, 200)}` : ''}` }));
    child.stdin.end(JSON.stringify(payload));
  });
}

/** Request counts per model from Prometheus text (ferry_requests_total{model, code}); errors are codes ≥ 500. */
export function countsFromPrometheus(text: string, model: string): RequestCounts | undefined {
  let total = 0;
  let errors = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('ferry_requests_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const get = (k: string) => new RegExp(`(?:^|,)${k}="((?:[^"\\\\]|\\\\.)*)"`).exec(labels)?.[1];
    if (get('model') !== model) continue;
    const n = Number(line.slice(line.lastIndexOf('}') + 1).trim().split(/\s+/)[0]);
    if (!Number.isFinite(n)) continue;
    seen = true;
    total += n;
    if (Number(get('code')) >= 500) errors += n;
  }
  return seen ? { total, errors } : undefined;
}

/** A RequestCounter that scrapes a running server's /metrics. */
export function scrapeCounter(serverUrl: string): RequestCounter {
  return async (model) => {
    const url = `${serverUrl.replace(/\/$/, '')}/metrics`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw ferry('FERRY_E_METRICS_UNREACHABLE', { url, detail: err instanceof Error ? err.message : String(err) });
    }
    return countsFromPrometheus(await res.text(), model);
  };
}

/** Wait `ms`, or less when `stop` aborts. */
function sleep(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop?.aborted) return resolve();
    const done = () => { clearTimeout(timer); stop?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    stop?.addEventListener('abort', done);
  });
}

function round(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
