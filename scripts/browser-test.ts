/**
 * `npm run test:browser`: the notebooks in JupyterLab in a real (headless) browser, as a learner uses them.
 *
 * Starts JupyterLab from .venv on 127.0.0.1 with a random token, drives Debian's chromium with
 * playwright-core (no browser download), and checks:
 *   - "renderer": an executed notebook with plotly's JupyterLab extension (the plotly JSON output is drawn);
 *   - "html":     the same with that extension disabled (the HTML fallback with inlined plotly.js is drawn);
 *   - "edit":     what a learner does: opens notebooks/02-duration-prediction.ipynb, edits lines of its
 *                 parameters cell (green taxis, 1 to 30 minutes, a local mirror as baseUrl, a fresh cache),
 *                 runs all cells, and checks that the run reaches the last cell with no error, and that the
 *                 validation month's predicted-vs-actual chart keeps its x axis on the bulk of the data
 *                 although that month holds 300,000-mile trips (their predictions are counted in a note).
 *                 The kernel gets no TAXI_* or TLC_BASE_URL variables: only the edits can make it work.
 *                 Autosave is off, and the notebook file is checked to be unchanged afterwards.
 *                 Then the learner offline: notebook 1 with a base URL where nothing answers must stop
 *                 at its data cell with the library's one-line message and no Node stack;
 * then opens the nbconvert HTML export from disk (file://), which must draw offline too.
 * Requests leaving 127.0.0.1 are blocked and listed: everything must render offline.
 * Screenshots go to build/browser/.
 *
 *   npm run notebooks && npm run test:browser
 *   npm run test:browser -- --notebook build/notebooks/01-environment.ipynb --mode renderer
 *   npm run test:browser -- --mode edit
 *
 * Needs: bash environment/setup.sh; apt-get install -y chromium.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { DistributionMeta } from '../lib/plots.ts';
import { serveTrips, writeServedMonths } from './trip-server.ts';

const root = resolve(import.meta.dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const shots = join(root, 'build/browser');

function fail(message: string): never {
  console.error(`browser-test: ${message}`);
  process.exit(2);
}

const { values: flags } = parseArgs({
  options: {
    notebook: { type: 'string', default: join(root, 'build/notebooks/02-duration-prediction.ipynb') },
    timeout: { type: 'string', default: '120' },
    mode: { type: 'string', default: 'all' },
  },
});
const notebook = resolve(flags.notebook);
const timeoutMs = Number(flags.timeout) * 1000;
const jupyter = join(root, '.venv/bin/jupyter');
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} not found; install it with: apt-get update && apt-get install -y chromium`);
if (!existsSync(jupyter)) fail(".venv has no Jupyter; run 'bash environment/setup.sh'");
if (flags.mode !== 'edit' && !existsSync(notebook)) fail(`${notebook} not found; run 'npm run notebooks' first (it writes the executed copies)`);
if (!notebook.startsWith(root + '/')) fail(`the notebook must be inside the project (${root}), got ${notebook}`);

function freePort(): Promise<number> {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.on('error', ko);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`browser-test: timed out after ${ms / 1000} s waiting for ${what}`);
}

interface Mode {
  name: 'renderer' | 'html' | 'edit';
  /** Selector of a drawn chart: the output element of the plotly renderer, or our HTML figure's div. */
  chart: string;
  /** Lab extensions disabled in this mode. */
  disabled: string[];
}

const MODES: Mode[] = [
  { name: 'renderer', chart: '.jp-OutputArea-output.jp-RenderedPlotly.js-plotly-plot', disabled: [] },
  {
    name: 'html',
    chart: '.jp-OutputArea-output[data-mime-type="text/html"] .taxi-duration-figure.js-plotly-plot',
    // The package's mime renderer has a plugin id outside its package name: disable both.
    disabled: ['jupyterlab-plotly', '@jupyterlab/plotly-extension:factory'],
  },
  { name: 'edit', chart: '.jp-OutputArea-output.jp-RenderedPlotly.js-plotly-plot', disabled: [] },
];
if (!['all', 'both', ...MODES.map((m) => m.name)].includes(flags.mode)) fail(`--mode must be all, renderer, html or edit, got '${flags.mode}'`);
const runs = (name: Mode['name']) => flags.mode === 'all' || flags.mode === name || (flags.mode === 'both' && name !== 'edit');

