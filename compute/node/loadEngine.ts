// Loads the engine in Node: reads dist/compute/*.wasm next to the bundle (or the repo's dist/) and
// picks the best build this Node accepts (relaxed SIMD needs --experimental-wasm-relaxed-simd in Node 20).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

import { createEngine, selectEngineFile, type Engine, type EngineFileName, type SharedEngineFileName } from '../engine';

export interface LoadEngineOptions {
  /** Folder holding the three .wasm builds; default: found from this file or the working directory. */
  readonly wasmDir?: string;
  /** Force a build (tests run each one); the shared-memory builds only for engineBytes (they import their memory). */
  readonly file?: EngineFileName | SharedEngineFileName;
}

/** Folders searched for the .wasm builds: beside a bundle in dist/*, the repo's dist/compute, the cwd's. */
export function findWasmDir(): string {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [
    join(here, '..', 'compute'),          // dist/cli/main.js → dist/compute
    here,                                 // dist/compute/nodeWorker.js
    join(here, '..', '..', 'dist', 'compute'), // compute/node/*.ts in the repo
    join(process.cwd(), 'dist', 'compute'),
  ];
  for (const c of candidates) if (existsSync(join(c, 'ce-simd.wasm'))) return c;
  throw new Error(`the engine's wasm is not built (looked in ${candidates.join(', ')}); run \`npm run build\``);
}

export function engineBytes(options: LoadEngineOptions = {}): { file: EngineFileName | SharedEngineFileName; bytes: Uint8Array; path: string } {
  const dir = options.wasmDir ?? findWasmDir();
  const file = options.file ?? selectEngineFile();
  const path = join(dir, file);
  return { file, bytes: readFileSync(path), path };
}

export async function loadEngine(options: LoadEngineOptions = {}): Promise<Engine> {
  const { bytes } = engineBytes(options);
  return createEngine(bytes);
}

/**
 * Turns on relaxed SIMD in this Node when it is available only behind a flag (Node 20's V8 11.3 has
 * it complete but unshipped; Chromium and newer Node ship it). It must run before any wasm is
 * compiled; worker threads share the setting. Returns whether the relaxed build now validates.
 * The flag is process-wide, so only programs that own their process (the command line, benchmarks)
 * should call it; the library default stays with what the runtime ships.
 */
export function enableRelaxedSimd(): boolean {
  if (selectEngineFile() === 'ce-relaxed.wasm') return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return selectEngineFile() === 'ce-relaxed.wasm';
}
