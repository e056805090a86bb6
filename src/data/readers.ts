import { access, readFile } from 'node:fs/promises';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { extensionList, FILE_FORMATS, resolveFileFormat, type FileFormat } from './file-formats.js';

/** A format Ferry parses itself (CSV, JSON Lines, JSON): what request bodies and standard input are read as. */
type TextFormat = FileFormat & { readonly parse: NonNullable<FileFormat['parse']> };

/** The format of a path by its extension, or the one given; only formats Ferry parses itself. */
export function inputFormatOf(path: string, given?: string): TextFormat {
  const format = resolveFileFormat(path, given);
  if (format?.parse) return format as TextFormat;
  throw unknownFormat(path, FILE_FORMATS.filter((f) => f.parse));
}

/** Read a whole data file (or `-` for standard input) into a Frame. */
export async function readFrame(path: string, format?: string): Promise<Frame> {
  const resolved = path === '-' ? inputFormatOf(path, format ?? 'jsonl') : resolveFileFormat(path, format);
  if (resolved?.readFile) {
    await access(path).catch((err: unknown) => { throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err); });
    const frame = await resolved.readFile(path, `"${path}"`);
    if (frame.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `"${path}"` });
    return frame;
  }
  if (!resolved?.parse) throw unknownFormat(path, FILE_FORMATS.filter((f) => f.parse ?? f.readFile));
  const fmt = resolved as TextFormat;
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
  const source = path === '-' ? 'standard input' : `"${path}"`;
  if (text.includes('\u0000')) throw ferry('FERRY_E_INPUT_FORMAT', { source, format: fmt.name.toUpperCase(), detail: 'it holds binary data' });
  const frame = fmt.parse(text, source);
  if (frame.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source });
  return frame;
}

/** Parse data held in memory (request bodies, messages) in a format Ferry parses itself. */
export function parseText(text: string, format: string, source: string): Frame {
  return inputFormatOf(source, format).parse(text, source);
}

function unknownFormat(path: string, formats: readonly FileFormat[]) {
  return ferry('FERRY_E_DATA_FORMAT_UNKNOWN', { path, extensions: extensionList(formats), how: `--input-format ${formats.map((f) => f.name).join('|')}` });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
