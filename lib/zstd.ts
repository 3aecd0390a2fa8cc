/**
 * ZSTD for parquet pages: Node's built-in zstd where the running Node has it (22.15+, 23.8+),
 * else the reference zstd compiled to wasm, loaded once per process.
 *
 * Internal (not re-exported): the reader decompresses TLC pages with it and
 * synthetic.ts compresses with it (always the wasm build, so generated files are the same
 * bytes on every Node). The wasm package is one CommonJS module per
 * process (per worker thread), shared by every copy of this library that runs
 * there, and calling its `init()` a second time re-instantiates the wasm under
 * the first caller: the functions it cached keep using the old instance while
 * the heap views point at the new one, so every later compress/decompress works
 * on the wrong memory and files come out corrupt without an error (readers then
 * fail with "invalid zstd data").
 *
 * A module-level "once" is not enough: the built package next to its TypeScript
 * sources (a script run with tsx that also loads lib/dist), or a test runner
 * that re-evaluates modules, gives two copies of this file in one process. So
 * the one initialisation is kept on `globalThis`, and skipped altogether when the
 * wasm module reports it already ran (initialised by anyone else).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as zlib from 'node:zlib';

type Zstd = typeof import('@bokuweb/zstd-wasm');

/** The emscripten module behind the package (its `calledRun` is set once initialised). */
interface EmscriptenModule {
  calledRun?: boolean;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  _ZSTD_isError(code: number): number;
}

const ONCE = Symbol.for('taxi-duration:zstd-wasm');
// The package and its emscripten module, shared by every copy of this file in the process: a copy
// loaded after another initialised the wasm must still find the module (not a variable of its own).
const holder = globalThis as typeof globalThis & { [ONCE]?: Promise<{ zstd: Zstd; module: EmscriptenModule }> };

/** The initialised wasm zstd (compress / decompress), loaded on first use, once per process. */
export async function zstdWasm(): Promise<Zstd> {
  return (await wasmOnce()).zstd;
}

function wasmOnce(): Promise<{ zstd: Zstd; module: EmscriptenModule }> {
  holder[ONCE] ??= (async () => {
    const zstd = await import('@bokuweb/zstd-wasm');
    // The same CommonJS instance as the package's own `require('./module')` (by file path: the
    // package's "exports" hides its files from specifiers).
    const require = createRequire(import.meta.url);
    const { Module, waitInitialized } = require(join(dirname(require.resolve('@bokuweb/zstd-wasm')), 'module.js')) as {
      Module: EmscriptenModule;
      waitInitialized: () => Promise<void>;
    };
    if (Module.calledRun) await waitInitialized();
    else await zstd.init();
    return { zstd, module: Module };
  })();
  return holder[ONCE];
}

/** Node's own zstd (`zlib.zstdDecompressSync`), or undefined on a Node without it (20, 22.0–22.14). */
type NativeZstd = (input: Uint8Array, options: { maxOutputLength: number; chunkSize: number }) => Uint8Array;
const nativeZstd = (zlib as unknown as { zstdDecompressSync?: NativeZstd }).zstdDecompressSync;

/** Which ZSTD decompressor {@link zstdPageDecompressor} gives. */
export type ZstdImplementation = 'native' | 'wasm';

/**
 * The ZSTD implementation pages are decompressed with: Node's built-in one when the running
 * Node has it, else wasm. `TAXI_ZSTD=wasm` (or `native`) chooses, for benchmarks and for
 * checking one against the other; `native` on a Node without it falls back to wasm.
 *
 * @example
 * zstdImplementation(); // 'wasm' on Node 20, 'native' on Node 22.15+
 */
export function zstdImplementation(): ZstdImplementation {
  const wanted = process.env.TAXI_ZSTD;
  if (wanted === 'wasm') return 'wasm';
  return nativeZstd ? 'native' : 'wasm';
}

/**
 * A ZSTD decompressor for parquet pages ({@link zstdImplementation} chooses which): the output
 * capacity is the page header's uncompressed size, and a page that does not decompress to
 * exactly that many bytes is an error.
 *
 * @throws Error (`zstd: ...`) from the returned function when the data is not valid zstd or
 *   does not decompress to `outputLength` bytes.
 */
