// Shape relations the loss rules reason with: provable comparisons under the rules' assumptions,
// reordered layouts (NHWC against NCHW), a singleton dim too many or too few, and broadcasting.

import { compareDims, constDim, hasFixedRank, subDims, UNKNOWN_DIM, type Dim, type Shape, type Tri } from '../dims';

export function fixedRank(s: Shape | undefined): s is Shape {
  return s !== undefined && hasFixedRank(s);
}

export function isConst(d: Dim | undefined, value: number): boolean {
  return d !== undefined && d.kind === 'const' && d.value === value;
}

/**
 * `compareDims` plus one fact about sizes: every symbolic size is at least 1. So `2*N` and `N`
 * differ (a wrong flatten that doubles the batch), while `N*H` and `N` stay undecided (H may be 1):
 * the difference of the two polynomials must have all its coefficients of one sign.
 */
export function compareSizes(a: Dim, b: Dim): Tri {
  const c = compareDims(a, b);
  if (c !== 'unknown' || (a.kind !== 'sym' && a.kind !== 'const') || (b.kind !== 'sym' && b.kind !== 'const')) return c;
  const diff = subDims(a, b);
  if (diff.kind !== 'sym') return c;
  const coefs = [...diff.poly.values()].filter(v => v !== 0);
  return coefs.length > 0 && (coefs.every(v => v > 0) || coefs.every(v => v < 0)) && !hasOpaqueAtom(diff) ? 'different' : 'unknown';
}

/** Atoms like `H//2` or `(H - 3)/2 + 1` parts may be 0 or fractional: positivity is not known for them. */
function hasOpaqueAtom(d: Dim): boolean {
  return d.kind === 'sym' && [...d.poly.keys()].some(k => k.split('*').some(atom => atom !== '' && !/^[A-Za-z_$][\w$]*$/.test(atom)));
}

export function provablyDifferent(a: Dim, b: Dim): boolean {
  return compareSizes(a, b) === 'different';
}

export function provablyEqual(a: Dim, b: Dim): boolean {
  return compareDims(a, b) === 'equal';
}

/** Compares two dim lists: 'different' if the lengths differ or some pair is provably different. */
export function compareDimLists(a: readonly Dim[], b: readonly Dim[]): Tri {
  if (a.length !== b.length) return 'different';
  let result: Tri = 'equal';
  for (let i = 0; i < a.length; i++) {
    const c = compareSizes(a[i], b[i]);
    if (c === 'different') return 'different';
    if (c === 'unknown') result = 'unknown';
  }
  return result;
}

/**
 * A target whose dims are the input's dims in another order: the permutation `q` such that
 * `target.permute(q)` has the input's layout (`[N, H, W, C]` against `[N, C, H, W]` gives
 * `[0, 3, 1, 2]`). Every dim must be provably equal to its partner and the order must differ
 * somewhere; undefined otherwise. Among several matchings the one keeping most dims in place wins.
 */
export function reorderedLayout(input: Shape, target: Shape): number[] | undefined {
  if (!fixedRank(input) || !fixedRank(target) || input.dims.length !== target.dims.length || input.dims.length < 2) return undefined;
  const n = input.dims.length;
  if (compareDimLists(input.dims, target.dims) === 'equal') return undefined;
  // The common cause first: classes last (`[N, H, W, C]`), i.e. q = [0, n-1, 1, …, n-2]; with
  // repeated sizes (`[2, 4, 4, 5]` against `[2, 5, 4, 4]`) several orders match and this one is meant.
  const classesLast = [0, n - 1, ...Array.from({ length: n - 2 }, (_, i) => i + 1)];
  if (n >= 3 && classesLast.every((i, j) => provablyEqual(target.dims[i], input.dims[j]))) return classesLast;
  // q[j] = the target position whose dim lands at input position j.
  const q: number[] = new Array(n).fill(-1);
  const used = new Array<boolean>(n).fill(false);
  const search = (j: number): boolean => {
    if (j === n) return true;
    const order = [j, ...Array.from({ length: n }, (_, i) => i).filter(i => i !== j)];
    for (const i of order) {
      if (used[i] || !provablyEqual(target.dims[i], input.dims[j])) continue;
      used[i] = true;
      q[j] = i;
      if (search(j + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  if (!search(0)) return undefined;
  if (q.every((i, j) => i === j)) return undefined;
  // Dims that sit at the same position in both are no evidence of a reordering; the moved ones must
  // not be provably equal in place (else the shapes are simply equal).
  if (compareDimLists(input.dims, target.dims) === 'equal') return undefined;
  return q;
}

/**
 * `b` is `a` with one extra size-1 dim at index k (`[N, 1, H, W]` against `[N, H, W]` gives 1):
 * every other dim provably equal. Undefined when no such k exists.
 */
export function extraSingleton(withOne: Shape, without: Shape): number | undefined {
  if (!fixedRank(withOne) || !fixedRank(without) || withOne.dims.length !== without.dims.length + 1) return undefined;
  for (let k = 0; k < withOne.dims.length; k++) {
    if (!isConst(withOne.dims[k], 1)) continue;
    const rest = withOne.dims.filter((_, i) => i !== k);
    if (compareDimLists(rest, without.dims) === 'equal') return k;
  }
  return undefined;
}

/** Like `extraSingleton` but only requires the other dims not to be provably different. */
export function extraSingletonLoose(withOne: Shape, without: Shape): number | undefined {
  if (!fixedRank(withOne) || !fixedRank(without) || withOne.dims.length !== without.dims.length + 1) return undefined;
  for (let k = 0; k < withOne.dims.length; k++) {
    if (!isConst(withOne.dims[k], 1)) continue;
    const rest = withOne.dims.filter((_, i) => i !== k);
    if (compareDimLists(rest, without.dims) !== 'different') return k;
  }
  return undefined;
}

export interface BroadcastResult {
  /** The broadcast shape (dims unknown where it depends on unknown sizes). */
  readonly shape: Shape;
  /** The mismatch PyTorch reports: the rightmost provably incompatible pair, as an index into the result. */
  readonly error?: { readonly dim: number; readonly a: Dim; readonly b: Dim };
}

/** NumPy / PyTorch / TF.js broadcasting of two fixed-rank shapes, aligned from the right. */
export function broadcast(a: Shape, b: Shape): BroadcastResult {
  const n = Math.max(a.dims.length, b.dims.length);
  const dims: Dim[] = new Array(n);
  let error: BroadcastResult['error'];
  for (let i = n - 1; i >= 0; i--) {
    const da = a.dims[i - (n - a.dims.length)] ?? constDim(1);
    const db = b.dims[i - (n - b.dims.length)] ?? constDim(1);
    if (provablyEqual(da, db) || isConst(db, 1)) dims[i] = da;
    else if (isConst(da, 1)) dims[i] = db;
    else if (provablyDifferent(da, db)) {
      dims[i] = UNKNOWN_DIM;
      // PyTorch's infer_size walks from the last dim down and stops at the first mismatch.
      error ??= { dim: i, a: da, b: db };
    } else dims[i] = UNKNOWN_DIM;
  }
  return { shape: { dims }, error };
}

export function dropDim(s: Shape, index: number): Shape {
  return { dims: s.dims.filter((_, i) => i !== index) };
}
