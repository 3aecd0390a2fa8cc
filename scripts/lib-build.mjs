// Whether lib/ is built and up to date with its sources: one answer for `npm start`
// (scripts/start.mjs, which rebuilds when it is not) and `npm run doctor`. Plain JavaScript,
// so that `npm start` pays for no compiler before it runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} dir @param {string} ending @returns {number[]} */
function mtimes(dir, ending) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ending) && !f.endsWith('.d.ts'))
    .map((f) => statSync(join(dir, f)).mtimeMs);
}

/**
 * 'missing' when lib/dist/cli.js or lib/dist/index.js is absent, 'stale' when a lib/*.ts
 * source is newer than the oldest built .js file, else 'fresh'.
 *
 * @param {string} root the project folder
 * @returns {'missing' | 'stale' | 'fresh'}
 * @example
 * libBuildState(process.cwd()); // 'fresh' right after npm run build
 */
export function libBuildState(root) {
  const lib = join(root, 'lib');
  const dist = join(lib, 'dist');
  if (!existsSync(join(dist, 'cli.js')) || !existsSync(join(dist, 'index.js'))) return 'missing';
  return Math.max(...mtimes(lib, '.ts')) > Math.min(...mtimes(dist, '.js')) ? 'stale' : 'fresh';
}
