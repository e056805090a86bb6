import type { KernelCompiler } from '../types.js';
import { extraKernels } from './extra.js';
import { regressionModel } from './regression.js';

/** Model kernels by element name: the core's own, then the second set (extra.ts). */
export const KERNELS: Readonly<Record<string, KernelCompiler>> = {
  RegressionModel: regressionModel,
  ...extraKernels,
};
