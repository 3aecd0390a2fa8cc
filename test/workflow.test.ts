/**
 * The scheduled retraining workflow (.github/workflows/retrain.yml) cannot run here; its
 * `taxi-duration` steps are the commands the other suites run. This checks that each command
 * line in it parses (strict options: an unknown or misspelt flag fails) and that the workflow
 * is scheduled monthly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { main } from '../lib/cli.js';

const workflow = readFileSync(join(import.meta.dirname, '..', '.github', 'workflows', 'retrain.yml'), 'utf8');

/** The workflow's `npx taxi-duration …` command lines, with variables given sample values, as argument lists. */
function commands(): string[][] {
  const values: Record<string, string> = { MONTH: '2024-06', PREV: '2024-05', PREV2: '2024-04', FROM: '2024-01' };
  return workflow
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('npx taxi-duration'))
    .map((line) =>
      line
        .replace(/\$\{\{[^}]*\}\}/g, '') // GitHub expressions (here: an optional --force)
        .replace(/\s*>.*$/, '') // redirections
        .replace(/\$(\w+)/g, (_, name: string) => values[name] ?? `$${name}`)
        .match(/"[^"]*"|\S+/g)!
        .slice(2)
        .map((word) => word.replace(/^"|"$/g, '')),
    );
}

describe('.github/workflows/retrain.yml', () => {
  it('runs monthly and on demand', () => {
    expect(workflow).toMatch(/schedule:\n\s+# .*\n\s+- cron: '0 6 20 \* \*'/);
    expect(workflow).toContain('workflow_dispatch:');
  });

  it('runs the retrain, promote, monitor and train commands with options the command accepts', async () => {
    const lines = commands();
    expect(lines.map((args) => (args[0]!.startsWith('-') ? 'train' : args[0]))).toEqual(['train', 'promote', 'retrain', 'monitor']);
    expect(lines.find((args) => args[0] === 'retrain')).toEqual(['retrain', '--month', '2024-06', '--window', '3', '--json']);
    for (const args of lines) {
      const err: string[] = [];
      const sink = (into: string[]) => new Writable({ write: (c: Buffer, _e, done) => (into.push(c.toString()), done()) });
      // --help after a full command line: the command's parser checks every option first, then only prints help.
      const code = await main([...args, '--help'], { stdout: sink([]), stderr: sink(err), stdin: Readable.from([]) });
      expect(code, `${args.join(' ')}: ${err.join('')}`).toBe(0);
    }
  });
});
