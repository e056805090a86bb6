import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ferry, FerryError } from '../core/errors.js';
import { isDigest, sha256Digest, type ArtifactStore, type PutResult } from './artifact-store.js';

/**
 * Artifacts as files in a local directory: `<dir>/sha256/<aa>/<hex>`. Writes go to a temp
 * file, are fsynced, then linked into place, so a crash or a full disk never leaves a partial
 * blob under its final name. Blobs are made read-only.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly location: string;

  constructor(dir: string) {
    this.location = dir;
  }

  async put(bytes: Uint8Array): Promise<PutResult> {
    const digest = sha256Digest(bytes);
    const final = this.#path(digest);
    if (await this.#isIntact(final, digest)) return { digest, size: bytes.byteLength, created: false };

    const tmpDir = join(this.location, 'tmp');
    const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
    try {
      // Models are the owner's alone, like the registry (0700 folders, 0400 blobs).
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      await mkdir(join(final, '..'), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o400);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let created = true;
      try {
        await link(tmp, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Someone stored the same bytes meanwhile — or a damaged copy sits there: replace it.
        if (await this.#isIntact(final, digest)) created = false;
        else await rename(tmp, final);
      }
      return { digest, size: bytes.byteLength, created };
    } catch (err) {
      throw storageError(err, `artifact ${digest}`, this.location);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(digest: string, label: string): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw ferry('FERRY_E_ARTIFACT_MISSING', { digest, model: label, location: this.location }, err);
      }
      throw storageError(err, `artifact ${digest}`, this.location);
    }
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual, size: bytes.byteLength });
    }
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.#path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async delete(digest: string): Promise<void> {
    try {
      await unlink(this.#path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError(err, `artifact ${digest}`, this.location);
    }
  }

  async list(): Promise<string[]> {
    const root = join(this.location, 'sha256');
    const out: string[] = [];
    let prefixes: string[];
    try {
      prefixes = await readdir(root);
    } catch {
      return out;
    }
    for (const prefix of prefixes) {
      for (const name of await readdir(join(root, prefix))) {
        const digest = `sha256:${name}`;
        if (isDigest(digest)) out.push(digest);
      }
    }
    return out;
  }

  async storedAt(digest: string): Promise<Date | undefined> {
    try {
      return (await stat(this.#path(digest))).mtime;
    } catch {
      return undefined;
    }
  }

  async sweepIncomplete(olderThanMs: number): Promise<number> {
    const dir = join(this.location, 'tmp');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > olderThanMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  #path(digest: string): string {
    if (!isDigest(digest)) throw ferry('FERRY_E_INTERNAL', { detail: `malformed artifact digest "${digest}"` });
    const hex = digest.slice('sha256:'.length);
    return join(this.location, 'sha256', hex.slice(0, 2), hex);
  }

  async #isIntact(path: string, digest: string): Promise<boolean> {
    try {
      return sha256Digest(await readFile(path)) === digest;
    } catch {
      return false;
    }
  }
}

/** Map a file-system failure to the catalog: a full disk is its own error. */
export function storageError(err: unknown, what: string, location: string): FerryError {
  if (err instanceof FerryError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return ferry('FERRY_E_STORAGE_FULL', { what, location }, err);
  const detail = err instanceof Error ? err.message : String(err);
  return ferry('FERRY_E_STORAGE_IO', { what, location, detail }, err);
}

