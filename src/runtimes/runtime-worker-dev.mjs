// Worker entry used only when Ferry runs from its TypeScript sources (tests, `tsx`): worker
// threads do not inherit tsx's loader, so register it here, then load the real worker.
// Built code (dist/) uses runtime-worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./runtime-worker.ts');
export default worker.default;
export const describe = worker.describe;
