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

    it('opens with a title and a one-line goal, then a parameters cell of plain values', () => {
      const first = text(nb.cells[0]!);
      expect(nb.cells[0]!.cell_type).toBe('markdown');
      expect(first).toMatch(/^# \S/);
      expect(first).toMatch(/\*\*Goal:\*\* \S/);
      const params = code.find((c) => c.metadata.tags?.includes('parameters'));
      expect(params, 'a code cell tagged "parameters"').toBeDefined();
      expect(code.indexOf(params!)).toBe(0);
      // Values a learner edits, like papermill's parameters cell; environment variables replace them in the next cell.
      expect(text(params!)).not.toContain('process.env');
      expect(text(params!)).toMatch(/^const parameters = \{$/m);
      expect(text(params!)).toContain("train: '2024-01'");
      expect(text(params!)).toContain("val: '2024-02'");
      expect(code.slice(1).some((c) => text(c).includes('notebookParameters(parameters'))).toBe(true);
    });

    it('uses every parameter it declares (no parameter that only decorates the cell)', () => {
      const params = code.find((c) => c.metadata.tags?.includes('parameters'))!;
      const names = [...text(params).matchAll(/^\s+(\w+):/gm)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      const rest = code.slice(code.indexOf(params) + 1).map(text).join('\n');
      for (const name of names) {
        expect(name in lib.PARAMETER_ENV, `${name} is not a parameter notebookParameters knows`).toBe(true);
        expect(rest, `${file} declares ${name} but never uses params.${name}`).toContain(`params.${name}`);
      }
    });

    it('leaves no check that stops a legitimate edit: failures come from the library, or name the environment', () => {
      for (const cell of code) {
        for (const [, message] of text(cell).matchAll(/throw new Error\(\s*[`'"]([^`'"]*)/g)) {
          expect(message, `${file}: a notebook may throw only environment problems (assertions belong in test/)`).toMatch(/^environment: /);
        }
      }
    });

    it('imports the library by package name, only names it exports', () => {
      for (const cell of code) {
        const source = text(cell);
        expect(source, 'relative imports fail under tslab: import from taxi-duration').not.toMatch(/from '\.{1,2}\//);
        for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'taxi-duration'/g)) {
          // Type-only imports vanish at run time; tslab's type check catches a wrong one when the notebook runs.
          for (const name of match[1]!.split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type '))) {
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
