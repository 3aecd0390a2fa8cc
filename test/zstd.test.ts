/**
 * The wasm zstd shared by the writer (synthetic.ts) and the reader (read.ts).
 *
 * Regression test for a flake seen as `read: ...: cannot decode column ... (invalid zstd data)`
 * on a freshly generated file: when two copies of the library live in one process (the built
 * package next to its TypeScript sources, or a test runner re-evaluating modules), each copy
 * used to call the wasm package's `init()`. The package is one CommonJS module shared by both,
 * and a second `init()` swaps its memory under the first copy's cached functions, so every
 * later compress/decompress silently works on the wrong memory: files were written corrupt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zstd-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Lib = typeof import('../lib/index.js');

/** A fresh copy of the library's modules; the wasm package itself stays the one Node loaded. */
async function freshCopy(): Promise<Lib> {
  vi.resetModules();
  return import('../lib/index.js');
}

describe('wasm zstd with two copies of the library in one process', () => {
  it('writes and reads valid files whichever copy initialised the wasm first', async () => {
    const a = await freshCopy();
    const first = join(dir, 'a.parquet');
    await a.writeSyntheticTrips(first, { month: '2024-01', rows: 20_000, seed: 1 });
    const expected = await a.readTrips(first);

    const b = await freshCopy();
    expect(b.readTrips).not.toBe(a.readTrips); // really two copies
    // Alternate writer and reader copies, as a notebook or a test mixing both would.
    for (const [writer, reader, name] of [
      [b, a, 'b-then-a'],
      [a, b, 'a-then-b'],
      [b, b, 'b-then-b'],
    ] as const) {
      const path = join(dir, `${name}.parquet`);
      await writer.writeSyntheticTrips(path, { month: '2024-01', rows: 20_000, seed: 1 });
      const trips = await reader.readTrips(path);
      expect(trips.length, name).toBe(20_000);
      expect(trips.pickup, name).toEqual(expected.pickup);
      expect(trips.trip_distance, name).toEqual(expected.trip_distance);
    }
  });

  it('survives many write/read rounds in one process', async () => {
    const lib = await freshCopy();
    for (let i = 0; i < 8; i++) {
      const path = join(dir, `round-${i % 2}.parquet`);
      await lib.writeSyntheticTrips(path, { month: '2024-02', rows: 5_000, seed: i });
      const [trips] = await Promise.all([lib.readTrips(path), i > 0 ? lib.readTrips(join(dir, `round-${(i + 1) % 2}.parquet`)) : null]);
      expect(trips.length).toBe(5_000);
    }
  });
});

describe('zstdPageDecompressor: Node\'s built-in zstd where present, wasm elsewhere', () => {
  const hasNative = typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';

  it(`uses ${hasNative ? 'native' : 'wasm'} zstd on Node ${process.version}, wasm when TAXI_ZSTD=wasm`, async () => {
    const { zstdImplementation } = await import('../lib/zstd.js');
    expect(zstdImplementation()).toBe(hasNative ? 'native' : 'wasm');
    vi.stubEnv('TAXI_ZSTD', 'wasm');
    try {
      expect(zstdImplementation()).toBe('wasm');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('decompresses a page to exactly its header size, and refuses another size', async () => {
    const { zstdPageDecompressor, zstdWasm } = await import('../lib/zstd.js');
    const page = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251);
    const frame = (await zstdWasm()).compress(page, 3);
    const decompress = await zstdPageDecompressor();
    expect(Array.from(decompress(frame, page.length))).toEqual(Array.from(page));
    expect(() => decompress(frame, page.length + 1)).toThrow(/^zstd: /);
    expect(() => decompress(page.subarray(0, 100), 100)).toThrow(/^zstd: invalid zstd data/);
  });

  it("gives hyparquet this decompressor for ZSTD (not fzstd), each page a copy of its own", async () => {
    const { hyparquetCompressors, zstdWasm } = await import('../lib/zstd.js');
    const pages = [0, 1].map((k) => Uint8Array.from({ length: 40_000 }, (_, i) => (i * 31 + k * 17) % 253));
    const frames = await Promise.all(pages.map(async (page) => (await zstdWasm()).compress(page, 3)));
    const { ZSTD, SNAPPY } = await hyparquetCompressors();
    expect(SNAPPY).toBeTypeOf('function');
    const first = ZSTD!(frames[0]!, pages[0]!.length);
    const second = ZSTD!(frames[1]!, pages[1]!.length);
    // hyparquet may keep views of a page: the second call must not overwrite the first's bytes.
    expect(Array.from(first)).toEqual(Array.from(pages[0]!));
    expect(Array.from(second)).toEqual(Array.from(pages[1]!));
    // The page header's size is checked (fzstd ignores it).
    expect(() => ZSTD!(frames[0]!, pages[0]!.length - 1)).toThrow(/^zstd: /);
  });
});
