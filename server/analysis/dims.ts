// Symbolic dimensions and shapes: the values the shape interpreter computes with.
//
// A dim is a known integer, a symbolic expression over named sizes (a polynomial with integer
// coefficients, normalised so that `H*W` and `W*H` are the same), a variadic group (`*batch`),
// or unknown. Comparisons are three-valued: a check fires only on a provable difference.
// There is no solver: floor division and non-exact division of symbolic sizes become opaque
// atoms named by their normalised text, which are equal only to themselves.

export type Dim =
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'sym'; readonly poly: Poly }
  | { readonly kind: 'variadic'; readonly name: string }
  | { readonly kind: 'unknown' };

/** A polynomial: monomial key (atoms sorted and joined by `*`, '' for the constant) → coefficient. */
export type Poly = ReadonlyMap<string, number>;

/** A tensor shape; `undefined` where a shape is used means "shape unknown". */
export interface Shape {
  readonly dims: readonly Dim[];
}

export type Tri = 'equal' | 'different' | 'unknown';

export const UNKNOWN_DIM: Dim = Object.freeze({ kind: 'unknown' });

export function constDim(value: number): Dim {
  return { kind: 'const', value };
}

export function symDim(name: string): Dim {
  return { kind: 'sym', poly: new Map([[name, 1]]) };
}

export function variadicDim(name: string): Dim {
  return { kind: 'variadic', name };
}

export function shapeOf(dims: readonly (Dim | number | string)[]): Shape {
  return { dims: dims.map(d => (typeof d === 'number' ? constDim(d) : typeof d === 'string' ? symDim(d) : d)) };
}

export function isKnown(d: Dim): d is { kind: 'const'; value: number } {
  return d.kind === 'const';
}

/** True when the shape has a fixed rank (no variadic group). */
export function hasFixedRank(s: Shape): boolean {
  return s.dims.every(d => d.kind !== 'variadic');
}

// ---------------------------------------------------------------------------------------------
// Polynomials

function polyOfDim(d: Dim): Poly | undefined {
  if (d.kind === 'const') return d.value === 0 ? new Map() : new Map([['', d.value]]);
  if (d.kind === 'sym') return d.poly;
  return undefined;
}

function dimOfPoly(p: Map<string, number>): Dim {
  for (const [k, v] of p) if (v === 0) p.delete(k);
  if (p.size === 0) return constDim(0);
  if (p.size === 1 && p.has('')) return constDim(p.get('')!);
  return { kind: 'sym', poly: p };
}

function addPoly(a: Poly, b: Poly, sign: number): Map<string, number> {
  const r = new Map(a);
  for (const [k, v] of b) r.set(k, (r.get(k) ?? 0) + sign * v);
  return r;
}

function mulKeys(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return [...a.split('*'), ...b.split('*')].sort().join('*');
}

function mulPoly(a: Poly, b: Poly): Map<string, number> {
  const r = new Map<string, number>();
  for (const [ka, va] of a) for (const [kb, vb] of b) {
    const k = mulKeys(ka, kb);
    r.set(k, (r.get(k) ?? 0) + va * vb);
  }
  return r;
}

export function addDims(a: Dim, b: Dim): Dim {
  const pa = polyOfDim(a), pb = polyOfDim(b);
  return pa && pb ? dimOfPoly(addPoly(pa, pb, 1)) : UNKNOWN_DIM;
}

export function subDims(a: Dim, b: Dim): Dim {
  const pa = polyOfDim(a), pb = polyOfDim(b);
  return pa && pb ? dimOfPoly(addPoly(pa, pb, -1)) : UNKNOWN_DIM;
}

export function mulDims(a: Dim, b: Dim): Dim {
  const pa = polyOfDim(a), pb = polyOfDim(b);
  return pa && pb ? dimOfPoly(mulPoly(pa, pb)) : UNKNOWN_DIM;
}

/** Exact division `a / b`: a polynomial result when every coefficient divides, else an opaque atom. */
export function divDims(a: Dim, b: Dim): Dim {
  return divide(a, b, '/');
}

