import { readFile } from 'node:fs/promises';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { ferry, quoteList } from '../core/errors.js';
import { rowWidth, withInputColumns, type ModelSignature } from '../core/signature.js';
import type { ArtifactInspector } from './artifact-inspector.js';
import { checkName, formatModelRef, parseModelRef, type ModelRef } from './refs.js';
import type { RegistryStore } from './store.js';
import { checkTrafficSpec, describeTraffic } from './traffic.js';
import type { AliasEvent, Lineage, ModelVersion, Tags, TrafficSplitSpec } from './types.js';

/** What `register` needs besides the artifact file. */
export interface RegisterRequest {
  readonly path: string;
  readonly name: string;
  readonly format?: string;
  /** Which data columns fill each input, in element order (`--input-columns`). */
  readonly inputColumns?: Readonly<Record<string, readonly string[]>>;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly params?: Readonly<Record<string, string>>;
  readonly tags?: Tags;
  readonly lineage?: Lineage;
  readonly aliases?: readonly string[];
  readonly description?: string;
  readonly actor: string;
}

/**
 * The model lifecycle over a metadata store and an artifact store: registration (atomic
 * across both), reference resolution, aliases and archiving.
 */
export class Registry {
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly #inspector: ArtifactInspector;

  constructor(store: RegistryStore, artifacts: ArtifactStore, inspector: ArtifactInspector) {
    this.store = store;
    this.artifacts = artifacts;
    this.#inspector = inspector;
  }

  /**
   * Register an artifact as the next version of a model. The artifact is loaded once to
   * prove it is a valid model and to read its signature. Either the version (with its
   * aliases) and its blob are both stored, or neither is visible.
   */
  async register(req: RegisterRequest): Promise<ModelVersion> {
    checkName('Model', req.name);
    for (const alias of req.aliases ?? []) checkName('Alias', alias);
    const file = await readArtifactFile(req.path);
    const inspected = await this.#inspector.inspect(file, req.path, req.format);
    // Some formats store a translation of the file (a scikit-learn pickle becomes Ferry's model document).
    const bytes = inspected.translation?.artifact ?? file;
    const signature = applyInputColumns(inspected.signature, req.inputColumns ?? {});

    const put = await this.artifacts.put(bytes);
    try {
      const version = await this.store.createVersion({
        model: req.name,
        digest: put.digest,
        size: put.size,
        format: inspected.format,
        signature,
        metrics: req.metrics ?? {},
        params: req.params ?? {},
        tags: req.tags ?? {},
        lineage: { ...req.lineage, ...(inspected.translation ? { source: inspected.translation.lineage } : {}) },
        description: req.description ?? '',
        modelDescription: req.description ?? '',
        createdBy: req.actor,
        aliases: req.aliases ?? [],
      });
      // A concurrent failed registration of the same bytes may have removed the blob
      // between our put and our commit; put it back so the committed version has it.
      if (!(await this.artifacts.has(put.digest))) await this.artifacts.put(bytes);
      return version;
    } catch (err) {
      if (put.created && !(await this.store.isDigestReferenced(put.digest).catch(() => true))) {
        await this.artifacts.delete(put.digest).catch(() => undefined);
      }
      throw err;
    }
  }

