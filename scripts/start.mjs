#!/usr/bin/env node
// `npm start`: runs the built command (lib/dist/cli.js, the same code as `npx taxi-duration`,
// which can use a second thread for the validation month), building lib/ first when any of
// its sources is newer than the build. Plain JavaScript, so starting costs no compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const lib = new URL('../lib/', import.meta.url);
const dist = new URL('dist/', lib);
const mtimes = (dir, ending) =>
  readdirSync(dir).filter((f) => f.endsWith(ending) && !f.endsWith('.d.ts')).map((f) => statSync(new URL(f, dir)).mtimeMs);

const newestSource = Math.max(...mtimes(lib, '.ts'));
const oldestBuilt = existsSync(new URL('cli.js', dist)) ? Math.min(...mtimes(dist, '.js')) : 0;
if (oldestBuilt < newestSource) {
  console.error('start: lib/ changed since the last build (or was never built): npm run build');
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'inherit', 'inherit'] });
}
const { main } = await import(new URL('cli.js', dist).href);
process.exitCode = await main(process.argv.slice(2));