/** Floor division `a // b`, as Python and PyTorch's size arithmetic compute it. */
export function floorDivDims(a: Dim, b: Dim): Dim {
  return divide(a, b, '//');
}

function divide(a: Dim, b: Dim, op: '/' | '//'): Dim {
  const pa = polyOfDim(a), pb = polyOfDim(b);
  if (!pa || !pb) return UNKNOWN_DIM;
  if (b.kind === 'const') {
    if (b.value === 0) return UNKNOWN_DIM;
    if (a.kind === 'const') return constDim(op === '//' ? Math.floor(a.value / b.value) : a.value / b.value);
    if ([...pa.values()].every(v => v % b.value === 0)) {
      const r = new Map<string, number>();
      for (const [k, v] of pa) r.set(k, v / b.value);
      return dimOfPoly(r);
    }
  } else if (b.kind === 'sym') {
    // Exact symbolic quotient when a == q * b for a single monomial b (e.g. N*400 / N).
    if (pb.size === 1) {
      const [[kb, vb]] = [...pb];
      const r = new Map<string, number>();
      let ok = true;
      for (const [k, v] of pa) {
        const rest = removeFactors(k, kb);
        if (rest === undefined || v % vb !== 0) { ok = false; break; }
        r.set(rest, (r.get(rest) ?? 0) + v / vb);
      }
      if (ok) return dimOfPoly(r);
    }
  }
  const atom = `${wrapOperand(a)}${op}${wrapOperand(b)}`;
  return symDim(atom);
}

function wrapOperand(d: Dim): string {
  const text = formatDim(d);
  return /^[A-Za-z_0-9.]+$/.test(text) ? text : `(${text})`;
}

