/**
 * Alert rules and alert history in the registry database (tables `alert_rules`,
 * `alert_events`, migration 0006).
 */
import type { Generated, Kysely } from '../vendor/kysely.js';
import { ferry } from '../core/errors.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';

export type AlertRulesTable = {
  name: string;
  model_name: string;
  kind: string;
  spec: string;
  enabled: number;
  created_at: string;
};

export type AlertEventsTable = {
  id: Generated<number>;
  rule_name: string;
  model_name: string;
  state: string;
  value: number | null;
  message: string;
  delivery: string;
  attempts: number;
  error: string | null;
  at: string;
};

type Tables = { alert_rules: AlertRulesTable; alert_events: AlertEventsTable };

function db(d: RegistryDb): Kysely<RegistryDatabase & Tables> {
  return d.kysely.withTables<Tables>();
}

/** What an alert watches. */
export const ALERT_KINDS = ['drift', 'metric', 'error-rate', 'latency-p99', 'attribution-drift', 'feature-staleness'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** A rule: what to watch, when it fires, whom to tell. */
export interface AlertRule {
  readonly name: string;
  /** A model reference: name, name:3 or name@alias ('' for a feature-staleness rule). */
  readonly model: string;
  readonly kind: AlertKind;
  /**
   * drift: the drifted-column share that fires (default 0.5, i.e. dataset drift);
   * metric: fires when the live metric is below it (above it for errors and losses);
   * error-rate: share of failed requests (0–1) above it; latency-p99: milliseconds above it;
export const ALERT_KINDS = ['drift', 'metric', 'error-rate', 'latency-p99', 'attribution-drift', 'feature-staleness'] as const;
   */
  readonly threshold: number;
  /** The feature view watched (kind `feature-staleness`); undefined = every declared view. */
  readonly view?: string | undefined;
  /** The live metric (kind `metric`): accuracy, f1, roc_auc, mae, … */
  readonly metric?: string | undefined;
  /** The window of the prediction log looked at, e.g. "1h" (default 1h). */
  readonly window?: string | undefined;
  /** Fewest rows (labelled rows for `metric`) needed to judge; fewer → no verdict. */
  readonly minRows?: number | undefined;
  readonly webhooks: readonly string[];
  /** A retraining hook called when the rule fires: a URL (POST) or a shell command. */
  readonly hook?: { readonly url: string } | { readonly command: string } | undefined;
  /** The same rule and state are not re-sent within this many seconds (default 3600). */
  readonly dedupSeconds?: number | undefined;
  readonly enabled: boolean;
  readonly createdAt: string;
}

/** One notification attempt (or its suppression) recorded in the history. */
export interface AlertEvent {
  readonly id: number;
  readonly rule: string;
  readonly model: string;
  /** firing | resolved */
  readonly state: string;
  readonly value: number | null;
  readonly message: string;
  /** delivered | failed | no-webhook */
  readonly delivery: string;
  readonly attempts: number;
  readonly error: string | null;
  readonly at: string;
}

export async function saveRule(d: RegistryDb, rule: AlertRule): Promise<void> {
  const { name, model, kind, enabled, createdAt, ...rest } = rule;
  const row = { name, model_name: model, kind, spec: JSON.stringify(rest), enabled: enabled ? 1 : 0, created_at: createdAt };
  await guarded(d, () => db(d).transaction().execute(async (trx) => {
    await trx.deleteFrom('alert_rules').where('name', '=', name).execute();
    await trx.insertInto('alert_rules').values(row).execute();
  }));
}

export async function listRules(d: RegistryDb): Promise<AlertRule[]> {
  const rows = await guarded(d, () => db(d).selectFrom('alert_rules').selectAll().orderBy('name').execute());
  return rows.map((r) => ({ ...(JSON.parse(r.spec) as Omit<AlertRule, 'name' | 'model' | 'kind' | 'enabled' | 'createdAt'>), name: r.name, model: r.model_name, kind: r.kind as AlertKind, enabled: Number(r.enabled) === 1, createdAt: r.created_at }));
}

export async function removeRule(d: RegistryDb, name: string): Promise<void> {
  const result = await guarded(d, () => db(d).deleteFrom('alert_rules').where('name', '=', name).executeTakeFirst());
  if (Number(result.numDeletedRows) === 0) throw ferry('FERRY_E_ALERT_RULE_NOT_FOUND', { rule: name });
}

export async function recordEvent(d: RegistryDb, e: Omit<AlertEvent, 'id'>): Promise<void> {
  await guarded(d, () => db(d).insertInto('alert_events').values({
    rule_name: e.rule, model_name: e.model, state: e.state, value: e.value, message: e.message,
    delivery: e.delivery, attempts: e.attempts, error: e.error, at: e.at,
  }).execute());
}

/** Alert history, newest first. */
export async function listEvents(d: RegistryDb, filter: { rule?: string | undefined; model?: string | undefined; limit?: number | undefined } = {}): Promise<AlertEvent[]> {
  const rows = await guarded(d, () => {
    let q = db(d).selectFrom('alert_events').selectAll();
    if (filter.rule) q = q.where('rule_name', '=', filter.rule);
    if (filter.model) q = q.where('model_name', '=', filter.model);
    return q.orderBy('id', 'desc').limit(filter.limit ?? 50).execute();
  });
  return rows.map((r) => ({
    id: Number(r.id), rule: r.rule_name, model: r.model_name, state: r.state, value: r.value === null ? null : Number(r.value),
    message: r.message, delivery: r.delivery, attempts: Number(r.attempts), error: r.error, at: r.at,
  }));
}