  /** The version a reference names (`name`, `name:3`, `name@alias`). */
  async resolve(ref: string | ModelRef): Promise<ModelVersion> {
    const parsed = typeof ref === 'string' ? parseModelRef(ref) : ref;
    const { model } = parsed;
    switch (parsed.kind) {
      case 'version': {
        const v = await this.store.getVersion(model, parsed.version);
        if (v) return v;
        break;
      }
      case 'alias': {
        const alias = await this.store.getAlias(model, parsed.alias);
        if (alias) {
          const v = await this.store.getVersion(model, alias.version);
          if (v) return v;
        }
        break;
      }
      case 'latest': {
        const v = await this.store.latestVersion(model);
        if (v) return v;
        break;
      }
    }
    // Say precisely what is missing: the model, the version or the alias.
    if (!(await this.store.getModel(model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
    if (parsed.kind === 'version') throw ferry('FERRY_E_VERSION_NOT_FOUND', { model, version: parsed.version });
    if (parsed.kind === 'alias') throw ferry('FERRY_E_ALIAS_NOT_FOUND', { model, alias: parsed.alias });
    throw ferry('FERRY_E_NO_LIVE_VERSION', { model });
  }

  /** The verified artifact bytes of a version. */
  loadArtifact(version: ModelVersion): Promise<Uint8Array> {
    return this.artifacts.get(version.digest, `${version.model}:${version.version}`);
  }

  /** Point an alias at a version (a number or another reference). */
  async setAlias(model: string, alias: string, target: string | number, actor: string): Promise<AliasEvent> {
    checkName('Alias', alias);
    const version = await this.resolve(typeof target === 'number' || /^\d+$/.test(target) ? `${model}:${target}` : target);
    if (version.model !== model) throw ferry('FERRY_E_ALIAS_TARGET_INVALID', { alias, model, target: formatModelRef(parseModelRef(String(target))) });
    return this.store.setAlias(model, alias, version.version, actor);
  }

  /** Move an alias back to the version it pointed at before its last move. */
  async rollbackAlias(model: string, alias: string, actor: string): Promise<AliasEvent> {
    const history = await this.store.aliasHistory(model, alias);
    if (history.length === 0) {
      if (!(await this.store.getModel(model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
      throw ferry('FERRY_E_ALIAS_NOT_FOUND', { model, alias });
    }
    const previous = history[0]?.fromVersion;
    if (previous === null || previous === undefined) throw ferry('FERRY_E_ROLLBACK_UNAVAILABLE', { model, alias });
    return this.store.setAlias(model, alias, previous, actor, `rollback from ${history[0]?.toVersion ?? 'none'}`);
  }

  /**
   * Set how a model's requests without a version are split (canary) and mirrored (shadow), for
   * every server replica (they read it on their next registry poll, at once on PostgreSQL);
   * null removes the setting so ferry.yaml's applies. Every target must resolve now (an
   * alias that exists, a version that is not archived, `latest`). Recorded in the alias history.
   */
  async setTraffic(model: string, spec: TrafficSplitSpec | null, actor: string): Promise<AliasEvent> {
    const checked = spec === null ? null : checkTrafficSpec(spec);
    if (!(await this.store.getModel(model))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
    const targets = [...(checked?.canary ?? []).map((r) => r.target), ...(checked?.shadow ? [checked.shadow.target] : [])];
    for (const target of new Set(targets)) {
      const v = await this.resolve(target === 'latest' ? model : /^\d+$/.test(target) ? `${model}:${target}` : `${model}@${target}`);
      if (v.archivedAt) throw ferry('FERRY_E_TRAFFIC_INVALID', { detail: `version ${v.version} of "${model}" is archived; restore it first (\`ferry archive ${model}:${v.version} --restore\`)` });
    }
    return this.store.setTraffic(model, checked, actor, describeTraffic(checked));
  }

  /** Archive (or restore) a version. */
  async archive(ref: string, restore = false): Promise<ModelVersion> {
    const parsed = parseModelRef(ref);
    const version = parsed.kind === 'version' ? parsed.version : (await this.resolve(parsed)).version;
    return this.store.setArchived(parsed.model, version, !restore);
  }

  /**
   * Remove artifacts no version references (left by a crash between writing the blob and
   * committing the version) and unfinished writes, older than `minAgeMs` so that a
   * registration in progress is never disturbed. With `dryRun`, only report.
   */
  async gc(options: { minAgeMs: number; dryRun: boolean }): Promise<{ orphans: string[]; incomplete: number }> {
    const orphans: string[] = [];
    for (const digest of await this.artifacts.list()) {
      if (await this.store.isDigestReferenced(digest)) continue;
      const at = await this.artifacts.storedAt(digest);
      if (!at || Date.now() - at.getTime() < options.minAgeMs) continue;
      orphans.push(digest);
      if (!options.dryRun) await this.artifacts.delete(digest);
    }
    const incomplete = options.dryRun ? 0 : await this.artifacts.sweepIncomplete(options.minAgeMs);
    return { orphans, incomplete };
  }

  /** Delete a version's metadata and, when no other version uses it, its artifact. */
  async deleteVersion(model: string, version: number): Promise<ModelVersion> {
    const removed = await this.store.deleteVersion(model, version);
    if (!(await this.store.isDigestReferenced(removed.digest))) await this.artifacts.delete(removed.digest);
    return removed;
  }
}

async function readArtifactFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
}

/** Store the column names that fill each input; check them against the inputs' widths. */
export function applyInputColumns(signature: ModelSignature, mapping: Readonly<Record<string, readonly string[]>>): ModelSignature {
  const names = signature.inputs.map((i) => i.name);
  for (const [input, columns] of Object.entries(mapping)) {
    const spec = signature.inputs.find((i) => i.name === input);
    if (!spec) throw ferry('FERRY_E_INPUT_MAPPING_INVALID', { detail: `the model has no input "${input}"; its inputs are ${quoteList(names)}` });
    const width = rowWidth(spec);
    if (width !== undefined && width !== columns.length) {
      throw ferry('FERRY_E_INPUT_MAPPING_INVALID', { detail: `input "${input}" takes ${width} value(s) per row but ${columns.length} column(s) were given` });
    }
    if (new Set(columns).size !== columns.length) {
      throw ferry('FERRY_E_INPUT_MAPPING_INVALID', { detail: `input "${input}" lists a column twice` });
    }
  }
  return withInputColumns(signature, mapping);
}
