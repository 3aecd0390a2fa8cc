/**
 * `npm run doctor`: reports what the notebooks need and what is missing, with the fix for each.
 *
 * Checks Node, the npm install, the built library, the Jupyter virtual environment, the
 * registered tslab kernel and the data cache. Exits 1 when a required piece is missing;
 * warnings (no cached data yet, no browser for the browser test) do not fail.
 *
 *   npm run doctor            # human-readable report
 *   npm run doctor -- --json  # the same as JSON
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { libBuildState } from './lib-build.mjs';

/** One finding: what was checked, how it stands, and how to fix it. */
export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** The command or step that fixes it (empty when ok). */
  fix: string;
}

const SETUP = 'bash environment/setup.sh';

/** Node's version against the engines field (>= 20.19: the ESM-only dependencies need it). */
export function checkNode(version = process.versions.node): Check {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return {
    name: 'Node',
    status: ok ? 'ok' : 'fail',
    detail: `v${version}${ok ? '' : ' (need 20.19 or newer)'}`,
    fix: ok ? '' : 'install Node 22 LTS (e.g. nvm install 22), then npm ci',
  };
}

/** node_modules (with the project's own tslab) and the built library. */
export function checkPackages(root: string): Check[] {
  const tslab = join(root, 'node_modules/.bin/tslab');
  const installed: Check = existsSync(tslab)
    ? { name: 'npm packages', status: 'ok', detail: 'node_modules with tslab', fix: '' }
    : { name: 'npm packages', status: 'fail', detail: `${tslab} is missing`, fix: 'npm ci' };
  let built: Check;
  const state = libBuildState(root);
  if (state === 'missing') {
    built = { name: 'library build', status: 'fail', detail: 'lib/dist is missing (notebooks import the built package)', fix: 'npm run build' };
  } else if (state === 'stale') {
    built = { name: 'library build', status: 'warn', detail: 'lib/*.ts changed after the last build; notebooks would use the old code', fix: 'npm run build' };
  } else {
    built = { name: 'library build', status: 'ok', detail: 'lib/dist is up to date', fix: '' };
  }
  return [installed, built];
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch {
    return undefined;
  }
}

/** Jupyter in .venv, plotly's JupyterLab renderer, and the tslab kernel registered there. */
export function checkJupyter(root: string): Check[] {
  const venv = join(root, '.venv');
  const python = join(venv, 'bin/python');
  if (!existsSync(python)) {
    return [{ name: 'Jupyter', status: 'fail', detail: '.venv is missing', fix: SETUP }];
  }
  const versions = run(python, ['-c', 'import jupyterlab, nbclient; print(jupyterlab.__version__, nbclient.__version__)']);
  const checks: Check[] = [
    versions
      ? { name: 'Jupyter', status: 'ok', detail: `JupyterLab ${versions.trim().replace(' ', ', nbclient ')} in .venv`, fix: '' }
      : { name: 'Jupyter', status: 'fail', detail: 'JupyterLab or nbclient is not importable from .venv', fix: SETUP },
  ];
  const plotly = existsSync(join(venv, 'share/jupyter/labextensions/jupyterlab-plotly'));
  checks.push(
    plotly
      ? { name: 'plotly renderer', status: 'ok', detail: "JupyterLab's plotly extension is installed", fix: '' }
      : {
          name: 'plotly renderer',
          status: 'warn',
          detail: 'no plotly extension in .venv: figures fall back to HTML (needs a trusted notebook)',
          fix: `.venv/bin/pip install plotly  (or ${SETUP})`,
        },
  );
  checks.push(checkLabStart(root));
  const expected = join(root, 'node_modules/.bin/tslab');
  const listed = run(join(venv, 'bin/jupyter'), ['kernelspec', 'list', '--json']);
  const spec = listed ? (JSON.parse(listed) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }> }).kernelspecs.tslab : undefined;
  if (!spec) {
    checks.push({ name: 'tslab kernel', status: 'fail', detail: "no kernel named 'tslab' in .venv's Jupyter", fix: SETUP });
  } else if (spec.spec.argv[0] !== expected) {
    checks.push({
      name: 'tslab kernel',
      status: 'fail',
      detail: `'tslab' resolves to ${spec.resource_dir} running ${spec.spec.argv[0]}, not this project's ${expected}`,
      fix: `${SETUP}  (and remove the other kernel: jupyter kernelspec remove tslab, if it is a user-level one)`,
    });
  } else if (!existsSync(expected)) {
    checks.push({ name: 'tslab kernel', status: 'fail', detail: `registered, but ${expected} is missing`, fix: 'npm ci' });
  } else {
    checks.push({ name: 'tslab kernel', status: 'ok', detail: `'tslab' runs ${expected}`, fix: '' });
  }
  return checks;
}

/**
 * What makes `jupyter lab` start cleanly and serve the project (environment/setup.sh, step 6):
 * `.venv/package.json` declaring CommonJS (JupyterLab's own Node scripts fail under the project's
 * `"type": "module"` otherwise), and the environment's server config rooting JupyterLab at the
 * project, where the notebooks' `../` links resolve.
 */
