/** Regenerate docs/errors.md from the error catalog. */
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../src/core/errors-doc.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
