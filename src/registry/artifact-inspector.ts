import type { ModelSignature } from '../core/signature.js';

/** What registration learns from an artifact's bytes. */
export interface InspectedArtifact {
  /** The format key (`onnx`, `xgboost`, `pmml`, …) the version is stored under. */
  readonly format: string;
  /** The signature the artifact declares. */
  readonly signature: ModelSignature;
  /**
   * For formats whose files are translated at registration (a scikit-learn pickle becomes
   * Ferry's model document): the artifact to store instead of the file, and facts about the
   * original file for the version's lineage.
   */
  readonly translation?: { readonly artifact: Uint8Array; readonly lineage: Readonly<Record<string, string | number | null>> } | undefined;
}

/**
 * The registry's port to the execution layer: the runtime catalog implements it
 * (`RuntimeCatalog.inspector`), so the registry knows model formats without importing them.
 */
export interface ArtifactInspector {
  /**
   * The artifact's format (the one given, else detected by content) and its signature; proves
   * the bytes are a valid model. Throws FERRY_E_ARTIFACT_* when they are not.
   */
  inspect(bytes: Uint8Array, path: string, format?: string): Promise<InspectedArtifact>;
}