export function checkLabStart(root: string): Check {
  const venv = join(root, '.venv');
  const read = (path: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const problems: string[] = [];
  if (read(join(venv, 'package.json'))?.type !== 'commonjs') {
    problems.push('.venv/package.json is missing, so jupyter lab prints Node errors at every start');
  }
  const server = read(join(venv, 'etc/jupyter/jupyter_server_config.json'))?.ServerApp as { root_dir?: string } | undefined;
  if (server?.root_dir !== root) {
    problems.push(`JupyterLab is not rooted at ${root}, so the notebooks' ../ links depend on where it is started`);
  }
  return problems.length === 0
    ? { name: 'JupyterLab start', status: 'ok', detail: `clean start, serving ${root}`, fix: '' }
    : { name: 'JupyterLab start', status: 'warn', detail: problems.join('; '), fix: SETUP };
}

/** The data cache: where downloads go, whether it is writable, which months are there. */
export async function checkData(root: string): Promise<Check> {
  let dir = process.env.TAXI_DATA_DIR ?? join(root, 'data');
  try {
    // Prefer the library's own answer so the doctor cannot drift from fetchTrips.
    const lib = (await import(pathToFileURL(join(root, 'lib/dist/index.js')).href)) as { defaultCacheDir?: () => string };
    if (typeof lib.defaultCacheDir === 'function') dir = lib.defaultCacheDir();
  } catch {
    // library not built: the build check reports it
  }
  dir = resolve(dir);
  // fetchTrips caches a month as <dir>/<color>_tripdata_<month>.parquet and a URL under urls/;
  // generated months live under synthetic/ and must not pass for the course's real months.
  const files: string[] = [];
  let fromUrls = 0;
  let generated = 0;
  const countParquet = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce(
      (n, e) => n + (e.isDirectory() ? countParquet(join(d, e.name)) : e.name.endsWith('.parquet') ? 1 : 0),
      0,
    );
  if (existsSync(dir)) {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      return { name: 'data cache', status: 'fail', detail: `${dir} is not writable`, fix: `fix its permissions or set TAXI_DATA_DIR to a writable folder` };
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.parquet')) files.push(entry.name);
      else if (entry.isDirectory() && entry.name === 'urls') fromUrls += countParquet(join(dir, entry.name));
      else if (entry.isDirectory()) generated += countParquet(join(dir, entry.name));
    }
  }
  const notes = [
    ...(fromUrls > 0 ? [`${fromUrls} downloaded from URLs`] : []),
    ...(generated > 0 ? [`${generated} generated files in subfolders`] : []),
  ];
  const extra = notes.length > 0 ? ` (and ${notes.join(', ')})` : '';
  const course = ['2024-01', '2024-02'].filter((m) => !files.includes(`yellow_tripdata_${m}.parquet`));
  if (course.length === 0) {
    return { name: 'data cache', status: 'ok', detail: `${dir}: ${files.length} parquet files, the course's months included${extra}`, fix: '' };
  }
  return {
    name: 'data cache',
    status: 'warn',
    detail: `${dir}: ${files.length} parquet files${extra}; yellow ${course.join(', ')} not cached yet`,
    fix: 'nothing to do online: the notebooks download them on first run (about 50 MB each); offline, copy the files there or set TAXI_DATA_DIR',
  };
}

/** Debian's chromium, used only by `npm run test:browser`. */
export function checkBrowser(path = '/usr/bin/chromium'): Check {
  return existsSync(path)
    ? { name: 'chromium (browser test)', status: 'ok', detail: path, fix: '' }
    : { name: 'chromium (browser test)', status: 'warn', detail: `${path} not found; only npm run test:browser needs it`, fix: 'apt-get install -y chromium' };
}

/** Every check, in the order a new user would fix them. */
export async function diagnose(root: string): Promise<Check[]> {
  return [checkNode(), ...checkPackages(root), ...checkJupyter(root), await checkData(root), checkBrowser()];
}

/**
 * Breaks `text` into lines of at most `width` characters at spaces, never inside a word (a word
 * longer than the line, such as a long path, gets a line of its own). Terminals and JupyterLab
 * would otherwise wrap the doctor's long lines wherever the edge falls, mid-word.
 */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * The human-readable report: one line per check (mark, name, detail), the fix under it, then a
 * verdict. Details and fixes wrap at word boundaries within `width` columns, indented under the
 * detail column.
 */
export function formatReport(checks: Check[], width: number): string {
  const mark = { ok: '✔', warn: '!', fail: '✘' } as const;
  const nameWidth = Math.max(...checks.map((c) => c.name.length));
  const indent = ' '.repeat(nameWidth + 4);
  // At least 30 columns of text, however narrow the terminal.
  const textWidth = Math.max(30, width - indent.length);
  const out: string[] = [];
  for (const c of checks) {
    const [first = '', ...rest] = wrapWords(c.detail, textWidth);
    out.push(`${mark[c.status]} ${c.name.padEnd(nameWidth)}  ${first}`, ...rest.map((l) => indent + l));
    if (c.fix) out.push(...wrapWords(`fix: ${c.fix}`, textWidth).map((l) => indent + l));
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  out.push('', ...wrapWords(failed ? `doctor: ${failed} problem(s) to fix before running the notebooks` : 'doctor: ready for the notebooks (from the project folder: .venv/bin/jupyter lab)', width));
  return out.join('\n');
}

/** The width to wrap to: the terminal's, else COLUMNS, else 80 (a notebook cell, a log). */
function reportWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS);
  return columns && columns >= 40 ? columns : 80;
}

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const checks = await diagnose(root);
  console.log(process.argv.includes('--json') ? JSON.stringify(checks, null, 2) : formatReport(checks, reportWidth()));
  process.exitCode = checks.some((c) => c.status === 'fail') ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
