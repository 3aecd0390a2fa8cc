/**
 * Score: a fitted model's errors on trip files, streamed. Row groups are read, cleaned as in
 * training and predicted a chunk at a time by lib/predict.ts (`predictFeatureChunks`, the core of
 * `predictTrips`: the one prediction path of `predict`, the service and monitoring); each group
 * gives its sum of squared errors and the predicted and actual
 * durations counted into fine bins (lib/binnedSeries.ts) for the chart. Memory holds one row
 * group, whatever the number of months.
 *
 * The model travels to worker threads as plain data ({@link ModelData}), rebuilt there into the
 * same vectorizer and estimator, so a group's numbers do not depend on the thread that scored it.
 */
import { BinnedSeries, type BinnedSeriesData } from './binnedSeries.js';
import { restoreEstimator } from './estimators.js';
import type { FeatureSet } from './features.js';
import type { EstimatorName, LinearRegressionParameters } from './linearModel.js';
import { predictFeatureChunks, type PredictionModel } from './predict.js';
import { cleanRowGroups, type GroupCounts, type PassJob, type PassOptions } from './tripPass.js';
import { DictVectorizer } from './vectorize.js';

/** A fitted model as plain data, for `postMessage`: what a model file holds, without metadata. */
export interface ModelData {
  featureNames: string[];
  separator: string;
  estimator: EstimatorName;
  /** The estimator's options (`getParams()`). */
  params: Record<string, number | boolean>;
  /** Coefficients and intercept. */
  parameters: LinearRegressionParameters;
  features: FeatureSet;
}

/**
 * A fitted model (vectorizer, estimator, feature set) as plain data.
 *
 * @example
 * worker.postMessage({ model: modelData({ vectorizer, model, features }) });
 */
export function modelData(saved: PredictionModel): ModelData {
  return {
    featureNames: saved.vectorizer.getFeatureNamesOut(),
    separator: saved.vectorizer.separator,
    estimator: saved.model.estimator,
    params: saved.model.getParams(),
    parameters: saved.model.parameters,
    features: { categorical: [...saved.features.categorical], numerical: [...saved.features.numerical] },
  };
}

/**
 * The model {@link modelData} describes, ready to predict.
 *
 * @throws Error (`regression: ...`) for an unknown estimator or bad parameters.
 * @example
 * const saved = modelFromData(message.model);
 */
export function modelFromData(data: ModelData): PredictionModel {
  return {
    vectorizer: DictVectorizer.fromFeatureNames(data.featureNames, { separator: data.separator }),
    model: restoreEstimator(data.estimator, data.params, data.parameters),
    features: data.features,
  };
}

/** One row group's share of a score pass. */
export interface ScoredGroup extends GroupCounts {
  /** Sum of squared errors over the kept rows, minutes². */
  squaredErrorSum: number;
  /** The kept rows' predicted and actual durations, binned over the duration filter's window. */
  predicted: BinnedSeriesData;
  actual: BinnedSeriesData;
}

/**
 * Reads, cleans and predicts the job's row groups; returns each group's counts, squared errors
 * and binned durations, in row group order.
 *
 * @throws Error (`read: ...`) for a file that cannot be read; `features: ...` for one lacking a
 *   column the model needs.
 * @example
 * const groups = await scoreRowGroups(job, await loadModel('models/lin_reg.json'));
 * const rmse = Math.sqrt(groups.reduce((s, g) => s + g.squaredErrorSum, 0) / groups.reduce((s, g) => s + g.rowsKept, 0));
 */
export async function scoreRowGroups(job: PassJob, saved: PredictionModel, options: PassOptions = {}): Promise<ScoredGroup[]> {
  const out: ScoredGroup[] = [];
  const { minDuration, maxDuration } = job.spec;
  for await (const { counts, clean } of options.groups ?? cleanRowGroups(job, options)) {
    const actual = clean.duration;
    const predictedBins = BinnedSeries.forDurations(minDuration, maxDuration);
    let squares = 0;
    // A chunk of predictions at a time: nothing the size of the row group is made.
    for (const { start, end, predicted } of predictFeatureChunks(saved, clean.features, options.predictBuffers ? { buffers: options.predictBuffers } : {})) {
      for (let i = start; i < end; i++) squares += (actual[i]! - predicted[i - start]!) ** 2;
      predictedBins.add(predicted);
    }
    out.push({
      ...counts,
      squaredErrorSum: squares,
      predicted: predictedBins.toData(),
      actual: BinnedSeries.forDurations(minDuration, maxDuration).add(actual).toData(),
    });
  }
  return out;
}
