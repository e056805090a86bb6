/**
 * Stands in for src/runtimes/pmml/models/regression-layout.ts in packages of PMML documents whose
 * RegressionModels all have a CategoricalPredictor or a PredictorTerm (src/edge/narrowing.ts): no
 * table of theirs is numeric only, so the server finds no layout for them either.
 */
import type { layoutForm as Form } from '../../../runtimes/pmml/models/regression-layout.js';

export const layoutForm: typeof Form = () => undefined;