/** Starts JupyterLab with its own config, settings and workspace folders (nothing of the user's leaks in). */
async function startLab(mode: Mode, work: string, env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; token: string; lab: ChildProcess; log: string[] }> {
  const config = join(work, `config-${mode.name}`);
  const settings = join(work, `settings-${mode.name}`);
  await mkdir(join(config, 'labconfig'), { recursive: true });
  // No announcements pop-up (it would cover the page and tries to reach jupyter.org).
  const disabled = Object.fromEntries(['@jupyterlab/apputils-extension:announcements', ...mode.disabled].map((e) => [e, true]));
  await writeFile(join(config, 'labconfig/page_config.json'), JSON.stringify({ disabledExtensions: disabled }));
  // Render every cell, not only those in view (JupyterLab 4 virtualises long notebooks).
  await mkdir(join(settings, '@jupyterlab/notebook-extension'), { recursive: true });
  await writeFile(join(settings, '@jupyterlab/notebook-extension/tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
  // Never save: the edit scenario opens the committed notebook, which must keep no outputs.
  await mkdir(join(settings, '@jupyterlab/docmanager-extension'), { recursive: true });
  await writeFile(join(settings, '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings'), JSON.stringify({ autosave: false }));
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const log: string[] = [];
  const lab = spawn(
    jupyter,
    [
      'lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${root}`, '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
      // CI containers run as root, which Jupyter refuses without this flag.
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      env: { ...env, JUPYTER_CONFIG_DIR: config, JUPYTERLAB_SETTINGS_DIR: settings, JUPYTERLAB_WORKSPACES_DIR: join(work, `ws-${mode.name}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  for (const stream of [lab.stdout!, lab.stderr!]) stream.on('data', (d: Buffer) => log.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => lab.exitCode === null && (await fetch(`${url}/api/status?token=${token}`)).ok, 'JupyterLab to start', 60_000);
  } catch (error) {
    lab.kill('SIGTERM');
    throw new Error(`${(error as Error).message}; its log ends:\n${log.join('').split('\n').slice(-15).join('\n')}`);
  }
  return { url, token, lab, log };
}

/** A fresh headless chromium profile; requests leaving 127.0.0.1 (or file://) are aborted and recorded. */
async function openBrowser(profile: string, blocked: string[]): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(https?:\/\/127\.0\.0\.1[:/]|file:|data:|blob:)/.test(url)) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  return context;
}

async function count(page: Page, selector: string): Promise<number> {
  return page.locator(selector).count();
}

async function checkLab(mode: Mode, context: BrowserContext, url: string, token: string): Promise<string[]> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const path = relative(root, notebook).split('/').map(encodeURIComponent).join('/');
  await page.goto(`${url}/lab/tree/${path}?token=${token}`, { timeout: timeoutMs });
  const chart = `${mode.chart} .main-svg`;
  await page.locator(chart).first().waitFor({ state: 'attached', timeout: timeoutMs });
  const table = '.jp-OutputArea-output[data-mime-type="text/html"] table.dataframe';
  await page.locator(table).first().waitFor({ state: 'attached', timeout: timeoutMs });
  // The chart has drawn its bars, and the table its rows, not just empty frames.
  await waitFor(async () => (await count(page, `${mode.chart} .barlayer .point`)) > 0, 'plotly bars', 30_000);
  const figures = await count(page, mode.chart);
  const rows = await count(page, `${table} tbody tr`);
  if (rows < 1) throw new Error('browser-test: the data table has no rows');
  await page.locator(chart).first().scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, `${basename(notebook, '.ipynb')}-${mode.name}.png`) });
  await page.locator(table).first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, `${basename(notebook, '.ipynb')}-${mode.name}-table.png`) });
  // The course's chart, when the notebook has it: predicted against actual durations.
  const course = page.locator(mode.chart).filter({ hasText: 'Predicted vs actual' }).first();
  if ((await course.count()) > 0) {
    await course.scrollIntoViewIfNeeded();
    await course.screenshot({ path: join(shots, `${basename(notebook, '.ipynb')}-${mode.name}-predicted-vs-actual.png`) });
  }
  console.log(`✔ JupyterLab (${mode.name}): ${figures} plotly charts drawn, table with ${rows} rows`);
  await page.close();
  return errors;
}

/** Replaces the text of the line of `cell` that contains `find`, as a learner does: click, End, Shift+Home, type. */
async function editLine(page: Page, cell: Locator, find: string, text: string): Promise<void> {
  await cell.locator('.cm-line', { hasText: find }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.type(text);
}

/** The chart's drawn x range and its note of what lies outside (plotly keeps both on the element). */
async function chartState(chart: Locator): Promise<{ range: [number, number]; meta: DistributionMeta }> {
  return chart.evaluate((el) => {
    const plot = el as unknown as { _fullLayout: { xaxis: { range: [number, number] } }; layout: { meta: unknown } };
    return { range: plot._fullLayout.xaxis.range, meta: plot.layout.meta as DistributionMeta };
  });
}

/**
 * The learner's scenario: edit the parameters cell of notebook 2, run all, reach the end; the
 * validation chart stays on the bulk of a month with absurd distances. Returns page errors.
 */
async function editAndRerun(mode: Mode, context: BrowserContext, url: string, token: string, base: string, work: string): Promise<string[]> {
  const path = 'notebooks/02-duration-prediction.ipynb';
  const file = join(root, path);
  const digest = () => createHash('sha256').update(readFileSync(file)).digest('hex');
  const before = digest();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/lab/tree/${path}?token=${token}`, { timeout: timeoutMs });
  const params = page.locator('.jp-Notebook .jp-CodeCell').first();
  await params.locator('.cm-line', { hasText: 'maxDuration:' }).waitFor({ timeout: timeoutMs });
  // The kernel must be up before Run All, or JupyterLab asks which kernel to use.
  await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor({ state: 'attached', timeout: timeoutMs });
  const maxDuration = 30;
  await editLine(page, params, "color: 'yellow'", "color: 'green',");
  await editLine(page, params, 'maxDuration:', `maxDuration: ${maxDuration},`);
  await editLine(page, params, 'baseUrl:', `baseUrl: '${base}',`);
  await editLine(page, params, 'cacheDir:', `cacheDir: '${join(work, 'edit-cache')}',`);
  await editLine(page, params, 'modelPath:', `modelPath: '${join(work, 'edit-models/lin_reg.json')}',`);
  await params.screenshot({ path: join(shots, 'edit-parameters.png') });

  const started = Date.now();
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  // Done when every code cell shows an execution count (none queued as [*] or left blank).
  const prompts = page.locator('.jp-Notebook .jp-CodeCell .jp-InputPrompt');
  await waitFor(async () => {
    const texts = await prompts.allInnerTexts();
    return texts.length > 0 && texts.every((t) => /\[\d+\]/.test(t));
  }, 'every cell of the edited notebook to run', timeoutMs);
  const seconds = (Date.now() - started) / 1000;
  const stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  if ((await stderr.count()) > 0) {
    await stderr.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'edit-FAILED.png') });
    throw new Error(`browser-test: the edited notebook printed an error: ${(await stderr.first().innerText()).slice(0, 500)}`);
  }
  const homework = page.locator('.jp-OutputArea-output table.dataframe', { hasText: 'RMSE on the validation month' });
  if ((await homework.count()) !== 1) throw new Error("browser-test: the edited notebook's last table (the homework's numbers) is missing");
  const overrides = page.locator('.jp-OutputArea-output', { hasText: 'replaces' });
  if ((await overrides.count()) > 0) throw new Error('browser-test: an environment variable replaced an edited parameter; the kernel should have none');

  const chart = page.locator(mode.chart).filter({ hasText: '(validation)' }).first();
  await chart.scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await chart.screenshot({ path: join(shots, 'edit-predicted-vs-actual-validation.png') });
  const { range, meta } = await chartState(chart);
  const prediction = meta.outside.find((o) => o.name === 'prediction');
  // The month's absurd distances give predictions far past the filter; the axis must not follow them.
  if (!prediction || prediction.max < 10 * maxDuration) {
    throw new Error(`browser-test: the validation month has no far-off prediction (largest ${prediction?.max}); the served green month should carry huge distances`);
  }
  if (!(range[1] <= 2 * maxDuration && range[0] >= -maxDuration)) {
    throw new Error(`browser-test: the validation chart's x axis runs ${range[0]}..${range[1]} minutes, not on the bulk of durations of 1..${maxDuration}`);
  }
  await homework.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'edit-homework.png') });
  console.log(
    `✔ JupyterLab (edit): parameters edited, run all reached the end in ${seconds.toFixed(0)} s; validation chart x axis ` +
      `${range[0].toFixed(1)}..${range[1].toFixed(1)} min, ${prediction.above} predictions above it (up to ${Math.round(prediction.max).toLocaleString('en-US')})`,
  );
  await page.close();
  if (digest() !== before) throw new Error(`browser-test: ${path} changed on disk; the scenario must not save it`);
  return errors;
}

