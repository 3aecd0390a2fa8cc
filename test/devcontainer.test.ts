import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

interface DevContainer {
  image?: string;
  features?: Record<string, Record<string, unknown>>;
  postCreateCommand?: string;
  forwardPorts?: number[];
  portsAttributes?: Record<string, { label?: string }>;
  remoteEnv?: Record<string, string>;
  customizations?: {
    vscode?: { extensions?: string[]; settings?: Record<string, string> };
    codespaces?: { openFiles?: string[] };
  };
}

// Strict JSON on purpose (JSON.parse, no comments): Codespaces accepts JSONC, but other
// tools reading the file (and this test) need not.
const config = JSON.parse(readFileSync(join(root, '.devcontainer/devcontainer.json'), 'utf8')) as DevContainer;

describe('.devcontainer/devcontainer.json', () => {
  it('uses a Node image new enough for the library (>= 20.19) and adds Python', () => {
    const tag = /typescript-node:(?:\d+-)?(\d+)(?:\.(\d+))?/.exec(config.image ?? '');
    expect(tag, `image ${config.image} should be a devcontainers typescript-node image`).not.toBeNull();
    const [major, minor] = [Number(tag![1]), Number(tag![2] ?? 99)];
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
    expect(Object.keys(config.features ?? {}).some((f) => f.startsWith('ghcr.io/devcontainers/features/python'))).toBe(true);
  });

  it('runs the shared setup script, which exists and is executable', () => {
    expect(config.postCreateCommand).toBe('bash environment/setup.sh');
    const script = join(root, 'environment/setup.sh');
    expect(() => accessSync(script, constants.X_OK)).not.toThrow();
    expect(readFileSync(script, 'utf8')).toMatch(/^#!\/usr\/bin\/env bash/);
  });

  it("forwards Jupyter's port and puts .venv on PATH", () => {
    expect(config.forwardPorts).toContain(8888);
    expect(config.portsAttributes?.['8888']?.label).toMatch(/Jupyter/);
    expect(config.remoteEnv?.PATH).toMatch(/^\$\{containerWorkspaceFolder\}\/\.venv\/bin:/);
  });

  it('installs the Jupyter extension and opens files that exist', () => {
    expect(config.customizations?.vscode?.extensions).toContain('ms-toolsai.jupyter');
    for (const file of config.customizations?.codespaces?.openFiles ?? []) {
      expect(existsSync(join(root, file)), `${file} is listed in openFiles`).toBe(true);
    }
  });
});
