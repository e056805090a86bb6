/**
 * FERRY_E_USAGE is the command line's error: below the CLI every refusal has a code of its own
 * with parameters (issue #11, item 6). The scan keeps it that way; the cases check that the
 * shared parsers each raise their own code, with the name the caller gave.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parseShard } from '../src/batch/shard.js';
import { fileFormatOf, parsePgLocation } from '../src/batch/locations.js';
import { FerryError } from '../src/core/errors.js';
import { inputFormatOf } from '../src/data/readers.js';
import { logShare } from '../src/monitoring/log-share.js';
import { parseWatchedStream } from '../src/stream/overview.js';

const ROOT = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function code(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError, String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a FerryError');
}

describe('FERRY_E_USAGE is a CLI error', () => {
  it('no module below src/cli throws it', () => {
    const offenders = files(join(ROOT, 'src'))
      .filter((f) => !relative(ROOT, f).startsWith('src/cli/') && f !== join(ROOT, 'src/core/errors.ts') && f !== join(ROOT, 'src/core/errors-doc.ts'))
      .filter((f) => readFileSync(f, 'utf8').includes("'FERRY_E_USAGE'"))
      .map((f) => relative(ROOT, f));
    assert.deepEqual(offenders, []);
  });

  it('shared parsers raise their own codes, named as the caller wrote them', () => {
    const shard = code(() => parseShard('3/3'));
    assert.equal(shard.code, 'FERRY_E_PARAMETER_INVALID');
    assert.match(shard.message, /^--shard is not valid: write i\/n with 0 ≤ i < n/);
    const share = code(() => logShare('2', 'log_predictions'));
    assert.equal(share.code, 'FERRY_E_PARAMETER_INVALID');
    assert.match(share.message, /^log_predictions is not valid: give a share of predictions from 0 to 1 \(got "2"\)/);
    const config = code(() => logShare({ every: 1 }, 'models[0].log', 'FERRY_E_CONFIG_INVALID'));
    assert.equal(config.code, 'FERRY_E_CONFIG_INVALID');
    assert.match(config.message, /models\[0\]\.log: unknown key\(s\) every/);
    const watched = code(() => parseWatchedStream('redis://127.0.0.1:6379/orders'));
    assert.equal(watched.code, 'FERRY_E_STREAM_URL_INVALID');
    assert.match(watched.message, /consumer group after "#"/);
    const format = code(() => fileFormatOf('scores.xlsx'));
    assert.equal(format.code, 'FERRY_E_DATA_FORMAT_UNKNOWN');
    assert.match(format.message, /"scores\.xlsx".*\.parquet/);
    assert.equal(code(() => inputFormatOf('rows.txt')).code, 'FERRY_E_DATA_FORMAT_UNKNOWN');
    const table = code(() => parsePgLocation('postgres://u:secret@127.0.0.1/test?table=a;drop'));
    assert.equal(table.code, 'FERRY_E_BATCH_LOCATION_INVALID');
    assert.doesNotMatch(table.message, /secret/);
  });
});
