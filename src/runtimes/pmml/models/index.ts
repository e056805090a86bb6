import type { KernelCompiler } from '../types.js';
import { extraKernels } from './extra.js';
import { generalRegressionModel } from './general-regression.js';
import { miningModel } from './mining.js';
import { regressionModel } from './regression.js';
import { treeModel } from './tree.js';

/** Model kernels by element name: the core's own, then the second set (extra.ts). */
export const KERNELS: Readonly<Record<string, KernelCompiler>> = {
  RegressionModel: regressionModel,
  TreeModel: treeModel,
  MiningModel: miningModel,
  GeneralRegressionModel: generalRegressionModel,
  ...extraKernels,
};
