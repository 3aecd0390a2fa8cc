/**
 * `npm run test:browser`: opens an executed notebook in JupyterLab in a real (headless) browser
 * and checks that its plotly chart and data table render.
 *
 * Starts JupyterLab from .venv on 127.0.0.1 with a random token, drives Debian's chromium with
 * playwright-core (no browser download), and checks twice:
 *   - "renderer": with plotly's JupyterLab extension (the plotly JSON output is drawn);
 *   - "html":     with that extension disabled (the HTML fallback with inlined plotly.js is drawn);
 * then opens the nbconvert HTML export from disk (file://), which must draw offline too.
 * Requests leaving 127.0.0.1 are blocked and listed: everything must render offline.
 * Screenshots go to build/browser/.
 *
 *   npm run notebooks && npm run test:browser
 *   npm run test:browser -- --notebook build/notebooks/01-environment.ipynb
 *
 * Needs: bash environment/setup.sh; apt-get install -y chromium.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

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
    mode: { type: 'string', default: 'both' },
  },
});
const notebook = resolve(flags.notebook);
const timeoutMs = Number(flags.timeout) * 1000;
const jupyter = join(root, '.venv/bin/jupyter');
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} not found; install it with: apt-get update && apt-get install -y chromium`);
if (!existsSync(jupyter)) fail(".venv has no Jupyter; run 'bash environment/setup.sh'");
if (!existsSync(notebook)) fail(`${notebook} not found; run 'npm run notebooks' first (it writes the executed copies)`);
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
  name: 'renderer' | 'html';
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
];

/** Starts JupyterLab with its own config, settings and workspace folders (nothing of the user's leaks in). */
async function startLab(mode: Mode, work: string): Promise<{ url: string; token: string; lab: ChildProcess; log: string[] }> {
  const config = join(work, `config-${mode.name}`);
  const settings = join(work, `settings-${mode.name}`);
  await mkdir(join(config, 'labconfig'), { recursive: true });
  // No announcements pop-up (it would cover the page and tries to reach jupyter.org).
  const disabled = Object.fromEntries(['@jupyterlab/apputils-extension:announcements', ...mode.disabled].map((e) => [e, true]));
  await writeFile(join(config, 'labconfig/page_config.json'), JSON.stringify({ disabledExtensions: disabled }));
  // Render every cell, not only those in view (JupyterLab 4 virtualises long notebooks).
  await mkdir(join(settings, '@jupyterlab/notebook-extension'), { recursive: true });
  await writeFile(join(settings, '@jupyterlab/notebook-extension/tracker.jupyterlab-settings'), JSON.stringify({ windowingMode: 'none' }));
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
      env: { ...process.env, JUPYTER_CONFIG_DIR: config, JUPYTERLAB_SETTINGS_DIR: settings, JUPYTERLAB_WORKSPACES_DIR: join(work, `ws-${mode.name}`) },
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
// Sign the executed copy so JupyterLab treats its HTML outputs as trusted (runs their scripts), as it
// would for a notebook the user ran themselves.
execFileSync(jupyter, ['trust', notebook], { stdio: 'ignore' });
const work = await mkdtemp(join(tmpdir(), 'taxi-browser-'));
let failed = false;
const blocked: string[] = [];
try {
  for (const mode of MODES.filter((m) => flags.mode === 'both' || m.name === flags.mode)) {
    const { url, token, lab, log } = await startLab(mode, work);
    const context = await openBrowser(join(work, `profile-${mode.name}`), blocked);
    try {
      const errors = await checkLab(mode, context, url, token);
      if (errors.length) console.log(`  page errors (not fatal): ${errors.slice(0, 3).join(' | ')}`);
    } catch (error) {
      failed = true;
      console.error(`✘ JupyterLab (${mode.name}): ${(error as Error).message}`);
      const pages = context.pages();
      if (pages.length) await pages[pages.length - 1]!.screenshot({ path: join(shots, `${basename(notebook, '.ipynb')}-${mode.name}-FAILED.png`) }).catch(() => {});
      console.error(log.join('').split('\n').slice(-20).join('\n'));
    } finally {
      await context.close();
      lab.kill('SIGTERM');
      await new Promise((r) => lab.once('exit', r));
    }
  }
  const context = await openBrowser(join(work, 'profile-export'), blocked);
  try {
    await checkExport(context);
  } catch (error) {
    failed = true;
    console.error(`✘ HTML export: ${(error as Error).message}`);
  } finally {
    await context.close();
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
