import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as lib from '../lib/index.js';

// Static checks of the committed notebooks; `npm run notebooks` executes them.
const dir = join(import.meta.dirname, '..', 'notebooks');
const files = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string[] | string;
  metadata: { tags?: string[]; [key: string]: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string; language?: string } };
  cells: Cell[];
}

const text = (cell: Cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);
const load = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Notebook;

describe('notebooks/', () => {
  it('has the course notebooks', () => {
    expect(files).toEqual(['01-environment.ipynb', '02-duration-prediction.ipynb', '03-mlops-maturity.ipynb', '04-experiments.ipynb']);
  });

  describe.each(files)('%s', (file) => {
    const nb = load(file);
    const code = nb.cells.filter((c) => c.cell_type === 'code');

    it('is nbformat 4.5 for the tslab kernel, with unique cell ids', () => {
      expect([nb.nbformat, nb.nbformat_minor]).toEqual([4, 5]);
      expect(nb.metadata.kernelspec).toMatchObject({ name: 'tslab', language: 'typescript' });
      const ids = nb.cells.map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('is committed without outputs or execution counts', () => {
      for (const cell of code) {
        expect(cell.outputs, `cell ${cell.id} has outputs: clear them before committing`).toEqual([]);
        expect(cell.execution_count, `cell ${cell.id} has an execution count`).toBeNull();
        expect(Object.keys(cell.metadata).filter((k) => k !== 'tags'), `cell ${cell.id} carries run metadata`).toEqual([]);
      }
    });

    it('opens with a title and a one-line goal, then a parameters cell read from the environment', () => {
      const first = text(nb.cells[0]!);
      expect(nb.cells[0]!.cell_type).toBe('markdown');
      expect(first).toMatch(/^# \S/);
      expect(first).toMatch(/\*\*Goal:\*\* \S/);
      const params = code.find((c) => c.metadata.tags?.includes('parameters'));
      expect(params, 'a code cell tagged "parameters"').toBeDefined();
      expect(code.indexOf(params!)).toBe(0);
      for (const name of ['TAXI_TRAIN', 'TAXI_VAL', 'TAXI_COLOR', 'TLC_BASE_URL']) {
        expect(text(params!)).toContain(`process.env.${name}`);
      }
      expect(text(params!)).toContain("'2024-01'");
      expect(text(params!)).toContain("'2024-02'");
    });

    it('imports the library by package name, only names it exports', () => {
      for (const cell of code) {
        const source = text(cell);
        expect(source, 'relative imports fail under tslab: import from taxi-duration').not.toMatch(/from '\.{1,2}\//);
        for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'taxi-duration'/g)) {
          for (const name of match[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
            expect(name in lib, `${file} imports ${name}, which taxi-duration does not export`).toBe(true);
          }
        }
      }
    });

    it('links only to files that exist', () => {
      for (const cell of nb.cells.filter((c) => c.cell_type === 'markdown')) {
        for (const [, target] of text(cell).matchAll(/\]\(((?!https?:)[^)#\s]+)\)/g)) {
          expect(existsSync(resolve(dirname(join(dir, file)), target!)), `${file} links to ${target}`).toBe(true);
        }
      }
    });
  });
});
