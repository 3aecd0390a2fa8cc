#!/usr/bin/env node
// `npm start`: runs the built command (lib/dist/cli.js, the same code as `npx taxi-duration`,
// which can use a second thread for the validation month), building lib/ first when any of
// its sources is newer than the build. Plain JavaScript, so starting costs no compiler.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { libBuildState } from './lib-build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (libBuildState(root) !== 'fresh') {
  console.error('start: lib/ changed since the last build (or was never built): npm run build');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
const { main } = await import(new URL('../lib/dist/cli.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
