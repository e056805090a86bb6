/**
 * Promotion gates: move an alias (e.g. `champion`) to a version only when every gate holds,
 * and record the gates' verdicts as the note of the alias move (the alias history).
 *
 *   "<metric> >= champion.<metric>"   compare with the version the alias points at now
 *   "<metric> >= 0.9"                 compare with a constant (ops: >=, >, <=, <)
 *   "no-drift"                        the candidate's reference profile against recent
 *                                     traffic (prediction log) or the given data: no dataset drift
 *
 * Metrics come from an evaluation on `data` when a labelled data set is given, else from the
 * registry metrics of the versions (`register --metric`).
 */
import type { MonitoringParts } from './parts.js';
import { ferry, isFerryError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { AliasEvent, ModelVersion } from '../registry/types.js';
import type { DriftOptions } from './drift.js';
import { driftReport } from './drift-run.js';
import { evaluateVersion } from './evaluate.js';

type Op = '>=' | '>' | '<=' | '<';

export type Gate =
  | { readonly kind: 'metric'; readonly text: string; readonly metric: string; readonly op: Op; readonly rhs: { readonly champion: string } | { readonly value: number } }
  | { readonly kind: 'no-drift'; readonly text: string };

/** Parse one `--require` expression. */
export function parseGate(text: string): Gate {
  const t = text.trim();
  if (/^no[-_ ]drift$/i.test(t)) return { kind: 'no-drift', text: 'no-drift' };
  const m = /^([A-Za-z_][\w.-]*)\s*(>=|<=|>|<)\s*(.+)$/.exec(t);
  if (!m) throw ferry('FERRY_E_GATE_INVALID', { gate: text, detail: 'expected <metric> <op> <champion.metric | number>' });
  const [, metric, op, right] = m as unknown as [string, string, Op, string];
  const champ = /^champion\.([A-Za-z_][\w.-]*)$/.exec(right.trim());
  if (champ) return { kind: 'metric', text: t, metric, op, rhs: { champion: champ[1] as string } };
  const value = Number(right);
  if (right.trim() === '' || !Number.isFinite(value)) throw ferry('FERRY_E_GATE_INVALID', { gate: text, detail: `"${right.trim()}" is neither a number nor champion.<metric>` });
  return { kind: 'metric', text: t, metric, op, rhs: { value } };
}

export interface GateResult {
  readonly gate: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PromoteRequest {
  readonly model: string;
  readonly version: number;
  readonly alias: string;
  readonly gates: readonly Gate[];
  readonly actor: string;
  /** Labelled data: metrics come from evaluating on it; no-drift tests it. */
  readonly data?: { readonly frame: Frame; readonly label?: string | undefined; readonly ignore?: readonly string[] } | undefined;
  /** Recent traffic for no-drift when no data is given. */
  readonly window?: { readonly sinceMs?: number | undefined; readonly last?: number | undefined } | undefined;
  readonly drift?: DriftOptions;
}

export interface PromoteOutcome {
  readonly promoted: boolean;
  readonly candidate: number;
  readonly champion: number | null;
  readonly gates: readonly GateResult[];
  readonly event?: AliasEvent;
}

/** Evaluate the gates and move the alias when all hold; otherwise FERRY_E_PROMOTION_REFUSED (alias unchanged). */
export async function promote(app: MonitoringParts, req: PromoteRequest): Promise<PromoteOutcome> {
  const candidate = await app.registry.resolve(`${req.model}:${req.version}`);
  const current = await app.registry.store.getAlias(req.model, req.alias);
  const champion = current ? await app.registry.resolve(`${req.model}:${current.version}`) : undefined;
  const gates = await checkGates(app, req, candidate, champion);
  const failed = gates.filter((g) => !g.ok);
  if (failed.length > 0) {
    throw ferry('FERRY_E_PROMOTION_REFUSED', { model: req.model, version: req.version, alias: req.alias, failed: failed.map((g) => `${g.gate} (${g.detail})`).join('; ') });
  }
  const note = gates.length ? `promoted: ${gates.map((g) => `${g.gate} ✓ ${g.detail}`).join('; ')}` : 'promoted without gates';
  const event = await app.registry.store.setAlias(req.model, req.alias, candidate.version, req.actor, note);
  return { promoted: true, candidate: candidate.version, champion: champion?.version ?? null, gates, event };
}

/** Each gate's verdict (never throws for a failing gate; only for unusable input). */
export async function checkGates(app: MonitoringParts, req: PromoteRequest, candidate: ModelVersion, champion: ModelVersion | undefined): Promise<GateResult[]> {
  const metricsCache = new Map<number, Promise<Readonly<Record<string, number>>>>();
  const metricsOf = (v: ModelVersion) => {
    let m = metricsCache.get(v.version);
    if (!m) {
      const data = req.data;
      m = data?.label
        ? evaluateVersion(app, v, data.frame, { label: data.label, ignore: data.ignore ?? [] }).then((e) => ({ ...v.metrics, ...e.metrics }))
        : Promise.resolve(v.metrics);
      metricsCache.set(v.version, m);
    }
    return m;
  };
  const source = req.data?.label ? 'on the given data' : 'registry metrics';
  const out: GateResult[] = [];
  for (const gate of req.gates) {
    if (gate.kind === 'no-drift') {
      out.push(await noDriftGate(app, req, candidate));
      continue;
    }
    const mine = (await metricsOf(candidate))[gate.metric];
    if (mine === undefined || Number.isNaN(mine)) {
      out.push({ gate: gate.text, ok: false, detail: `${candidate.model}:${candidate.version} has no metric "${gate.metric}" (${source})` });
      continue;
    }
    let rhs: number;
    let rhsText: string;
    if ('value' in gate.rhs) {
      rhs = gate.rhs.value;
      rhsText = String(rhs);
    } else {
      if (!champion) {
        out.push({ gate: gate.text, ok: true, detail: `${req.alias} is not set yet; nothing to beat` });
        continue;
      }
      const theirs = (await metricsOf(champion))[gate.rhs.champion];
      if (theirs === undefined || Number.isNaN(theirs)) {
        out.push({ gate: gate.text, ok: false, detail: `the ${req.alias} (${champion.model}:${champion.version}) has no metric "${gate.rhs.champion}" (${source})` });
        continue;
      }
      rhs = theirs;
      rhsText = `${round(theirs)} (v${champion.version})`;
    }
    const ok = compare(mine, gate.op, rhs);
    out.push({ gate: gate.text, ok, detail: `${gate.metric} ${round(mine)} ${ok ? '' : 'not '}${gate.op} ${rhsText}, ${source}` });
  }
  return out;
}

async function noDriftGate(app: MonitoringParts, req: PromoteRequest, candidate: ModelVersion): Promise<GateResult> {
  try {
    const report = await driftReport(app, candidate, req.data
      ? { kind: 'data', frame: req.data.frame, ignore: [...(req.data.label ? [req.data.label] : []), ...(req.data.ignore ?? [])] }
      : { kind: 'log', sinceMs: req.window?.sinceMs, last: req.window?.last, allVersions: true }, req.drift ?? {});
    const f = report.features;
    const drifted = f.features.filter((c) => c.drift).map((c) => c.name);
    return {
      gate: 'no-drift', ok: !f.dataset_drift,
      detail: `${drifted.length} of ${f.features.length} column(s) drifted (share ${round(f.share)}) over ${report.currentRows} row(s)${drifted.length ? `: ${drifted.slice(0, 5).join(', ')}` : ''}`,
    };
  } catch (err) {
    if (isFerryError(err, 'FERRY_E_PROFILE_NOT_FOUND') || isFerryError(err, 'FERRY_E_DRIFT_NO_DATA')) return { gate: 'no-drift', ok: false, detail: err.message };
    throw err;
  }
}

function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case '>=': return a >= b;
    case '>': return a > b;
    case '<=': return a <= b;
    case '<': return a < b;
  }
}

function round(x: number): string {
  return Number(x.toPrecision(6)).toString();
}
