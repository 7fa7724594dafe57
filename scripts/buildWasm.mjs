// Builds the cross-entropy engine's WebAssembly from compute/assembly with the pinned AssemblyScript
// compiler: a SIMD build and a relaxed-SIMD build, written to dist/compute/. Deterministic.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export async function buildWasm({ root }) {
  const source = join(root, 'compute', 'assembly', 'index.ts');
  if (!existsSync(source)) return;
  mkdirSync(join(root, 'dist', 'compute'), { recursive: true });
  // FIXME: the engine's build lands with compute/assembly (issue 3).
}
