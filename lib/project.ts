/**
 * Project: where this checkout lives and which code is running, for the folders the library
 * keeps at the project root (`data/`, `runs/`) and for the code version a run records.
 *
 * The project root is the nearest folder above this module whose package.json declares
 * workspaces (this repository's root), so the CLI, the notebooks (which run with
 * `notebooks/` as their working folder) and the tests share one `data/` and one `runs/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root folder, or undefined when the library runs outside it (installed
 * into another project), in which case callers fall back to the current folder.
 *
 * @example
 * join(projectRoot() ?? process.cwd(), 'runs'); // '/work/main/runs'
 */
export function projectRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces) return dir;
      } catch {
        // an unreadable package.json is not the root; keep looking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * The version of the `taxi-duration` library that is running (lib/package.json), or
 * `'unknown'` when no package.json can be found beside the sources or the build.
 *
 * @example
 * libraryVersion(); // '0.1.0'
 */
export function libraryVersion(): string {
  // lib/project.ts (tsx, vitest) has its package.json beside it; lib/dist/project.js one folder up.
  for (const candidate of ['./package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'taxi-duration' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not this layout.
    }
  }
  return 'unknown';
}

/** Which code made a result: what a run records so that it can be reproduced. */
export interface CodeVersion {
  /** `git rev-parse HEAD` of the project, or null outside a git checkout (or without git). */
  gitCommit: string | null;
  /** Whether tracked files differ from that commit (`git status --porcelain`); null when unknown. */
  gitDirty: boolean | null;
  /** The library's version (lib/package.json). */
  libraryVersion: string;
  /** `process.version`, e.g. `v20.20.0`. */
  node: string;
}

/**
 * The code version of this checkout. Asks git (two short commands, about 20 ms) and gives up
 * quietly after two seconds or when git is missing: a run is still worth recording without it.
 *
 * @example
 * const { gitCommit, libraryVersion } = codeVersion();
 */
export function codeVersion(): CodeVersion {
  const root = projectRoot();
  const git = (args: string[]): string | null => {
    if (root === undefined) return null;
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no']);
  return {
    gitCommit: commit !== null && /^[0-9a-f]{40,64}$/.test(commit) ? commit : null,
    gitDirty: status === null ? null : status !== '',
    libraryVersion: libraryVersion(),
    node: process.version,
  };
}
