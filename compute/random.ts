// A small seeded random generator shared by sample batches, benchmarks, tests and fuzzers, so the
// same seed gives the same numbers everywhere.

/** mulberry32: a 32-bit state generator, uniform in [0, 1). Plenty for sample data; not for crypto. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
