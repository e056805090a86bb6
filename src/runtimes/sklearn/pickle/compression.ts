/** Which compressor wrote a joblib file, from its first bytes (no decoder loaded). */

/** The compressors joblib writes that Ferry reads. */
export type Compression = 'none' | 'zlib' | 'gzip' | 'bz2' | 'xz' | 'lzma';

const startsWith = (b: Uint8Array, prefix: readonly number[]): boolean => prefix.every((x, i) => b[i] === x);

/** The compression of a joblib file from its first bytes ('none' for a bare pickle; undefined: neither). */
export function compressionOf(bytes: Uint8Array): Compression | 'xz' | 'lzma' | 'lz4' | undefined {
  const b0 = bytes[0];
  const b1 = bytes[1] ?? -1;
  if (b0 === 0x80 && b1 >= 2 && b1 <= 5) return 'none';
  if (b0 === 0x78 && (b1 === 0x01 || b1 === 0x5e || b1 === 0x9c || b1 === 0xda)) return 'zlib';
  if (b0 === 0x1f && b1 === 0x8b) return 'gzip';
  if (startsWith(bytes, [0x42, 0x5a, 0x68]) && (bytes[3] ?? 0) >= 0x31 && (bytes[3] ?? 0) <= 0x39) return 'bz2';
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(bytes, [0x5d, 0x00, 0x00])) return 'lzma';
  if (startsWith(bytes, [0x04, 0x22, 0x4d, 0x18])) return 'lz4';
  return undefined;
}
