import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local-store.js';

/** Where artifacts live: the local directory, or a shared store with that directory as its cache. */
export interface ArtifactSettings {
  readonly artifactsDir: string;
  readonly artifactsUrl: string | undefined;
  readonly aws?: { readonly accessKeyId: string | undefined; readonly secretAccessKey: string | undefined; readonly sessionToken: string | undefined; readonly region: string | undefined };
}

/** Open the configured artifact store; a shared store's driver loads only when it is configured. */
export async function openArtifactStore(settings: ArtifactSettings): Promise<ArtifactStore> {
  const local = new LocalArtifactStore(settings.artifactsDir);
  if (!settings.artifactsUrl) return local;
  const { CachedArtifactStore } = await import('./cached-store.js');
  if (settings.artifactsUrl.startsWith('s3://')) {
    const { S3ArtifactStore } = await import('./s3-store.js');
    const aws = settings.aws;
    return new CachedArtifactStore(new S3ArtifactStore({ url: settings.artifactsUrl, accessKeyId: aws?.accessKeyId ?? '', secretAccessKey: aws?.secretAccessKey ?? '', sessionToken: aws?.sessionToken, region: aws?.region }), local);
  }
  const { PostgresArtifactStore } = await import('./postgres-store.js');
  return new CachedArtifactStore(new PostgresArtifactStore({ url: settings.artifactsUrl }), local);
}
