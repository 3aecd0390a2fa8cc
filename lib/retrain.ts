/**
 * Retrain: the MLOps level-4 loop as one call. Monitor the newest month with the model an alias
 * serves; when it crosses a threshold, train a candidate on the months before it, score the
 * candidate and the served model on the newest month, and move the alias to the candidate only
 * when it does better. Every step is a run in the store: a `retrain` run whose `details.steps`
 * say what happened, with the `monitor` and `train` runs it made as its children.
 *
 * The candidate never sees the newest month while training (it is the validation month), so
 * the comparison on it is fair: both models meet it for the first time.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { rootMeanSquaredError } from './metrics.js';
import { monitorModel, readMonth, type MonitorProgress, type MonitorReport, type MonitorThresholds, type MonthSourceOptions } from './monitor.js';
import { monthsBefore } from './months.js';
import { train } from './pipeline.js';
import { predictTrips } from './predict.js';
import { checkAlias, loadModelRef, promote, readRegistry } from './registry.js';
import { defaultRunsDir, recordRun } from './runs.js';
import { parseMonth } from './source.js';

/** Options of {@link retrain}. */
export interface RetrainOptions extends MonthSourceOptions {
  /** The newest month, `YYYY-MM`: monitored, then the month both models are compared on. */
  month: string;
  /** The alias whose model is checked and maybe replaced. Default `production`. */
  alias?: string;
  /** Months of training data, those just before `month`: the candidate trains on all of them. Default 3. */
  window?: number;
  /** Train and compare even when the newest month crosses no threshold (a scheduled refresh). */
  force?: boolean;
  /** How much lower the candidate's RMSE must be, as a fraction of the served model's (0.01 = 1 % lower). Default 0: any improvement. */
  minImprovement?: number;
  /** Monitoring limits; missing fields take the defaults. */
  thresholds?: Partial<MonitorThresholds>;
  /** Runs store. Default `defaultRunsDir()`. */
  runsDir?: string;
  onProgress?: (event: MonitorProgress) => void;
}

/** One step of a retrain, as `details.steps` of its run records it. */
export interface RetrainStep {
  step: 'monitor' | 'train' | 'evaluate' | 'promote';
  /** The run the step made, when it made one. */
  runId?: string;
  /** What happened, in a line. */
  summary: string;
}

/** What a retrain did. */
export interface RetrainResult {
  /** The retrain run. */
  runId: string;
  month: string;
  alias: string;
  /** The model the alias served when the retrain began. */
  production: { runId: string; rmse: number };
  /** The newest month's monitoring. */
  monitor: { runId: string | null; flagged: boolean; flags: string[] };
  /** Months the candidate should train on (the window) and months it did train on (the window, when a candidate was trained). */
  window: string[];
  trainedOn: string[];
  /** The candidate, when one was trained. */
  candidate: { runId: string; rmse: number } | null;
  /** Whether the alias now points at the candidate. */
  promoted: boolean;
  /** The decision in a line. */
  decision: string;
  steps: RetrainStep[];
  /** True when the newest month crossed a threshold and the alias still serves the same model: a person should look. */
  needsAttention: boolean;
}

/**
 * Runs the monitor → train → evaluate → promote loop for the newest month (see the module).
 *
 * @throws Error (`retrain: ...`) for a bad month, alias or window, or an alias that points at no
 *   run yet (promote one first); errors of the steps pass through, and the retrain run is then
 *   recorded as failed.
 * @example
 * const r = await retrain({ month: '2024-07' });
 * console.log(r.decision); // 'promoted 2026…: RMSE 7.91 < 9.87 on 2024-07'
 */