export async function zstdPageDecompressor(): Promise<(input: Uint8Array, outputLength: number) => Uint8Array> {
  if (zstdImplementation() === 'native') {
    const native = nativeZstd!;
    return (input, outputLength) => {
      let output: Uint8Array;
      try {
        // One output chunk of the page's size: zlib's default 16 KB chunks are concatenated (copied) at the end.
        output = native(input, { maxOutputLength: Math.max(1, outputLength), chunkSize: Math.max(64, outputLength) });
      } catch (error) {
        throw new Error(`zstd: invalid zstd data (${(error as Error).message})`);
      }
      if (output.length !== outputLength) throw new Error(`zstd: page decompressed to ${output.length} bytes, its header says ${outputLength}`);
      return output;
    };
  }
  // One per thread: its buffers live in the wasm memory, which never shrinks, so a decompressor
  // per file read would leave a page's buffers behind at every read.
  wasmDecompressor ??= wasmPageDecompressor().catch((error: unknown) => {
    wasmDecompressor = undefined; // a failed load is tried again next time
    throw error;
  });
  return wasmDecompressor;
}

let wasmDecompressor: Promise<(input: Uint8Array, outputLength: number) => Uint8Array> | undefined;

/**
 * hyparquet's decompressors (`hyparquet-compressors`) with ZSTD replaced by {@link zstdPageDecompressor}:
 * the package's pure-JavaScript zstd (fzstd) is about 7× slower than the wasm one, and TLC pages
 * are ZSTD. Each page is copied out of the wasm memory, since hyparquet may keep views of it.
 *
 * @example
 * await parquetReadObjects({ file, rowEnd: 5, compressors: await hyparquetCompressors() });
 */
export async function hyparquetCompressors(): Promise<import('hyparquet').Compressors> {
  const [{ compressors }, zstd] = await Promise.all([import('hyparquet-compressors'), zstdPageDecompressor()]);
  return { ...compressors, ZSTD: (input: Uint8Array, outputLength: number) => zstd(input, outputLength).slice() };
}

/**
 * A ZSTD decompressor for parquet pages that reuses two buffers inside the wasm memory and
 * returns a view of the output there, valid only until its next call (the reader decodes each
 * page before decompressing the next, synchronously, so readers on one thread can share it). The package's own `decompress` allocates and frees
 * both buffers and copies the output out on every call, about a fifth of reading a TLC month.
 *
 * The output capacity is the page header's uncompressed size, not the frame's declared
 * content size, so pages of several frames decompress too.
 *
 * @throws Error (`zstd: ...`) from the returned function when the data is not valid zstd or
 *   does not decompress to `outputLength` bytes.
 */
async function wasmPageDecompressor(): Promise<(input: Uint8Array, outputLength: number) => Uint8Array> {
  const Module = (await wasmOnce()).module;
  let src = 0;
  let srcCapacity = 0;
  let dst = 0;
  let dstCapacity = 0;
  return (input, outputLength) => {
    if (input.length > srcCapacity) {
      if (src) Module._free(src);
      srcCapacity = Math.max(input.length, 2 * srcCapacity);
      src = Module._malloc(srcCapacity);
    }
    if (outputLength > dstCapacity) {
      if (dst) Module._free(dst);
      dstCapacity = Math.max(outputLength, 2 * dstCapacity);
      dst = Module._malloc(dstCapacity);
    }
    if (!src || !dst) throw new Error(`zstd: out of wasm memory for a page of ${outputLength} bytes`);
    // HEAPU8 is read after the mallocs: a memory growth replaces it.
    Module.HEAPU8.set(input, src);
    const size = Module._ZSTD_decompress(dst, outputLength, src, input.length);
    if (Module._ZSTD_isError(size)) throw new Error(`zstd: invalid zstd data (error code ${size})`);
    if (size !== outputLength) throw new Error(`zstd: page decompressed to ${size} bytes, its header says ${outputLength}`);
    return Module.HEAPU8.subarray(dst, dst + size);
  };
}
