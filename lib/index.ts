/**
 * taxi-duration: the MLOps course's week 1 (NYC taxi trip duration) as a library.
 *
 * source → read → clean → vectorize → fit → evaluate → plot / save.
 * This file only re-exports; each course step lives in its own module.
 */
export * from './errors.js';
export * from './output.js';
export * from './columns.js';
export * from './datasets.js';
export * from './months.js';
export * from './source.js';
export * from './read.js';
export * from './clean.js';
export * from './frame.js';
export * from './synthetic.js';
export * from './generated.js';
export * from './features.js';
export * from './vectorize.js';
export { LinearModel, type DesignBatch, type DesignMatrix, type EstimatorName, type LinearRegressionParameters } from './linearModel.js';
export * from './regression.js';
export * from './ridge.js';
export * from './lasso.js';
export * from './estimators.js';
export { TripStatistics, type TripStatisticsOptions, type TripRowRange, type TripStatisticsData } from './statistics.js';
export { NormalEquations, type NormalEquationsParts } from './normalEquations.js';
export {
  solveLeastSquares, solveLasso, solveMinimumNorm,
  type LeastSquaresOptions, type LeastSquaresSolution, type LassoSolverOptions, type LassoSolution,
} from './solvers.js';
export * from './metrics.js';
export * from './modelFile.js';
export * from './jsonRecords.js';
export * from './predict.js';
export * from './density.js';
export * from './binnedSeries.js';
export * from './plots.js';
export * from './display.js';
export * from './notebook.js';
export * from './tripPass.js';
export * from './accumulate.js';
export * from './score.js';
export * from './pipeline.js';
// MLOps levels 2–4: tracked runs, the registry, monitoring, retraining.
export * from './project.js';
export * from './fileHash.js';
export * from './runs.js';
export * from './tracking.js';
export * from './registry.js';
export * from './profile.js';
export * from './monitor.js';
export * from './mlopsCharts.js';
export * from './retrain.js';
