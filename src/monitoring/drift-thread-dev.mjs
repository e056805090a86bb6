// Drift thread entry used only when Ferry runs from its TypeScript sources (tests, `tsx`):
// worker threads do not inherit tsx's loader, so register it here, then load the real module.
// Built code (dist/) starts drift-thread.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./drift-thread.ts');
