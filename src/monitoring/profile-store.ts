/**
 * Reference profiles in the registry database (table `reference_profiles`, migration 0006),
 * one per model version, and building them from a data file through the scoring core.
 */
import type { Kysely } from '../vendor/kysely.js';
import type { MonitoringParts } from './parts.js';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';
import type { ModelVersion } from '../registry/types.js';
import { planInputs } from '../scoring/input-plan.js';
import { buildProfile, mergeProfiles, outputColumns, type Profile } from './profile.js';

export type ReferenceProfilesTable = {
  model_name: string;
  version: number;
  source: string;
  rows: number;
  body: string;
  created_by: string;
  created_at: string;
};

type Tables = { reference_profiles: ReferenceProfilesTable };

function db(d: RegistryDb): Kysely<RegistryDatabase & Tables> {
  return d.kysely.withTables<Tables>();
}

/** A stored reference profile with where it came from. */
export interface StoredProfile {
  readonly model: string;
  readonly version: number;
  readonly source: string;
  readonly createdBy: string;
  readonly createdAt: string;
  /** Which data columns fill each model input, in order (to read tensor inputs of the log). */
  readonly inputs: Readonly<Record<string, readonly string[]>>;
  readonly profile: Profile;
}

/** Store (or replace) the reference profile of a version. */
export async function saveProfile(d: RegistryDb, p: StoredProfile): Promise<void> {
  const body = JSON.stringify({ inputs: p.inputs, profile: p.profile });
  const row = { model_name: p.model, version: p.version, source: p.source, rows: p.profile.rows, body, created_by: p.createdBy, created_at: p.createdAt };
  await guarded(d, () => db(d).transaction().execute(async (trx) => {
    await trx.deleteFrom('reference_profiles').where('model_name', '=', p.model).where('version', '=', p.version).execute();
    await trx.insertInto('reference_profiles').values(row).execute();
  }));
}

/** The reference profile of a version, or undefined. */
export async function loadProfile(d: RegistryDb, model: string, version: number): Promise<StoredProfile | undefined> {
  const row = await guarded(d, () => db(d).selectFrom('reference_profiles').selectAll().where('model_name', '=', model).where('version', '=', version).executeTakeFirst());
  if (!row) return undefined;
  const body = JSON.parse(row.body) as { inputs: Record<string, string[]>; profile: Profile };
  return { model, version: Number(row.version), source: row.source, createdBy: row.created_by, createdAt: row.created_at, inputs: body.inputs, profile: body.profile };
}

/** The reference profile of a version, or a catalog error saying how to make one. */
export async function requireProfile(d: RegistryDb, version: ModelVersion): Promise<StoredProfile> {
  const p = await loadProfile(d, version.model, version.version);
  if (!p) throw ferry('FERRY_E_PROFILE_NOT_FOUND', { model: version.model, version: version.version });
  return p;
}

/**
 * Profile a data set for a model: the columns that fill its inputs (as the scoring core maps
 * them) and the model's outputs on the valid rows, scored through the one scoring core.
 * `ignore` names columns that are not features (keys, the label).
 */
export async function profileData(app: MonitoringParts, version: ModelVersion, frame: Frame, ignore: readonly string[] = []): Promise<{ profile: Profile; inputs: Record<string, string[]>; rejected: number }> {
  const plan = planInputs(version.signature, frame, { ignore });
  const inputs: Record<string, string[]> = {};
  const features = new Map<string, readonly unknown[]>();
  for (const b of plan.bindings) {
    const columns = b.source.kind === 'columns' ? [...b.source.columns] : [b.source.column];
    inputs[b.spec.name] = columns;
    for (const c of columns) {
      const values = frame.column(c) ?? [];
      // A column of whole tensors (images) has no per-feature statistics worth keeping.
      if (!values.some((v) => Array.isArray(v))) features.set(c, values);
    }
  }
  const { result } = await app.pipeline.run({ model: { version }, input: { kind: 'frame', frame, plan: { ignore } }, source: 'profile' });
  const featureRows = new Map([...features].map(([name, values]) => [name, result.rows.map((r) => values[r] ?? null)]));
  const profile = buildProfile(featureRows, outputColumns(result.outputs), result.rows.length);
  return { profile, inputs, rejected: result.rejects.length };
}

/** Profile a data file for a registered version and store it as the version's reference. */
export async function storeReference(app: MonitoringParts, version: ModelVersion, frame: Frame, source: string, ignore: readonly string[], actor: string, merge = false): Promise<StoredProfile & { rejected: number }> {
  const { profile: fresh, inputs, rejected } = await profileData(app, version, frame, ignore);
  if (fresh.rows === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `${source} (no row passed validation)` });
  // --merge: fold the new data into the stored profile (profiles merge; windows roll up).
  const previous = merge ? await requireProfile(app.database, version) : undefined;
  const profile = previous ? mergeProfiles(previous.profile, fresh) : fresh;
  const stored: StoredProfile = {
    model: version.model, version: version.version, source: previous ? `${previous.source} + ${source}` : source,
    createdBy: actor, createdAt: new Date().toISOString(), inputs, profile,
  };
  await saveProfile(app.database, stored);
  return { ...stored, rejected };
}