/**
 * The learner offline: notebook 1 with `baseUrl` pointing where nothing answers and an empty
 * cache. Run all must stop at the data cell, showing the library's one-line message (which
 * says what to do) and no Node stack.
 */
async function offlineMessage(context: BrowserContext, url: string, token: string, work: string): Promise<void> {
  const path = 'notebooks/01-environment.ipynb';
  const page = await context.newPage();
  // A workspace of its own, so JupyterLab does not reopen the previous scenario's notebook beside it.
  await page.goto(`${url}/lab/workspaces/offline/tree/${path}?token=${token}&reset`, { timeout: timeoutMs });
  const notebookPanel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const params = notebookPanel.locator('.jp-Notebook .jp-CodeCell').first();
  await params.locator('.cm-line', { hasText: 'baseUrl:' }).waitFor({ timeout: timeoutMs });
  await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor({ state: 'attached', timeout: timeoutMs });
  // Port 9 (discard) on 127.0.0.1: nothing listens, the connection is refused at once.
  await editLine(page, params, 'baseUrl:', "baseUrl: 'http://127.0.0.1:9/trip-data',");
  await editLine(page, params, 'cacheDir:', `cacheDir: '${join(work, 'offline-cache')}',`);
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  const stderr = notebookPanel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
  const prompts = notebookPanel.locator('.jp-Notebook .jp-CodeCell .jp-InputPrompt');
  await waitFor(async () => (await stderr.count()) > 0 && !(await prompts.allInnerTexts()).some((t) => t.includes('*')), 'the offline run to stop', timeoutMs);
  const shown = (await stderr.allInnerTexts()).join('\n').trim();
  await stderr.first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'offline-message.png') });
  // The message may run over several lines (the fixes); a stack would add '    at ...' lines.
  if (!/^source: [^]*127\.0\.0\.1:9/.test(shown) || /^\s+at /m.test(shown) || shown.includes('node:internal')) {
    throw new Error(`browser-test: offline, the failing cell should show the library's message alone, not a stack; it shows:\n${shown.slice(0, 800)}`);
  }
  if ((await stderr.count()) !== 1) throw new Error(`browser-test: offline, ${await stderr.count()} cells show errors; the run should stop at the first`);
  console.log(`✔ JupyterLab (offline): run all stops at the data with one message: ${shown.split('\n')[0]!.slice(0, 140)}…`);
  await page.close();
}