export async function retrain(options: RetrainOptions): Promise<RetrainResult> {
  const month = parseMonth(options.month);
  const alias = checkAlias(options.alias ?? 'production');
  const windowSize = options.window ?? 3;
  if (!Number.isInteger(windowSize) || windowSize < 1 || windowSize > 120) throw new Error(`retrain: window must be a whole number of months from 1 to 120, got ${windowSize}`);
  const minImprovement = options.minImprovement ?? 0;
  if (!(minImprovement >= 0 && minImprovement < 1)) throw new Error(`retrain: minImprovement must be a fraction from 0 to below 1, got ${minImprovement}`);
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const served = (await readRegistry({ runsDir })).aliases[alias];
  if (served === undefined) {
    throw new Error(`retrain: no model is ${alias} yet in ${runsDir}; promote one first: taxi-duration promote RUN --alias ${alias}`);
  }
  const window = monthsBefore(month, windowSize);
  const progress = options.onProgress ?? (() => {});
  const source: MonthSourceOptions = {
    ...(options.color !== undefined ? { color: options.color } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    ...(options.synthetic ? { synthetic: true, syntheticRows: options.syntheticRows ?? 100_000 } : {}),
  };

  return recordRun(
    { runsDir, kind: 'retrain', params: { month, alias, window, force: options.force ?? false, minImprovement, thresholds: options.thresholds ?? {}, ...source } },
    async (run) => {
      const steps: RetrainStep[] = [];
      const step = async (s: RetrainStep) => {
        steps.push(s);
        run.record.details.steps = steps;
        progress({ message: `${s.step}: ${s.summary}` });
        await run.save();
      };

      // 1. Monitor the newest month with the served model.
      const report: MonitorReport = await monitorModel({
        ...source,
        model: served.runId,
        months: [month],
        runsDir,
        parentRunId: run.id,
        ...(options.thresholds !== undefined ? { thresholds: options.thresholds } : {}),
        onProgress: progress,
      });
      const monthReport = report.months[0]!;
      await step({ step: 'monitor', runId: report.runId!, summary: report.flagged ? `${month} crossed: ${monthReport.flags.join('; ')}` : `${month} is within the thresholds (RMSE ${monthReport.rmse.toFixed(3)})` });
      const result: RetrainResult = {
        runId: run.id,
        month,
        alias,
        production: { runId: served.runId, rmse: monthReport.rmse },
        monitor: { runId: report.runId, flagged: report.flagged, flags: monthReport.flags },
        window,
        trainedOn: [],
        candidate: null,
        promoted: false,
        decision: '',
        steps,
        needsAttention: false,
      };
      const finish = (decision: string, needsAttention: boolean) => {
        result.decision = decision;
        result.needsAttention = needsAttention;
        Object.assign(run.record.details, { decision, needsAttention, promoted: result.promoted, production: result.production, candidate: result.candidate, window, trainedOn: result.trainedOn });
        run.record.metrics.productionRmse = result.production.rmse;
        if (result.candidate !== null) run.record.metrics.candidateRmse = result.candidate.rmse;
        run.record.synthetic ||= report.synthetic;
        return result;
      };
      if (!report.flagged && !options.force) return finish(`nothing to do: ${alias} is within the thresholds on ${month}`, false);

      // 2. Train a candidate on the window, validated on the newest month.
      result.trainedOn = [...window];
      const outDir = join(runsDir, `.retrain-${run.id}`);
      let candidateRunId: string;
      try {
        const trained = await train({
          train: result.trainedOn,
          val: month,
          ...(options.color !== undefined ? { color: options.color } : {}),
          ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
          ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
          ...(options.synthetic ? { synthetic: true, syntheticRows: options.syntheticRows ?? 100_000 } : {}),
          outDir,
          runs: { dir: runsDir, parentRunId: run.id },
        });
        candidateRunId = trained.run!.id;
      } finally {
        await rm(outDir, { recursive: true, force: true }); // the train run keeps its own copies
      }
      await step({ step: 'train', runId: candidateRunId, summary: `candidate trained on ${result.trainedOn.join(', ')} (window ${window[0]}..${window.at(-1)})` });

      // 3. Both models on the newest month, read once, scored by the same function.
      const candidate = await loadModelRef(candidateRunId, { runsDir });
      const current = await loadModelRef(served.runId, { runsDir });
      const data = await readMonth(month, current, source, progress);
      const productionRmse = rootMeanSquaredError(data.clean.duration, predictTrips(current, data.clean.features).duration);
      const candidateRmse = rootMeanSquaredError(data.clean.duration, predictTrips(candidate, data.clean.features).duration);
      result.production.rmse = productionRmse;
      result.candidate = { runId: candidateRunId, rmse: candidateRmse };
      const better = candidateRmse < productionRmse * (1 - minImprovement);
      const comparison = `RMSE on ${month}: candidate ${candidateRmse.toFixed(3)}, ${alias} ${productionRmse.toFixed(3)}`;
      await step({ step: 'evaluate', summary: comparison });

      // 4. Promote only a better candidate.
      if (!better) {
        await step({ step: 'promote', summary: `not promoted: the candidate is not better${minImprovement > 0 ? ` by ${100 * minImprovement}%` : ''}` });
        return finish(`kept ${served.runId}: ${comparison}`, report.flagged);
      }
      await promote(candidateRunId, alias, { runsDir, reason: `retrain ${run.id}: ${comparison}` });
      result.promoted = true;
      await step({ step: 'promote', runId: candidateRunId, summary: `${alias} → ${candidateRunId}` });
      return finish(`promoted ${candidateRunId}: ${comparison}`, false);
    },
  );
}
