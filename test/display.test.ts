import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { DataFrame } from 'danfojs';
import { describe, expect, it } from 'vitest';
import { distributionFigure, figureBundle, figureHtml, saveFigureHtml, showFigure, showTable, tableHtml, type MimeBundle } from '../lib/index.js';
import { durations } from './samples.js';

describe('showing and saving figures', () => {
  const fig = distributionFigure([{ name: 'duration', values: durations(500, 3) }], {
    bins: 10,
    title: '</script><script>alert("x")</script>',
  });

  /** Runs the HTML's scripts in a sandbox with a fake Plotly, returning what newPlot received. */
  function draw(html: string, withPlotly: boolean): { plotted: unknown[][]; window: Record<string, unknown> } {
    const plotted: unknown[][] = [];
    const div = { textContent: '' };
    const window: Record<string, unknown> = {};
    if (withPlotly) window.Plotly = { newPlot: (...args: unknown[]) => plotted.push(args) };
    const document = { getElementById: () => div };
    const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    for (const code of scripts) {
      if (code.startsWith('(function(define')) continue; // the plotly.js bundle itself needs a real browser
      runInNewContext(code, { window, document, setTimeout: () => undefined });
    }
    return { plotted, window };
  }

  it('sends plotly JSON, HTML and text, with plotly.js inlined only into the first figure', () => {
    const sent: MimeBundle[] = [];
    const display = (b: MimeBundle) => sent.push(b);
    showFigure(fig, { display });
    showFigure(fig, { display });
    expect(sent.map((b) => Object.keys(b))).toEqual([
      ['application/vnd.plotly.v1+json', 'text/html', 'text/plain'],
      ['application/vnd.plotly.v1+json', 'text/html', 'text/plain'],
    ]);
    const [first, second] = sent.map((b) => b['text/html'] as string) as [string, string];
    expect(first).toContain('plotly.js v');
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(second).not.toContain('plotly.js v');
    expect(second.length).toBeLessThan(20_000);
    expect(sent[0]!['application/vnd.plotly.v1+json']).toEqual({ data: fig.data, layout: fig.layout, config: fig.config });
    expect(sent[0]!['text/plain']).toBe(`<plotly figure '${'</script><script>alert("x")</script>'}': 2 traces (duration)>`);
  });

  it('draws the figure from the HTML once plotly.js is there, and the title cannot end the script', () => {
    const html = figureBundle(fig, { includePlotlyJs: false })['text/html'] as string;
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    const { plotted } = draw(html, true);
    expect(plotted).toHaveLength(1);
    const [, data, layout] = plotted[0]!;
    expect(JSON.parse(JSON.stringify(data))).toEqual(fig.data);
    expect((layout as { title: { text: string } }).title.text).toBe('</script><script>alert("x")</script>');
    expect(draw(html, false).plotted).toHaveLength(0);
  });

  it('throws outside a kernel, naming the alternative', () => {
    expect(() => showFigure(fig)).toThrow('display: showFigure needs a running tslab kernel (a notebook cell); outside one, use saveFigureHtml(figure, path)');
  });

  it('saves a standalone HTML page with plotly.js inlined once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plots-'));
    try {
      const path = await saveFigureHtml(fig, join(dir, 'sub', 'fig.html'));
      const html = await readFile(path, 'utf8');
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html.match(/plotly\.js v\d/g)).toHaveLength(1);
      expect(html).toContain('<title>&#60;/script&#62;&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</title>');
      expect(html).toBe(figureHtml(fig).replace(/taxi-figure-[0-9a-f]+/g, html.match(/taxi-figure-[0-9a-f]+/)![0]));
      expect(draw(html, true).plotted).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('tables', () => {
  const df = new DataFrame({
    PULocationID: [161, 237, 48],
    trip_distance: [1.2, 17.625431, 0.3333333333],
    store_and_fwd_flag: ['N', '<Y>', 'N'],
  });

  it('renders a danfojs frame as an escaped pandas-style HTML table', () => {
    const html = tableHtml(df);
    expect(html).toContain('<table class="dataframe"');
    expect(html).toContain('<th>PULocationID</th><th>trip_distance</th><th>store_and_fwd_flag</th>');
    expect(html).toContain('<tr><th>1</th><td>237</td><td>17.6254</td><td>&#60;Y&#62;</td></tr>');
    expect(html).toContain('<p>3 rows × 3 columns</p>');
  });

  it('shows the first and last rows of a long frame with an ellipsis row', () => {
    const long = new DataFrame({ i: Array.from({ length: 100 }, (_, i) => i * 10) });
    const html = tableHtml(long, { maxRows: 4 });
    const rows = [...html.matchAll(/<tr><th>([^<]*)<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([
      ['0', '0'],
      ['1', '10'],
      ['…', '…'],
      ['98', '980'],
      ['99', '990'],
    ]);
    expect(html).toContain('<p>100 rows × 1 columns</p>');
  });

  it('sends HTML and aligned text to the notebook', () => {
    const sent: MimeBundle[] = [];
    showTable(df, { display: (b) => sent.push(b) });
    expect(Object.keys(sent[0]!)).toEqual(['text/html', 'text/plain']);
    expect((sent[0]!['text/plain'] as string).split('\n')).toEqual([
      '   PULocationID  trip_distance  store_and_fwd_flag',
      '0           161            1.2                   N',
      '1           237        17.6254                 <Y>',
      '2            48       0.333333                   N',
    ]);
    expect(() => showTable(df)).toThrow('display: showTable needs a running tslab kernel (a notebook cell); outside one, use tableHtml(frame)');
  });
});

describe("tslab's display hook (lastWriteDisplayData), pinned against the installed tslab", () => {
  it('sends the whole bundle through the sender tslab keeps for the running cell', () => {
    // What the kernel does before each cell: tslab/dist/jupyter.js sets its exported
    // lastWriteDisplayData to the cell's display_data writer. If a tslab release renames or
    // moves it, this test fails, and so would every figure in the notebooks.
    const jupyter = createRequire(import.meta.url)('tslab/dist/jupyter.js') as { lastWriteDisplayData: unknown };
    expect(Object.keys(jupyter)).toContain('lastWriteDisplayData');
    const sent: unknown[] = [];
    jupyter.lastWriteDisplayData = (data: unknown, update: boolean) => sent.push([data, update]);
    try {
      const fig = distributionFigure([{ name: 'duration', values: durations(200, 9) }], { bins: 5 });
      showFigure(fig, { includePlotlyJs: false });
      showTable({ columns: ['a'], index: [0], values: [[1]] });
    } finally {
      jupyter.lastWriteDisplayData = null;
    }
    expect(sent).toHaveLength(2);
    const [[figure, update], [table]] = sent as [[{ data: MimeBundle; metadata: object; transient: object }, boolean], [{ data: MimeBundle }]];
    expect(update).toBe(false);
    expect(Object.keys(figure.data)).toEqual(['application/vnd.plotly.v1+json', 'text/html', 'text/plain']);
    expect(figure).toMatchObject({ metadata: {}, transient: {} });
    expect(Object.keys(table.data)).toEqual(['text/html', 'text/plain']);
  });
});
