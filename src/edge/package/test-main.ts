/**
 * The package's test.js: `node test.js` scores the parity rows and prints one JSON line
 * ({ ok, rows, maxDiff, mismatches }); the exit code is 1 when any value is out of tolerance.
 */
import { checkParity } from './check.js';
import { predict, report } from './index.js';
import { vectors } from './parity.js';

// The check must not post the parity rows to the server's prediction log.
report(false);

const result = await checkParity(predict, vectors);
console.log(JSON.stringify(result));
if (!result.ok) process.exitCode = 1;
