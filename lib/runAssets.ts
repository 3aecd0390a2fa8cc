/**
 * Run assets: one shared copy of plotly.js for every HTML page the runs store keeps.
 *
 * A standalone plot inlines plotly.js (about 4.8 MB); a store keeping a plot per training run
 * and a report per monitoring run would hold one copy per page. Pages in the store load it
 * from `runs/.assets/plotly-<12 hex of its SHA-256>.min.js` instead (written once, atomically,
 * named by content so a newer plotly never replaces an older page's), which keeps a page at a
 * few kB. Such a page opens while it sits in its store (the path is relative); copy the
 * `.assets` folder along when moving a run elsewhere.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { writeFileAtomic } from './output.js';
import { plotlyJs } from './display.js';

/**
 * Writes the store's shared plotly.js if it is not there yet and returns its path.
 *
 * @example
 * const js = await plotlyAsset('runs'); // '/…/runs/.assets/plotly-3b1f…min.js'
 */
export async function plotlyAsset(runsDir: string): Promise<string> {
  const js = plotlyJs();
  const name = `plotly-${createHash('sha256').update(js).digest('hex').slice(0, 12)}.min.js`;
  const path = join(resolve(runsDir), '.assets', name);
  if (!existsSync(path)) await writeFileAtomic(path, js);
  return path;
}

/**
 * The relative URL (with `/`) from a page in `pageDir` to a file, for a `<script src>`.
 *
 * @example
 * scriptSrc('runs/x/artifacts', 'runs/.assets/plotly.min.js'); // '../../.assets/plotly.min.js'
 */
export function scriptSrc(pageDir: string, file: string): string {
  return relative(resolve(pageDir), resolve(file)).split(/[\\/]/).map(encodeURIComponent).join('/');
}

/**
 * A standalone page's inlined plotly.js replaced by `<script src="…">`, or null when the page
 * does not inline it the way lib/plots.ts does (the caller then keeps the page whole).
 *
 * @example
 * const slim = withExternalPlotly(html, '../../.assets/plotly-3b1f.min.js') ?? html;
 */
export function withExternalPlotly(html: string, src: string): string | null {
  const js = plotlyJs().replace(/<\/script/gi, '<\\/script');
  const at = html.indexOf(js);
  if (at < 0) return null;
  const start = html.lastIndexOf('<script', at);
  const end = html.indexOf('</script>', at + js.length);
  if (start < 0 || end < 0) return null;
  return `${html.slice(0, start)}<script src="${src}"></script>${html.slice(end + '</script>'.length)}`;
}
