import type { KernelCompiler } from '../types.js';
import { compileAnomalyDetection } from './anomaly-detection.js';
import { compileAssociation } from './association.js';
import { compileClustering } from './clustering.js';
import { compileNaiveBayes } from './naive-bayes.js';
import { compileNearestNeighbor } from './nearest-neighbor.js';
import { compileNeuralNetwork } from './neural-network.js';
import { compileRuleSet } from './rule-set.js';
import { compileScorecard } from './scorecard.js';
import { compileSupportVectorMachine } from './support-vector-machine.js';

/**
 * Kernels for NeuralNetwork, NaiveBayesModel, SupportVectorMachineModel, Scorecard,
 * ClusteringModel, NearestNeighborModel, RuleSetModel, AssociationModel and
 * AnomalyDetectionModel, by element name. (The core's own kernels are in index.ts.)
 */
export const extraKernels: Readonly<Record<string, KernelCompiler>> = {
  NeuralNetwork: compileNeuralNetwork,
  NaiveBayesModel: compileNaiveBayes,
  SupportVectorMachineModel: compileSupportVectorMachine,
  Scorecard: compileScorecard,
  ClusteringModel: compileClustering,
  NearestNeighborModel: compileNearestNeighbor,
  RuleSetModel: compileRuleSet,
  AssociationModel: compileAssociation,
  AnomalyDetectionModel: compileAnomalyDetection,
};