function removeFactors(key: string, factors: string): string | undefined {
  const have = key === '' ? [] : key.split('*');
  for (const f of factors === '' ? [] : factors.split('*')) {
    const i = have.indexOf(f);
    if (i < 0) return undefined;
    have.splice(i, 1);
  }
  return have.join('*');
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** Provable equality of two dims: same number, or the same normalised expression. */
export function compareDims(a: Dim, b: Dim): Tri {
  if (a.kind === 'const' && b.kind === 'const') return a.value === b.value ? 'equal' : 'different';
  if (a.kind === 'variadic' && b.kind === 'variadic') return a.name === b.name ? 'equal' : 'unknown';
  const pa = polyOfDim(a), pb = polyOfDim(b);
  if (!pa || !pb) return 'unknown';
  const diff = addPoly(pa, pb, -1);
  for (const [k, v] of diff) if (v === 0) diff.delete(k);
  if (diff.size === 0) return 'equal';
  // Differing only by a non-zero constant (N vs N+1) is provably different.
  if (diff.size === 1 && diff.has('')) return 'different';
  return 'unknown';
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return compareDims(a, b) === 'equal';
}

/** Provable equality of two shapes (rank and every dim). */
export function compareShapes(a: Shape, b: Shape): Tri {
  if (!hasFixedRank(a) || !hasFixedRank(b)) {
    if (a.dims.length === b.dims.length && a.dims.every((d, i) => compareDims(d, b.dims[i]) === 'equal')) return 'equal';
    return 'unknown';
  }
  if (a.dims.length !== b.dims.length) return 'different';
  let result: Tri = 'equal';
  for (let i = 0; i < a.dims.length; i++) {
    const c = compareDims(a.dims[i], b.dims[i]);
    if (c === 'different') return 'different';
    if (c === 'unknown') result = 'unknown';
  }
  return result;
}

/** The number of elements, or undefined when the rank is not fixed. */
export function numel(s: Shape): Dim | undefined {
  if (!hasFixedRank(s)) return undefined;
  return s.dims.reduce<Dim>((acc, d) => mulDims(acc, d), constDim(1));
}

// ---------------------------------------------------------------------------------------------
// Printing

function formatMonomial(key: string, coef: number, first: boolean): string {
  const sign = coef < 0 ? (first ? '-' : ' - ') : first ? '' : ' + ';
  const abs = Math.abs(coef);
  if (key === '') return sign + String(abs);
  const atoms = key.split('*');
  const alone = atoms.length === 1 && abs === 1;
  const body = atoms.map(a => (!alone && /[ +/]/.test(a) ? `(${a})` : a)).join('*');
  return sign + (abs === 1 ? body : `${abs}*${body}`);
}

/** Printed symbolic dims, by identity: dims are immutable and printing sorts terms. */
const symText = new WeakMap<Dim, string>();

/** `N`, `H*W`, `2*C + 1`, `?` for unknown, `*batch` for a variadic group. */
export function formatDim(d: Dim): string {
  if (d.kind === 'sym') {
    let t = symText.get(d);
    if (t === undefined) {
      t = formatDimUncached(d);
      symText.set(d, t);
    }
    return t;
  }
  return formatDimUncached(d);
}

function formatDimUncached(d: Dim): string {
  switch (d.kind) {
    case 'const': return String(d.value);
    case 'unknown': return '?';
    // An anonymous `...` group is named `...1`, `...2` (unique per occurrence) and prints as `...`.
    case 'variadic': return d.name.startsWith('...') ? '...' : `*${d.name}`;
    case 'sym': {
      // Higher-degree terms first, then alphabetical; the constant last.
      const terms = [...d.poly].filter(([, v]) => v !== 0).sort(([ka], [kb]) => {
        if (ka === '') return 1;
        if (kb === '') return -1;
        const da = ka.split('*').length, db = kb.split('*').length;
        return da !== db ? db - da : ka < kb ? -1 : ka > kb ? 1 : 0;
      });
      return terms.map(([k, v], i) => formatMonomial(k, v, i === 0)).join('');
    }
  }
}

/** `[N, C, H, W]`. */
export function formatShape(s: Shape | undefined): string {
  return s ? `[${s.dims.map(formatDim).join(', ')}]` : '[?]';
}

/** The command line's JSON form of a dim: a number, or a string for symbols, `"?"` and `"*batch"`. */
export function dimToJson(d: Dim): number | string {
  return d.kind === 'const' ? d.value : formatDim(d).replace(/ /g, '');
}

// ---------------------------------------------------------------------------------------------
// Dtypes

export type Dtype =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';

const DTYPE_ALIASES: Record<string, Dtype> = {
  float: 'float32', double: 'float64', long: 'int64', int: 'int32', half: 'float16',
  float16: 'float16', bfloat16: 'bfloat16', float32: 'float32', float64: 'float64',
  int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64', uint8: 'uint8', bool: 'bool',
};

/** Resolves a dtype name or alias (`long` → `int64`); undefined when it is not one. */
export function parseDtype(name: string): Dtype | undefined {
  return Object.prototype.hasOwnProperty.call(DTYPE_ALIASES, name) ? DTYPE_ALIASES[name] : undefined;
}

export function isFloatingDtype(d: Dtype): boolean {
  return d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
}

/** PyTorch's ScalarType name as it appears in its messages (`Long`, `Float`, `Int`, `Bool`). */
export function torchScalarTypeName(d: Dtype): string {
  const names: Record<Dtype, string> = {
    float16: 'Half', bfloat16: 'BFloat16', float32: 'Float', float64: 'Double',
    int8: 'Char', int16: 'Short', int32: 'Int', int64: 'Long', uint8: 'Byte', bool: 'Bool',
  };
  return names[d];
}

/** `ceil(a / s)` for a positive integer `s`, as TF.js's `same`/`valid` output sizes compute it. */
export function ceilDivKnown(a: Dim, s: number): Dim {
  if (s === 1) return a;
  if (a.kind === 'const') return constDim(Math.ceil(a.value / s));
  if (a.kind !== 'sym') return UNKNOWN_DIM;
  return symDim(`ceil(${formatDim(a).replace(/ /g, '')}/${s})`);
}