async function checkExport(context: BrowserContext): Promise<void> {
  const html = notebook.replace(/\.ipynb$/, '.html');
  if (!existsSync(html)) {
    console.log(`- no HTML export at ${html} (npm run notebooks writes it); skipped`);
    return;
  }
  const page = await context.newPage();
  await page.goto(pathToFileURL(html).href, { timeout: timeoutMs });
  await page.locator('.js-plotly-plot .main-svg').first().waitFor({ state: 'attached', timeout: timeoutMs });
  const figures = await count(page, '.js-plotly-plot');
  await page.locator('.js-plotly-plot').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, `${basename(notebook, '.ipynb')}-export.png`) });
  console.log(`✔ HTML export: ${figures} plotly charts drawn from file:// with no network`);
  await page.close();
}

await mkdir(shots, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'taxi-browser-'));
let failed = false;
const blocked: string[] = [];
try {
  for (const mode of MODES.filter((m) => runs(m.name))) {
    let server: Awaited<ReturnType<typeof serveTrips>> | undefined;
    let env: NodeJS.ProcessEnv = process.env;
    if (mode.name === 'edit') {
      // Green months from a local mirror; the kernel sees no TAXI_* / TLC_BASE_URL, so only the edits count.
      await mkdir(join(work, 'mirror'));
      await writeServedMonths(join(work, 'mirror'), 100_000, ['green']);
      server = await serveTrips(join(work, 'mirror'));
      env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAXI_') && k !== 'TLC_BASE_URL'));
    } else {
      // Sign the executed copy so JupyterLab treats its HTML outputs as trusted (runs their scripts), as it
      // would for a notebook the user ran themselves.
      execFileSync(jupyter, ['trust', notebook], { stdio: 'ignore' });
    }
    const { url, token, lab, log } = await startLab(mode, work, env);
    const context = await openBrowser(join(work, `profile-${mode.name}`), blocked);
    try {
      const errors = mode.name === 'edit' ? await editAndRerun(mode, context, url, token, server!.base, work) : await checkLab(mode, context, url, token);
      if (mode.name === 'edit') await offlineMessage(context, url, token, work);
      if (errors.length) console.log(`  page errors (not fatal): ${errors.slice(0, 3).join(' | ')}`);
    } catch (error) {
      failed = true;
      console.error(`✘ JupyterLab (${mode.name}): ${(error as Error).message}`);
      const pages = context.pages();
      if (pages.length) await pages[pages.length - 1]!.screenshot({ path: join(shots, `${mode.name === 'edit' ? 'edit' : basename(notebook, '.ipynb')}-${mode.name}-FAILED.png`) }).catch(() => {});
      console.error(log.join('').split('\n').slice(-20).join('\n'));
    } finally {
      await context.close();
      lab.kill('SIGTERM');
      await new Promise((r) => lab.once('exit', r));
      await server?.close();
    }
  }
  if (runs('renderer') || runs('html')) {
    const context = await openBrowser(join(work, 'profile-export'), blocked);
    try {
      await checkExport(context);
    } catch (error) {
      failed = true;
      console.error(`✘ HTML export: ${(error as Error).message}`);
    } finally {
      await context.close();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
if (blocked.length) console.log(`blocked ${blocked.length} requests leaving 127.0.0.1: ${[...new Set(blocked)].slice(0, 5).join(', ')}`);
console.log(`screenshots in ${relative(root, shots)}/`);
if (failed) {
  console.error('browser-test: failed');
  process.exitCode = 1;
}
