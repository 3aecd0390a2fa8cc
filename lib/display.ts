/**
 * Display: figures and tables out of Node, into a notebook cell or an HTML file.
 *
 * `showFigure` and `showTable` send one MIME bundle to the running tslab kernel;
 * `figureHtml` / `saveFigureHtml` write a standalone page; `tableHtml` renders a
 * danfojs frame (or anything frame-shaped) as a pandas-style table. plotly.js itself
 * never runs in Node (its bundle throws under `require`): we read it as text and
 * inline it into the HTML, once per kernel, so figures draw offline.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from './output.js';
import type { Figure } from './plots.js';

/** Options of `showFigure`. */
export interface ShowFigureOptions {
  /**
   * Inline plotly.js into this output. Default: only with the first figure shown by this
   * kernel process, so a notebook carries the 3.6 MB bundle once, not once per plot.
   */
  includePlotlyJs?: boolean;
  /** Where to send the MIME bundle; default the running tslab kernel. */
  display?: (bundle: MimeBundle) => void;
  /** Height in pixels of the HTML fallback's div; default 450. */
  height?: number;
}

/** A Jupyter MIME bundle: one representation per MIME type. */
export type MimeBundle = Record<string, unknown>;

/** The columns, index and row values of a danfojs DataFrame (or anything shaped like one). */
export interface FrameLike {
  columns: readonly string[];
  index: ArrayLike<string | number>;
  values: ArrayLike<unknown>;
}

/** Options of `tableHtml` and `showTable`. */
export interface TableOptions {
  /** Rows shown; longer frames show the first and last half with an ellipsis row (as pandas). Default 20. */
  maxRows?: number;
  /** Significant digits of non-integer numbers; default 6. */
  digits?: number;
  /** Where `showTable` sends the bundle; default the running tslab kernel. */
  display?: (bundle: MimeBundle) => void;
}

const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

let plotlyJsCache: string | undefined;

/**
 * The text of plotly.js (the `plotly.js-dist-min` bundle), for inlining into HTML.
 *
 * Read as a file, never `require`d: the UMD bundle needs a browser.
 *
 * @throws Error when `plotly.js-dist-min` is not installed.
 * @example
 * const js = plotlyJs(); // "/**\n* plotly.js v4.1.2 ..."
 */
export function plotlyJs(): string {
  if (plotlyJsCache === undefined) {
    let dir: string;
    try {
      dir = dirname(createRequire(import.meta.url).resolve('plotly.js-dist-min/package.json'));
    } catch {
      throw new Error("display: plotly.js-dist-min is not installed; run 'npm ci' in the project");
    }
    plotlyJsCache = readFileSync(join(dir, 'plotly.min.js'), 'utf8');
  }
  return plotlyJsCache;
}

/** JSON safe to put inside a <script> element (no `</script>` or `<!--` can end it early). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * A <script> element defining `window.Plotly`. The bundle runs inside a function whose
 * `define`, `module` and `exports` are undefined: classic Notebook and VS Code pages carry
 * require.js, and plotly's UMD header would otherwise register an AMD module instead of
 * setting `window.Plotly`.
 */
function plotlyScript(): string {
  const js = plotlyJs().replace(/<\/script/gi, '<\\/script');
  return `<script type="text/javascript">(function(define, module, exports) {\n${js}\n}).call(window);</script>`;
}

/** HTML that draws `figure` into a new div once `window.Plotly` exists (polling; gives up with a message). */
function figureDivHtml(figure: Figure, height: number): string {
  const id = `taxi-figure-${randomBytes(6).toString('hex')}`;
  const spec = scriptJson({ data: figure.data, layout: figure.layout, config: figure.config ?? {} });
  return `<div id="${id}" class="taxi-duration-figure" style="height:${height}px;width:100%"></div>
<script type="text/javascript">(function () {
  var fig = ${spec}, tries = 0;
  function draw() {
    var div = document.getElementById('${id}');
    if (!div) return;
    if (window.Plotly) { window.Plotly.newPlot(div, fig.data, fig.layout, fig.config); return; }
    if (++tries > 200) { div.textContent = 'plotly.js is not loaded: it comes with the first figure a kernel shows; restart the kernel and run all cells.'; return; }
    setTimeout(draw, 50);
  }
  draw();
})();</script>`;
}

