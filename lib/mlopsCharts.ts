/**
 * Charts of the MLOps levels: RMSE across training runs (notebook 03), and the monitoring
 * report's charts, one per measure, with the standalone HTML page that holds them.
 *
 * Figures are plotly specs (data first, as lib/plots.ts): pure functions of runs and reports,
 * a few numbers per month or run. Showing and saving use lib/plots.ts's exported helpers.
 */
import { SYNTHETIC_NOTE } from './pipeline.js';
import { figureBundle, tableHtml } from './display.js';
import type { Figure, Trace } from './plots.js';
import type { MonitorReport, MonthReport } from './monitor.js';
import type { Run } from './runs.js';

const BLUE = '#1f77b4';
const ORANGE = '#ff7f0e';
const RED = '#d62728';
const GREY = '#7f7f7f';

/**
 * RMSE of each finished training run (validation and training), oldest first, with the runs
 * that hold an alias marked: the chart notebook 03 shows under the runs table.
 *
 * @throws Error (`mlopsCharts: ...`) when no finished training run is given.
 * @example
 * showFigure(runsRmseFigure(await listRuns({ kind: 'train' }), { aliases: await aliasesByRun() }));
 */
export function runsRmseFigure(runs: readonly Run[], options: { aliases?: Readonly<Record<string, readonly string[]>>; title?: string } = {}): Figure {
  const trained = runs.filter((r) => r.kind === 'train' && r.status === 'finished' && typeof r.metrics.rmseVal === 'number');
  if (trained.length === 0) throw new Error('mlopsCharts: no finished training run to chart; train one first (taxi-duration --synthetic)');
  const x = trained.map((r) => r.id);
  const hover = trained.map((r) => `${r.id}<br>train ${String(r.params.train)} → val ${String(r.params.val)}${r.synthetic ? '<br>SYNTHETIC DATA' : ''}`);
  const traces: Trace[] = [
    { type: 'scatter', mode: 'lines+markers', name: 'validation RMSE', x, y: trained.map((r) => round(r.metrics.rmseVal!)), text: hover, hoverinfo: 'text+y', line: { color: BLUE } },
    { type: 'scatter', mode: 'lines+markers', name: 'training RMSE', x, y: trained.map((r) => round(r.metrics.rmseTrain ?? NaN)), text: hover, hoverinfo: 'text+y', line: { color: ORANGE, dash: 'dot' } },
  ];
  const aliased = trained.filter((r) => (options.aliases?.[r.id]?.length ?? 0) > 0);
  if (aliased.length > 0) {
    traces.push({
      type: 'scatter',
      mode: 'markers+text',
      name: 'aliases',
      x: aliased.map((r) => r.id),
      y: aliased.map((r) => round(r.metrics.rmseVal!)),
      text: aliased.map((r) => options.aliases![r.id]!.join(', ')),
      textposition: 'top center',
      marker: { size: 14, color: 'rgba(0,0,0,0)', line: { color: RED, width: 2 } },
    });
  }
  const synthetic = trained.some((r) => r.synthetic);
  return {
    data: traces,
    layout: {
      title: { text: (options.title ?? 'RMSE across training runs') + (synthetic ? ' (SYNTHETIC DATA)' : '') },
      xaxis: { title: { text: 'run' }, type: 'category' },
      yaxis: { title: { text: 'RMSE (minutes)' }, rangemode: 'tozero' },
      height: 420,
    },
  };
}

/**
 * The monitoring report's charts, one per measure: RMSE, mean predicted vs actual duration,
 * unseen zones, PSI, Wasserstein distance. Months that crossed a threshold are drawn red;
 * limits are dashed lines.
 *
 * @example
 * for (const figure of monitorFigures(report)) showFigure(figure);
 */
