/** Model elements of PMML 4.4 (those without a kernel are refused by name). */
export const MODEL_ELEMENTS: ReadonlySet<string> = new Set([
  'AssociationModel', 'AnomalyDetectionModel', 'BayesianNetworkModel', 'BaselineModel', 'ClusteringModel', 'GaussianProcessModel',
  'GeneralRegressionModel', 'MiningModel', 'NaiveBayesModel', 'NearestNeighborModel', 'NeuralNetwork', 'RegressionModel',
  'RuleSetModel', 'SequenceModel', 'Scorecard', 'SupportVectorMachineModel', 'TextModel', 'TimeSeriesModel', 'TreeModel',
]);
