// A bounded, seeded fuzz of the tensor file readers: mutated valid files of every format and random
// bytes must either read or fail with a TensorFileError naming the file, and never hang.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTensorFile } from '../../compute/readers/index';
import { TensorFileError } from '../../compute/types';
import { mulberry32 } from '../../compute/random';

const fixtures = join(__dirname, '..', 'compute', 'readerFixtures');

const rng = mulberry32;

/** Bytes that tend to matter to these formats: digits, brackets, quotes, sizes at type boundaries. */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x30, 0x39, 0x28, 0x29, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x27, 0x22, 0x20, 0x0a];

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * Math.max(1, b.length));
    switch (Math.floor(r() * 6)) {
      case 0: b[at] = b[at]! ^ (1 << Math.floor(r() * 8)); break;
      case 1: b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)]!; break;
      case 2: b = b.slice(0, at); break;
      case 3: { // overwrite a 4-byte little-endian field with a boundary value
        const v = [0, 1, 0xffff, 0xffffffff, 0x7fffffff, 0x80000000][Math.floor(r() * 6)]!;
        if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, v, true);
        break;
      }
      case 4: { // insert random bytes
        const n = 1 + Math.floor(r() * 8);
        const ins = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        const c = new Uint8Array(b.length + n);
        c.set(b.subarray(0, at));
        c.set(ins, at);
        c.set(b.subarray(at), at + n);
        b = c;
        break;
      }
      case 5: { // delete a span
        const end = Math.min(b.length, at + 1 + Math.floor(r() * 16));
        const c = new Uint8Array(b.length - (end - at));
        c.set(b.subarray(0, at));
        c.set(b.subarray(end), at);
        b = c;
        break;
      }
    }
  }
  return b;
}

/** Reads and classifies; anything thrown that is not a TensorFileError fails the test with the seed. */
async function probe(name: string, bytes: Uint8Array, seed: number): Promise<'ok' | 'error'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} seed ${seed}: read did not finish within 5 s`)), 5000);
  });
  try {
    await Promise.race([readTensorFile(name, bytes), hang]);
    return 'ok';
  } catch (err) {
    if (!(err instanceof TensorFileError)) {
      throw new Error(`${name} seed ${seed}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    expect(err.message.startsWith(name)).toBe(true);
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

const SEEDS_PER_FILE = 300;

describe('reader fuzz (seeded, bounded)', () => {
  const json = new TextEncoder().encode('{"input": [[0.5, -1.5, 2e3], [1, 2, 3]], "target": [2, 0], "mask": [true, false]}');
  const sources: [string, Uint8Array][] = [
    ...['int64_le_C.npy', 'float32_be_F.npy', 'version3_f4.npy', 'stored.npz', 'deflated.npz', 'zip64.npz', 'model.safetensors']
      .map((n): [string, Uint8Array] => [n, new Uint8Array(readFileSync(join(fixtures, n)))]),
    ['batch.json', json],
  ];

  it.each(sources)('mutations of %s read or fail with a TensorFileError', async (name, src) => {
    const outcomes = { ok: 0, error: 0 };
    for (let seed = 1; seed <= SEEDS_PER_FILE; seed++) {
      outcomes[await probe(name, mutate(src, rng(seed * 7919 + name.length)), seed)]++;
    }
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(outcomes.error).toBeGreaterThan(0);
    expect(outcomes.ok + outcomes.error).toBe(SEEDS_PER_FILE);
  });

  it('random bytes under every extension fail cleanly', async () => {
    const r = rng(12345);
    for (let k = 0; k < 400; k++) {
      const n = Math.floor(r() * 300);
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      // Give some of them a valid magic so the parsers behind it are reached.
      if (k % 4 === 1 && n > 8) bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      if (k % 4 === 2 && n > 4) bytes.set([0x50, 0x4b, 3, 4]);
      const ext = ['npy', 'npz', 'safetensors', 'json', 'bin'][k % 5];
      await probe(`random${k}.${ext}`, bytes, k);
    }
  });
});
