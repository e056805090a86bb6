import type { KernelCompiler } from '../types.js';
import { compileAnomalyDetection } from './anomaly-detection.js';
import { compileAssociation } from './association.js';
import { compileClustering } from './clustering.js';
import { generalRegressionModel } from './general-regression.js';
import { miningModel } from './mining.js';
import { compileNaiveBayes } from './naive-bayes.js';
import { compileNearestNeighbor } from './nearest-neighbor.js';
import { compileNeuralNetwork } from './neural-network.js';
import { regressionModel } from './regression.js';
import { compileRuleSet } from './rule-set.js';
import { compileScorecard } from './scorecard.js';
import { compileSupportVectorMachine } from './support-vector-machine.js';
import { treeModel } from './tree.js';

/**
 * The table of model kernels, by PMML element name. Adding a model type means adding its
 * file in this folder and one line here; elements without a kernel are refused by name.
 */
export const KERNELS: Readonly<Record<string, KernelCompiler>> = {
  RegressionModel: regressionModel,
  TreeModel: treeModel,
  MiningModel: miningModel,
  GeneralRegressionModel: generalRegressionModel,
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
