#!/usr/bin/env node
// The `taxi-duration` command. This small file is committed so that npm can link the command
// at install time, before `npm run build` has made lib/dist; it runs the compiled CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('taxi-duration: the library is not built (lib/dist/cli.js is missing); run `npm run build`');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