/** One-line text for outputs where neither HTML nor plotly can render (a terminal, a plain log). */
function figureText(figure: Figure): string {
  const title = (figure.layout.title as { text?: string } | undefined)?.text;
  const names = figure.data.map((t) => t.name).filter((n) => n && !n.endsWith('(density)'));
  return `<plotly figure${title ? ` '${title}'` : ''}: ${figure.data.length} traces (${names.join(', ')})>`;
}

/**
 * The `display_data` sender of the running tslab kernel, or undefined outside one.
 *
 * Why the private hook: tslab's public `display.raw(type, content)` sends one MIME type
 * per output, and a figure needs several in one bundle (plotly JSON for frontends with a
 * plotly renderer, HTML with inlined plotly.js for those without, text for logs). tslab
 * 1.0 keeps the executing cell's sender in `lastWriteDisplayData`, exported from
 * `tslab/dist/jupyter.js` and set before each cell runs; we call that with a full bundle.
 * We find the module among those already loaded rather than importing tslab: the kernel
 * running the notebook has loaded it, and the library must not depend on tslab.
 *
 * What breaks if tslab changes: should a release rename or move that export (or stop
 * using CommonJS), this returns undefined and `showFigure` / `showTable` throw "needs a
 * running tslab kernel" inside a notebook. Nothing renders wrongly; the error says so, and
 * test/display.test.ts pins the contract against the installed tslab.
 */
function tslabDisplay(): ((bundle: MimeBundle) => void) | undefined {
  const cache = createRequire(import.meta.url).cache;
  for (const [key, mod] of Object.entries(cache)) {
    if (!TSLAB_JUPYTER.test(key)) continue;
    const send = (mod?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof send === 'function') {
      return (bundle) => send({ data: bundle, metadata: {}, transient: {} }, false);
    }
  }
  return undefined;
}

/** The path of tslab's Jupyter protocol module, whose `lastWriteDisplayData` we use. */
const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

function resolveDisplay(display: ((bundle: MimeBundle) => void) | undefined, what: string): (bundle: MimeBundle) => void {
  const send = display ?? tslabDisplay();
  if (!send) {
    throw new Error(
      `display: ${what} needs a running tslab kernel (a notebook cell); outside one, use ${
        what === 'showFigure' ? 'saveFigureHtml(figure, path)' : 'tableHtml(frame)'
      }`,
    );
  }
  return send;
}

let plotlyJsShown = false;
const plotlyJsShownTo = new WeakSet<object>();

/**
 * The MIME bundle `showFigure` sends: plotly JSON (JupyterLab with plotly's renderer,
 * VS Code, Codespaces), HTML drawing with inlined plotly.js (JupyterLab without the
 * renderer, nbconvert HTML exports) and a line of text.
 *
 * @example
 * const bundle = figureBundle(fig, { includePlotlyJs: false });
 * Object.keys(bundle); // ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']
 */
export function figureBundle(figure: Figure, options: { includePlotlyJs: boolean; height?: number }): MimeBundle {
  const html = (options.includePlotlyJs ? plotlyScript() + '\n' : '') + figureDivHtml(figure, options.height ?? 450);
  return {
    [PLOTLY_MIME]: { data: figure.data, layout: figure.layout, config: figure.config ?? {} },
    'text/html': html,
    'text/plain': figureText(figure),
  };
}

/**
 * Shows a figure as the output of the running notebook cell (tslab kernel).
 *
 * Works offline: plotly.js is inlined into the first figure this kernel shows (so a
 * notebook carries it once; "restart and run all" puts it back), and later figures
 * wait for it. JupyterLab with plotly's renderer and VS Code draw the plotly JSON
 * instead and ignore the HTML. In JupyterLab, HTML scripts run only in trusted
 * notebooks: those you executed yourself, or after `jupyter trust`.
 *
 * @throws Error outside a running tslab kernel (use `saveFigureHtml` there).
 * @example
 * showFigure(durationDistributionFigure({ actual: y, predicted: yPred }));
 */
export function showFigure(figure: Figure, options: ShowFigureOptions = {}): void {
  const send = resolveDisplay(options.display, 'showFigure');
  const shown = options.display ? plotlyJsShownTo.has(options.display) : plotlyJsShown;
  const include = options.includePlotlyJs ?? !shown;
  const bundle = figureBundle(figure, { includePlotlyJs: include, ...(options.height ? { height: options.height } : {}) });
  send(bundle);
  if (include) {
    if (options.display) plotlyJsShownTo.add(options.display);
    else plotlyJsShown = true;
  }
}

