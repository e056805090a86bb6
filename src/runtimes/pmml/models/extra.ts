import type { KernelCompiler } from '../types.js';

/**
 * Kernels for NeuralNetwork, NaiveBayesModel, SupportVectorMachineModel, Scorecard,
 * ClusteringModel, NearestNeighborModel, RuleSetModel, AssociationModel and
 * AnomalyDetectionModel, by element name. (The core's own kernels are in index.ts.)
 */
export const extraKernels: Readonly<Record<string, KernelCompiler>> = {};
