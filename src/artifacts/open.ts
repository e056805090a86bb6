import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local-store.js';

/** Where artifacts live: the local directory, or a shared store with that directory as its cache. */
export interface ArtifactSettings {
  readonly artifactsDir: string;
  readonly artifactsUrl: string | undefined;
}

/** Open the configured artifact store; a shared store's driver loads only when it is configured. */
export async function openArtifactStore(settings: ArtifactSettings): Promise<ArtifactStore> {
  const local = new LocalArtifactStore(settings.artifactsDir);
  if (!settings.artifactsUrl) return local;
  const [{ PostgresArtifactStore }, { CachedArtifactStore }] = await Promise.all([import('./postgres-store.js'), import('./cached-store.js')]);
  return new CachedArtifactStore(new PostgresArtifactStore({ url: settings.artifactsUrl }), local);
}
