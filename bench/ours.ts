// Our engine as benchmark contestants: the wasm engine on one thread (end to end from the caller's
// arrays, and with inputs already in engine memory), and the Node worker pool on all cores.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, selectEngineFile, type Engine } from '../compute/engine';
import { enableRelaxedSimd, engineBytes } from '../compute/node/loadEngine';
import { createNodePool } from '../compute/node/pool';
import type { Tensor } from '../compute/types';
import type { CeData } from './data';
import type { Contestant } from './engine';

export interface OurContestant {
  readonly contestant: Contestant;
  close(): Promise<void>;
}

/**
 * The engine build the product runs here: like `tensor-lens loss`, turn on Node 20's relaxed SIMD
 * (a V8 flag; Chromium has it anyway), so the FMA build is measured where the CPU allows it.
 */
export async function loadOurEngine(root: string): Promise<{ engine: Engine; file: string } | undefined> {
  enableRelaxedSimd();
  const wasmDir = join(root, 'dist', 'compute');
  if (!existsSync(join(wasmDir, selectEngineFile()))) return undefined;
  const { file, bytes } = engineBytes({ wasmDir });
  return { engine: await createEngine(bytes), file };
}

export async function ourContestants(root: string, cores: number, log: (line: string) => void): Promise<OurContestant[]> {
  const loaded = await loadOurEngine(root);
  if (!loaded) {
    log(`skipped: our engine: dist/compute/${selectEngineFile()} is not built (npm run build)`);
    return [];
  }
  const { engine, file } = loaded;
  log(`ours: ${file} (${engine.kind}), ${cores} cores`);
  const out: OurContestant[] = [];
  const targetOf = (d: CeData): Tensor => ({ dtype: 'int32', shape: [d.shape[0]!, ...d.shape.slice(2)], data: d.t });
  const endToEnd = (e: Engine) => async (d: CeData) =>
    e.crossEntropy({ dtype: 'float32', shape: d.shape, data: d.x }, targetOf(d), { int32Targets: true }).loss!;

  out.push({
    contestant: {
      name: 'tensor-lens',
      threads: 1,
      kind: 'ours',
      // End to end: the engine copies the caller's Float32Array and Int32Array into its memory.
      run: endToEnd(engine),
    },
    close: async () => undefined,
  });

  if (file === 'ce-relaxed.wasm') {
    // Also time the plain SIMD build (what runs where relaxed SIMD is missing) in the same run:
    // what the FMA build gains.
    const simd = await createEngine(engineBytes({ wasmDir: join(root, 'dist', 'compute'), file: 'ce-simd.wasm' }).bytes);
    out.push({ contestant: { name: 'tensor-lens (SIMD build)', threads: 1, kind: 'ours', run: endToEnd(simd) }, close: async () => undefined });
  }

  // Inputs written straight into engine memory (allocInput), as the readers and the panel can do:
  // the kernel's own speed, without the copy-in.
  let resident: { d: CeData; input: Tensor; target: Tensor } | undefined;
  const release = () => {
    if (resident) {
      engine.free(resident.input);
      engine.free(resident.target);
      resident = undefined;
    }
  };
  out.push({
    contestant: {
      name: 'tensor-lens (zero-copy input)',
      threads: 1,
      kind: 'ours',
      run: async d => {
        if (resident?.d !== d) {
          release();
          const input = engine.allocInput(d.shape);
          const target = engine.allocTensor([d.shape[0]!, ...d.shape.slice(2)], 'int32');
          // Filled once per shape, after both allocations (an allocation that grows memory
          // re-creates the views); the copy is exactly what this contestant leaves out.
          (input.data as Float32Array).set(d.x);
          (target.data as Int32Array).set(d.t);
          resident = { d, input, target };
        }
        return engine.crossEntropy(resident.input, resident.target, { int32Targets: true }).loss!;
      },
      release,
    },
    close: async () => release(),
  });
  if (cores > 1) {
    if (existsSync(join(root, 'dist', 'compute', 'nodeWorker.js'))) {
      // The pool: the calling thread and cores - 1 worker_threads, each with its own instance on one
      // shared wasm memory, split the blocks and the shards' f64 partials are summed in a fixed order.
      // End to end, the calling thread copies the caller's arrays into that memory once, ahead of
      // the workers, and every thread reads them there in place.
      const pool = await createNodePool({ size: cores, wasmDir: join(root, 'dist', 'compute') });
      out.push({
        contestant: {
          name: `tensor-lens ×${cores} (worker pool)`,
          threads: cores,
          kind: 'ours',
          run: async d => (await pool.crossEntropy({ dtype: 'float32', shape: d.shape, data: d.x }, targetOf(d), { int32Targets: true })).loss!,
        },
        close: async () => pool.terminate(),
      });
      // Inputs written straight into the pool's shared wasm memory (pool.allocShared): every thread
      // reads its share where it lies, no copy at all.
      let shared: { d: CeData; input: Tensor; target: Tensor } | undefined;
      const releaseShared = () => {
        if (shared) {
          pool.free(shared.input);
          pool.free(shared.target);
          shared = undefined;
        }
      };
      out.push({
        contestant: {
          name: `tensor-lens ×${cores} (worker pool, zero-copy input)`,
          threads: cores,
          kind: 'ours',
          run: async d => {
            if (shared?.d !== d) {
              releaseShared();
              const input = pool.allocShared(d.shape);
              const target = pool.allocShared([d.shape[0]!, ...d.shape.slice(2)], 'int32');
              (input.data as Float32Array).set(d.x);
              (target.data as Int32Array).set(d.t);
              shared = { d, input, target };
            }
            return (await pool.crossEntropy(shared.input, shared.target, { int32Targets: true })).loss!;
          },
          release: releaseShared,
        },
        close: async () => releaseShared(),
      });
    } else {
      log('skipped: our worker pool: dist/compute/nodeWorker.js is not built (npm run build)');
    }
  }
  return out;
}
