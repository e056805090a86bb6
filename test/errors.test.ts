/** The error catalog: stable codes, sane statuses, messages filled in, docs page in sync. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderErrorsDoc } from '../src/core/errors-doc.js';
import { asFerryError, errorCatalog, ferry, FerryError } from '../src/core/errors.js';
import { ROOT } from './helpers/env.js';

describe('error catalog', () => {
  it('docs/errors.md lists exactly the catalog (run `npm run docs:errors` after changing it)', () => {
    assert.equal(readFileSync(join(ROOT, 'docs/errors.md'), 'utf8'), renderErrorsDoc());
    const documented = [...readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').matchAll(/^\| `(FERRY_E_\w+)`/gm)].map((m) => m[1]);
    assert.deepEqual(documented, Object.keys(errorCatalog));
  });

  it('codes are FERRY_E_ names with HTTP 4xx/5xx statuses and non-zero exit codes', () => {
    for (const [code, spec] of Object.entries(errorCatalog)) {
      assert.match(code, /^FERRY_E_[A-Z0-9_]+$/);
      assert.ok(spec.http >= 400 && spec.http < 600, code);
      assert.ok(spec.exit > 0, code);
    }
  });

  it('messages are filled from params and keep the code', () => {
    const err = ferry('FERRY_E_VERSION_NOT_FOUND', { model: 'churn', version: 7 });
    assert.ok(err instanceof FerryError);
    assert.equal(err.message, 'Model "churn" has no version 7. Run `ferry versions churn` to list its versions.');
    assert.equal(err.httpStatus, 404);
    assert.equal(err.exitCode, 3);
    assert.deepEqual(err.toJSON(), { code: 'FERRY_E_VERSION_NOT_FOUND', message: err.message, details: { model: 'churn', version: 7 } });
  });

  it('unknown errors become FERRY_E_INTERNAL with their message', () => {
    const err = asFerryError(new TypeError('boom'));
    assert.equal(err.code, 'FERRY_E_INTERNAL');
    assert.match(err.message, /boom/);
  });
});