export function monitorFigures(report: MonitorReport): Figure[] {
  const months = report.months.map((m) => m.month);
  const colors = report.months.map((m) => (m.flags.length > 0 ? RED : BLUE));
  const tag = report.synthetic ? ' (SYNTHETIC DATA)' : '';
  const t = report.thresholds;
  const ref = report.model.referenceRmse;
  const line = (name: string, y: (number | null)[], color: string, extra: Record<string, unknown> = {}): Trace => ({
    type: 'scatter', mode: 'lines+markers', name, x: months, y: y.map((v) => (v === null ? null : round(v))), line: { color }, ...extra,
  });
  const limit = (name: string, value: number): Trace => ({
    type: 'scatter', mode: 'lines', name, x: months, y: months.map(() => round(value)), line: { color: GREY, dash: 'dash' }, hoverinfo: 'name+y',
  });
  const figure = (title: string, yTitle: string, data: Trace[]): Figure => ({
    data,
    layout: { title: { text: title + tag }, xaxis: { title: { text: 'month' }, type: 'category' }, yaxis: { title: { text: yTitle }, rangemode: 'tozero' }, height: 360 },
  });
  const rmse: Trace[] = [{ type: 'bar', name: 'RMSE', x: months, y: report.months.map((m) => round(m.rmse)), marker: { color: colors } }];
  if (ref !== null) rmse.push(limit('validation RMSE at training', ref), limit(`limit (${t.rmseRatio} ×)`, t.rmseRatio * ref));
  if (t.rmse !== undefined) rmse.push(limit('limit (minutes)', t.rmse));
  const distance = (f: (m: MonthReport) => number | undefined) => report.months.map((m) => f(m) ?? null);
  const psi = [line('duration', report.months.map((m) => m.duration.psi), BLUE), line('distance', distance((m) => m.trip_distance?.psi), ORANGE), limit('limit', t.psi)];
  const wasserstein = [line('duration (minutes)', report.months.map((m) => m.duration.wasserstein), BLUE), line('distance (miles)', distance((m) => m.trip_distance?.wasserstein), ORANGE)];
  if (t.wassersteinDuration !== undefined) wasserstein.push(limit('limit, duration', t.wassersteinDuration));
  if (t.wassersteinDistance !== undefined) wasserstein.push(limit('limit, distance', t.wassersteinDistance));
  return [
    figure('RMSE per month', 'RMSE (minutes)', rmse),
    figure('Mean predicted vs mean actual duration', 'minutes', [
      line('predicted', report.months.map((m) => m.meanPredicted), BLUE),
      line('actual', report.months.map((m) => m.meanActual), ORANGE),
      limit('training mean', report.months[0]?.duration.trainingMean ?? NaN),
    ]),
    figure('Trips in zones unseen in training', 'share of trips (%)', [
      { type: 'bar', name: 'unseen', x: months, y: report.months.map((m) => round(100 * m.unseenShare)), marker: { color: colors } },
      limit('limit', 100 * t.unseenShare),
    ]),
    figure('Drift against training: population stability index', 'PSI', psi),
    figure('Drift against training: Wasserstein distance', 'distance', wasserstein),
  ];
}

/**
 * The monitoring report as one standalone HTML page (plotly.js inlined once, opens offline):
 * what was monitored, a table of the months, and {@link monitorFigures}. With `plotlySrc`,
 * the page loads plotly.js from that URL instead (the runs store's shared copy).
 *
 * @example
 * await writeFile('build/monitor.html', monitorReportHtml(report));
 */
export function monitorReportHtml(report: MonitorReport, options: { plotlySrc?: string } = {}): string {
  const m = report.model;
  const table = tableHtml(
    {
      columns: ['rows', 'RMSE', 'mean predicted', 'mean actual', 'unseen %', 'PSI duration', 'PSI distance', 'W duration', 'W distance', 'flags'],
      index: report.months.map((x) => x.month),
      values: report.months.map((x) => [
        x.rowsKept, x.rmse, x.meanPredicted, x.meanActual, 100 * x.unseenShare, x.duration.psi, x.trip_distance?.psi ?? null,
        x.duration.wasserstein, x.trip_distance?.wasserstein ?? null, x.flags.join('; '),
      ]),
    },
    { maxRows: 1000, digits: 4 },
  );
  const inline = options.plotlySrc === undefined;
  const figures = monitorFigures(report).map((f, i) => figureBundle(f, { includePlotlyJs: inline && i === 0, height: 360 })['text/html'] as string);
  const verdict = report.flagged ? `Thresholds crossed in ${report.flaggedMonths.join(', ')}.` : 'Every month is within the thresholds.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Model monitoring: ${escapeHtml(m.ref)}</title>
${inline ? '' : `<script src="${escapeHtml(options.plotlySrc!)}"></script>\n`}<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em} table.dataframe{border-collapse:collapse;font-size:0.9em} table.dataframe td,table.dataframe th{padding:0.2em 0.6em;text-align:right} .warn{color:${RED};font-weight:bold}</style>
</head>
<body>
<h1>Model monitoring: ${escapeHtml(m.ref)}</h1>
${report.synthetic ? `<p class="warn">${escapeHtml(SYNTHETIC_NOTE)}</p>\n` : ''}<p>Model ${escapeHtml(m.path)}${m.runId ? ` (run ${escapeHtml(m.runId)})` : ''}, trained on ${escapeHtml(m.trainedOn.join(', ') || 'unknown data')}; training profile from ${escapeHtml(report.profileSource)}.
Limits: PSI ${report.thresholds.psi}, RMSE ${report.thresholds.rmseRatio} × the validation RMSE at training${m.referenceRmse !== null ? ` (${round(m.referenceRmse)})` : ' (not recorded)'}, unseen zones ${100 * report.thresholds.unseenShare}%.</p>
<p class="${report.flagged ? 'warn' : ''}">${escapeHtml(verdict)}</p>
${table}
${figures.join('\n')}
<p>Made ${escapeHtml(report.createdAt)}${report.runId ? `, run ${escapeHtml(report.runId)}` : ''}.</p>
</body>
</html>
`;
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
