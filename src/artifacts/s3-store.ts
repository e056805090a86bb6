import { AwsClient } from 'aws4fetch';
import { XMLParser } from 'fast-xml-parser';
import { ferry } from '../core/errors.js';
import { isDigest, sha256Digest, type ArtifactStore, type PutResult } from './artifact-store.js';

/**
 * Artifacts in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2…), written against the S3 REST
 * API: one object per blob at `<prefix>sha256/<hex>`, PUT whole (S3 makes a PUT visible whole or not
 * at all, so there are no incomplete writes to sweep), read back and verified against its digest like
 * every store. Requests are signed with AWS Signature V4 (aws4fetch); credentials come from the
 * standard AWS variables.
 *
 *   FERRY_ARTIFACTS_URL=s3://bucket/ferry/?region=eu-west-1
 *   FERRY_ARTIFACTS_URL=s3://models/?endpoint=http://127.0.0.1:9000&region=us-east-1   (MinIO: path-style)
 */
export interface S3ArtifactStoreOptions {
  /** `s3://<bucket>/<prefix>?region=…&endpoint=…`. */
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** Used when the URL names no `region` (AWS_REGION); us-east-1 when neither does. */
  readonly region?: string | undefined;
  /** Largest blob read back (bytes): a GET announcing more is refused before it is read. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
/** Keys per ListObjectsV2 page. */
const PAGE = 1000;

export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  readonly #client: AwsClient;
  /** `https://bucket.s3.region.amazonaws.com/` or `<endpoint>/<bucket>/` (path style). */
  readonly #base: string;
  readonly #prefix: string;
  readonly #maxBytes: number;

  constructor(options: S3ArtifactStoreOptions) {
    const { bucket, prefix, region, endpoint } = parseS3Url(options.url, options.region);
    this.location = `s3://${bucket}/${prefix}`;
    this.#prefix = prefix;
    this.#base = endpoint ? `${endpoint.replace(/\/$/, '')}/${bucket}/` : `https://${bucket}.s3.${region}.amazonaws.com/`;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#client = new AwsClient({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}), service: 's3', region, retries: 2 });
  }

  async put(bytes: Uint8Array): Promise<PutResult> {
    const digest = sha256Digest(bytes);
    if (await this.has(digest)) return { digest, size: bytes.byteLength, created: false };
    const hex = digest.slice('sha256:'.length);
    const res = await this.#request(this.#url(digest), {
      method: 'PUT',
      body: bytes,
      // S3 checks the body against this and refuses a damaged upload.
      headers: { 'content-type': 'application/octet-stream', 'x-amz-content-sha256': hex, 'x-amz-meta-ferry-digest': digest },
    });
    await this.#expect(res, [200], 'PUT');
    return { digest, size: bytes.byteLength, created: true };
  }

  async get(digest: string, label: string): Promise<Uint8Array> {
    checkDigest(digest);
    const res = await this.#request(this.#url(digest), { method: 'GET' });
    if (res.status === 404) {
      await res.body?.cancel();
      throw ferry('FERRY_E_ARTIFACT_MISSING', { digest, model: label, location: this.location });
    }
    await this.#expect(res, [200], 'GET', true);
    const announced = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(announced) && announced > this.#maxBytes) {
      await res.body?.cancel();
      throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual: `an object of ${announced} bytes, over the ${this.#maxBytes}-byte limit`, size: announced });
    }
    const out = await readBounded(res, this.#maxBytes, label, digest);
    const actual = sha256Digest(out);
    if (actual !== digest) throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual, size: out.byteLength });
    return out;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.#head(digest)) !== undefined;
  }

  async delete(digest: string): Promise<void> {
    checkDigest(digest);
    const res = await this.#request(this.#url(digest), { method: 'DELETE' });
    await this.#expect(res, [200, 204, 404], 'DELETE');
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const parser = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'Contents' });
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ 'list-type': '2', prefix: `${this.#prefix}sha256/`, 'max-keys': String(PAGE), ...(token ? { 'continuation-token': token } : {}) });
      const res = await this.#request(`${this.#base}?${query.toString()}`, { method: 'GET' });
      await this.#expect(res, [200], 'ListObjectsV2', true);
      const doc = parser.parse(await res.text()) as { ListBucketResult?: { Contents?: { Key?: string }[]; IsTruncated?: boolean | string; NextContinuationToken?: string } };
      const page = doc.ListBucketResult;
      for (const c of page?.Contents ?? []) {
        const digest = `sha256:${String(c.Key ?? '').slice(`${this.#prefix}sha256/`.length)}`;
        if (isDigest(digest)) out.push(digest);
      }
      token = String(page?.IsTruncated) === 'true' ? page?.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async storedAt(digest: string): Promise<Date | undefined> {
    const head = await this.#head(digest);
    const modified = head?.get('last-modified');
    return modified ? new Date(modified) : undefined;
  }

  /** A PUT is atomic in S3: nothing is ever left half written. */
  sweepIncomplete(): Promise<number> {
    return Promise.resolve(0);
  }

  async #head(digest: string): Promise<Headers | undefined> {
    checkDigest(digest);
    const res = await this.#request(this.#url(digest), { method: 'HEAD' });
    if (res.status === 404) return undefined;
    await this.#expect(res, [200], 'HEAD');
    return res.headers;
  }

  #url(digest: string): string {
    return `${this.#base}${encodeURI(`${this.#prefix}sha256/${digest.slice('sha256:'.length)}`)}`;
  }

  async #request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#client.fetch(url, init);
    } catch (err) {
      throw ferry('FERRY_E_ARTIFACT_STORE_UNAVAILABLE', { location: this.location, detail: err instanceof Error ? err.message : String(err) }, err);
    }
  }

  /** Refuse an unexpected status with S3's own error code and message. */
  async #expect(res: Response, ok: readonly number[], what: string, keepBody = false): Promise<void> {
    if (ok.includes(res.status)) {
      if (!keepBody) await res.body?.cancel();
      return;
    }
    const text = (await res.text().catch(() => '')).slice(0, 2000);
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    throw ferry('FERRY_E_ARTIFACT_STORE_UNAVAILABLE', { location: this.location, detail: `${what} answered ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}` });
  }
}

/** Read a response body, refusing one longer than `max` bytes as it arrives. */
async function readBounded(res: Response, max: number, label: string, digest: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual: `more than ${max} bytes`, size });
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks, size);
}

function checkDigest(digest: string): void {
  if (!isDigest(digest)) throw ferry('FERRY_E_INTERNAL', { detail: `"${digest}" is not a sha256 digest` });
}

/** `s3://bucket/prefix/?region=…&endpoint=…` → its parts; the prefix ends with "/" (or is empty). */
export function parseS3Url(text: string, defaultRegion?: string): { bucket: string; prefix: string; region: string; endpoint: string | undefined } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ARTIFACTS_URL "${text}" is not a URL` });
  }
  if (url.protocol !== 's3:' || !url.hostname) throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ARTIFACTS_URL "${text}" must look like s3://<bucket>/<prefix>?region=<region>[&endpoint=<url>]` });
  const raw = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ARTIFACTS_URL endpoint "${endpoint}" must be an http:// or https:// URL` });
  return { bucket: url.hostname, prefix, region: url.searchParams.get('region') ?? defaultRegion ?? 'us-east-1', endpoint };
}
