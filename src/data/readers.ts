import { readFile } from 'node:fs/promises';
import { ferry } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { resolveFileFormat, type FileFormat } from './file-formats.js';

/** A format Ferry parses itself (CSV, JSON Lines, JSON): what `ferry predict` and request bodies read. */
type TextFormat = FileFormat & { readonly parse: NonNullable<FileFormat['parse']> };

/** The format of a path by its extension, or the one given; only formats Ferry parses itself. */
export function inputFormatOf(path: string, given?: string): TextFormat {
  const format = resolveFileFormat(path, given);
  if (format?.parse) return format as TextFormat;
  throw ferry('FERRY_E_DATA_FORMAT_UNKNOWN', { path, extensions: '.csv, .jsonl or .json', how: '--input-format csv|jsonl|json' });
}

/** Read a whole data file (or `-` for standard input) into a Frame. */
export async function readFrame(path: string, format?: string): Promise<Frame> {
  const fmt = path === '-' ? inputFormatOf(path, format ?? 'jsonl') : inputFormatOf(path, format);
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

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