/** Escapes text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A standalone HTML page drawing the figure, with plotly.js inlined (opens offline).
 *
 * @example
 * const html = figureHtml(fig, { title: 'durations' }); // '<!doctype html>...'
 */
export function figureHtml(figure: Figure, options: { title?: string } = {}): string {
  const title = options.title ?? (figure.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
${plotlyScript()}
</head>
<body>
${figureDivHtml(figure, Number(figure.layout.height ?? 450))}
</body>
</html>
`;
}

/**
 * Writes the figure as a standalone HTML file (plotly.js inlined, works offline), atomically,
 * creating the parent folder if needed. Returns the path.
 *
 * @example
 * await saveFigureHtml(fig, 'build/duration.html');
 */
export async function saveFigureHtml(figure: Figure, path: string, options: { title?: string } = {}): Promise<string> {
  // Through the one output writer: a full disk or Ctrl-C never leaves half a page where a whole one was.
  await writeFileAtomic(path, figureHtml(figure, options), { what: 'the figure' });
  return path;
}

/** A cell value as text: non-integers to `digits` significant digits, dates as ISO, nullish as empty. */
function formatCell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));
  }
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$/, '');
  return String(value);
}

/** The rows to show: all, or the first and last halves of `maxRows` with a gap marker (-1). */
function shownRows(total: number, maxRows: number): number[] {
  if (total <= maxRows) return Array.from({ length: total }, (_, i) => i);
  const head = Math.ceil(maxRows / 2);
  const tail = Math.floor(maxRows / 2);
  return [...Array.from({ length: head }, (_, i) => i), -1, ...Array.from({ length: tail }, (_, i) => total - tail + i)];
}

function rowOf(frame: FrameLike, i: number): readonly unknown[] {
  const row = frame.values[i];
  // A one-column danfojs frame can hand back its values flat.
  return Array.isArray(row) ? row : [row];
}

/**
 * A danfojs DataFrame (or anything with `columns`, `index`, `values`) as an HTML table
 * in pandas' style (`class="dataframe"`, index in the first column, a shape line).
 *
 * Long frames show the first and last rows with an ellipsis row between; text is
 * HTML-escaped.
 *
 * @example
 * tableHtml(toDataFrame(trips, { head: 5 })); // '<table class="dataframe">...'
 */
export function tableHtml(frame: FrameLike, options: TableOptions = {}): string {
  const { maxRows = 20, digits = 6 } = options;
  const total = frame.values.length;
  const cols = frame.columns;
  const head = `<thead><tr style="text-align: right;"><th></th>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`;
  const body = shownRows(total, maxRows)
    .map((i) => {
      if (i < 0) return `<tr><th>…</th>${cols.map(() => '<td>…</td>').join('')}</tr>`;
      const cells = rowOf(frame, i).map((v) => `<td>${escapeHtml(formatCell(v, digits))}</td>`);
      return `<tr><th>${escapeHtml(String(frame.index[i]))}</th>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="taxi-duration-table"><table class="dataframe" border="1">
${head}
<tbody>
${body}
</tbody>
</table>
<p>${total} rows × ${cols.length} columns</p></div>`;
}

/** The same table as aligned plain text, for outputs without HTML. */
function tableText(frame: FrameLike, options: TableOptions): string {
  const { maxRows = 20, digits = 6 } = options;
  const rows = shownRows(frame.values.length, maxRows).map((i) =>
    i < 0 ? ['…', ...frame.columns.map(() => '…')] : [String(frame.index[i]), ...rowOf(frame, i).map((v) => formatCell(v, digits))],
  );
  const all = [['', ...frame.columns], ...rows];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => cell.padStart(widths[c]!)).join('  ')).join('\n');
}

/**
 * Shows a danfojs DataFrame as an HTML table in the running notebook cell (with a
 * plain-text copy for outputs without HTML).
 *
 * danfojs' own `print()` writes a box-drawn text table to stdout; this gives the
 * table notebooks show for pandas.
 *
 * @throws Error outside a running tslab kernel (use `tableHtml` there).
 * @example
 * showTable(toDataFrame(trips, { head: 5 }));
 */
export function showTable(frame: FrameLike, options: TableOptions = {}): void {
  const send = resolveDisplay(options.display, 'showTable');
  send({ 'text/html': tableHtml(frame, options), 'text/plain': tableText(frame, options) });
}
