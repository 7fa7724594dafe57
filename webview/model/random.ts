// Seeded random numbers for random sample batches: the same seed gives the same batch, so a reloaded
// panel re-evaluates to the same loss and a screenshot can be reproduced.
import { mulberry32 } from '../../compute/random';

/** Uniform [0, 1) numbers from a seed (mulberry32). */
export const uniform = mulberry32;

/** Progress is reported every this many elements (about 10 ms of generation). */
export const PROGRESS_EVERY = 1 << 20;

/** Fills `out` with N(0, scale²) samples (Box–Muller, both values of each pair used). */
export function fillNormal(out: Float32Array, seed: number, scale = 1, onProgress?: (fraction: number) => void): Float32Array {
  const u = uniform(seed);
  for (let i = 0; i < out.length; i += 2) {
    if (onProgress && i % PROGRESS_EVERY === 0 && i > 0) onProgress(i / out.length);
    const u1 = 1 - u(); // (0, 1]: log(0) would be -inf
    const u2 = u();
    const r = Math.sqrt(-2 * Math.log(u1)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Uniform integers in [0, classes). */
export function randomIndex(seed: number, classes: number): () => number {
  const u = uniform(seed);
  return () => Math.min(classes - 1, Math.floor(u() * classes));
}
