// Builds the cross-entropy engine's WebAssembly from compute/assembly/index.ts with the pinned
// AssemblyScript compiler into dist/compute/: ce-simd.wasm (SIMD, the default), ce-relaxed.wasm
// (relaxed SIMD: fused multiply-add, picked where WebAssembly.validate accepts it), ce-scalar.wasm
// (no SIMD, for runtimes without it), and the two SIMD builds again on an imported shared memory
// (ce-simd-shared.wasm, ce-relaxed-shared.wasm) for the worker pool, whose engines all instantiate
// against one WebAssembly.Memory. The output is deterministic: the same source and compiler give
// the same bytes.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An imported shared memory: `threads` is the feature a shared memory needs, and a shared memory
 * must declare its maximum (65536 pages, 4 GiB: all a 32-bit memory can address; the pool may hand
 * in a memory with a smaller maximum). The data segments (the kernels' constant tables below
 * `__heap_base`) stay active: every instance writes the same bytes there when it is instantiated,
 * which is harmless to instances already running, and nothing else in the module writes memory the
 * host did not hand it (test/compute/sharedMemory.test.ts checks both). The result globals are
 * wasm globals, one set per instance.
 */
const shared = ['--enable', 'threads', '--importMemory', '--sharedMemory', '--maximumMemory', '65536'];

/** Build name → extra compiler flags. Order matters only for the log line. */
export const wasmBuilds = {
  'ce-simd.wasm': ['--enable', 'simd'],
  'ce-relaxed.wasm': ['--enable', 'simd', '--enable', 'relaxed-simd'],
  'ce-scalar.wasm': [],
  'ce-simd-shared.wasm': ['--enable', 'simd', ...shared],
  'ce-relaxed-shared.wasm': ['--enable', 'simd', '--enable', 'relaxed-simd', ...shared],
};

export async function buildWasm({ root, production = false }) {
  const source = join(root, 'compute', 'assembly', 'index.ts');
  if (!existsSync(source)) return [];
  const outDir = join(root, 'dist', 'compute');
  mkdirSync(outDir, { recursive: true });
  const { default: asc } = await import('assemblyscript/asc');
  const built = [];
  for (const [name, flags] of Object.entries(wasmBuilds)) {
    const out = join(outDir, name);
    const sources = [source];
    // Skip the compiler when the output is newer than every source (the compile takes seconds).
    if (!production && existsSync(out) && isNewer(out, [...sources, join(root, 'scripts', 'buildWasm.mjs')])) {
      built.push(name);
      continue;
    }
    const argv = [
      source, '-o', out,
      '--runtime', 'stub', '--initialMemory', '1',
      '-O3', '--noAssert', '--converge',
      ...flags,
    ];
    const stderr = [];
    const { error } = await asc.main(argv, {
      stdout: { write() { return true; } },
      stderr: { write(s) { stderr.push(String(s)); return true; } },
    });
    if (error) throw new Error(`asc failed for ${name}: ${error.message}\n${stderr.join('')}`);
    if (flags.includes('--sharedMemory')) await checkSharedLayout(name, readFileSync(out));
    built.push(name);
  }
  return built;
}

/**
 * Every instance of a shared-memory build rewrites the module's data below `__heap_base` when it is
 * instantiated, and the pool's heap starts at 64 KiB (compute/sharedMemory.ts HEAP_START): a build
 * whose static data reached past that would overwrite tensors. Checked here, where the kernels
 * change, rather than found at run time. (A build the running Node cannot validate, relaxed SIMD
 * without its flag, is checked where it can be.)
 */
async function checkSharedLayout(name, bytes) {
  if (!WebAssembly.validate(bytes)) return;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, abort() {} } });
  const heapBase = instance.exports.heapBase();
  if (heapBase > 65536) throw new Error(`${name}: static data ends at ${heapBase}, past the shared heap's start (65536)`);
}

function isNewer(out, inputs) {
  const t = statSync(out).mtimeMs;
  return inputs.every(p => statSync(p).mtimeMs <= t);
}

// `node scripts/buildWasm.mjs`: build just the engine.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { fileURLToPath } = await import('node:url');
  const { dirname } = await import('node:path');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const built = await buildWasm({ root, production: true });
  for (const b of built) console.log(`${b} ${readFileSync(join(root, 'dist', 'compute', b)).length} bytes`);
}
