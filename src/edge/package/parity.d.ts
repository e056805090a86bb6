/** The package's parity vectors (parity.js), written by the export. */
import type { ParityVectors } from './types.js';

export declare const vectors: ParityVectors;
