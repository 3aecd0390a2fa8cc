/** Git facts of this checkout, for tests of what runs record. */
import { execFileSync } from 'node:child_process';

import { projectRoot } from '../../lib/index.js';

/** This checkout's commit, or null when it is not a git checkout (an unpacked archive). */
export function gitHead(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
