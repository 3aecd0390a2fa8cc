/**
 * The reference zstd compiled to wasm, loaded once per process.
 *
 * Internal (not re-exported): read.ts decompresses TLC pages with it and
 * synthetic.ts compresses with it. Both must share this one loader: calling the
 * package's `init()` a second time re-instantiates the module under the first
 * caller and corrupts its later output.
 */
type Zstd = typeof import('@bokuweb/zstd-wasm');

let ready: Promise<Zstd> | undefined;

/** The initialised wasm zstd (compress / decompress), loaded on first use. */
export function zstdWasm(): Promise<Zstd> {
  ready ??= (async () => {
    const zstd = await import('@bokuweb/zstd-wasm');
    await zstd.init();
    return zstd;
  })();
  return ready;
}
