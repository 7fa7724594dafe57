// Shapes as the panel edits them: dims text (`[N, C, H, W]`, `[N, H*W]`), the symbols in it, small
// default sizes for symbols, and resolution to concrete sizes for random tensors.
import type { DimJson } from '../../server/analysis/api';

export type DimSpec =
  | { readonly kind: 'size'; readonly value: number }
  /** A symbol (`N`), or an expression over symbols (`H*W`, `C+1`). */
  | { readonly kind: 'expr'; readonly text: string; readonly symbols: readonly string[] }
  /** `*batch` / `...`: zero or more dims; the panel takes none. */
  | { readonly kind: 'variadic'; readonly text: string };

export class ShapeTextError extends Error {}

const NAME = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** One dim from text or from the analysis's JSON (`"?"` becomes a symbol of its own, `?1`, `?2`, …). */
function dimFrom(text: string, unknowns: { n: number }): DimSpec {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { kind: 'size', value: Number(t) };
  if (t === '...' || t.startsWith('*')) return { kind: 'variadic', text: t };
  if (t === '?' || t === '_') {
    unknowns.n += 1;
    return { kind: 'expr', text: `?${unknowns.n}`, symbols: [`?${unknowns.n}`] };
  }
  if (!/^[A-Za-z0-9_$+\-*/() ]+$/.test(t) || t === '') throw new ShapeTextError(`"${t}" is not a dim (a size, a name or an expression such as H*W)`);
  const symbols = [...new Set(t.match(NAME) ?? [])];
  // Validate the expression once, with every symbol 1, so a typo is reported while typing.
  evalDim(t, Object.fromEntries(symbols.map(s => [s, 1])));
  return { kind: 'expr', text: t, symbols };
}

/** `[N, C, H, W]` → dims. Brackets are optional; an empty text or `[]` is a 0-d shape. */
export function parseShapeText(text: string): DimSpec[] {
  let t = text.trim();
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new ShapeTextError('a shape ends with "]"');
    t = t.slice(1, -1);
  }
  if (t.trim() === '') return [];
  const unknowns = { n: 0 };
  return t.split(',').map(d => dimFrom(d, unknowns));
}

export function dimsFromJson(shape: readonly DimJson[]): DimSpec[] {
  const unknowns = { n: 0 };
  return shape.map(d => (typeof d === 'number' ? { kind: 'size', value: d } as const : dimFrom(d, unknowns)));
}

export function shapeToText(dims: readonly DimSpec[]): string {
  return `[${dims.map(d => (d.kind === 'size' ? String(d.value) : d.text)).join(', ')}]`;
}

export function symbolsOf(...shapes: readonly (readonly DimSpec[])[]): string[] {
  const out: string[] = [];
  for (const dims of shapes) {
    for (const d of dims) {
      if (d.kind === 'expr') for (const s of d.symbols) if (!out.includes(s)) out.push(s);
    }
  }
  return out;
}

/**
 * A small size for a symbol with no known value: big enough to be a real batch, small enough that a
 * random evaluation is instant. Classes get 10 (ln 10 is a familiar 2.3026).
 */
export function defaultDimValue(name: string, known: Readonly<Record<string, number>> = {}): number {
  const k = known[name];
  if (Number.isSafeInteger(k) && k >= 0) return k;
  if (/^(n|b|bs|batch|batch_?size|batchSize)$/i.test(name)) return 4;
  if (/^(c|k|classes|num_?classes|n_?classes|numClasses|nClasses|ncls|vocab(_?size)?)$/i.test(name)) return 10;
  if (/^(h|w|d|height|width|depth)$/i.test(name)) return 16;
  if (/^(t|l|s|seq|seq_?len|len(gth)?|time)$/i.test(name)) return 12;
  return 8;
}

/** Evaluates `H*W`, `C+1`, `(H-1)//2` over integers; throws `ShapeTextError` on anything else. */
export function evalDim(text: string, values: Readonly<Record<string, number>>): number {
  const tokens = text.match(/\/\/|[A-Za-z_$][A-Za-z0-9_$?]*|\?\d+|\d+|[-+*/()]/g) ?? [];
  if (tokens.join('') !== text.replace(/\s+/g, '')) throw new ShapeTextError(`"${text}" is not a dim expression`);
  let i = 0;
  const peek = () => tokens[i];
  const atom = (): number => {
    const t = tokens[i++];
    if (t === undefined) throw new ShapeTextError(`"${text}" ends too early`);
    if (t === '(') {
      const v = expr();
      if (tokens[i++] !== ')') throw new ShapeTextError(`"${text}": missing ")"`);
      return v;
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_$?]/.test(t)) {
      const v = values[t];
      if (v === undefined) throw new ShapeTextError(`no size for ${t}`);
      return v;
    }
    throw new ShapeTextError(`"${text}": unexpected "${t}"`);
  };
  const term = (): number => {
    let v = atom();
    for (let op = peek(); op === '*' || op === '/' || op === '//'; op = peek()) {
      i++;
      const r = atom();
      if (op === '*') v *= r;
      else if (r === 0) throw new ShapeTextError(`"${text}" divides by zero`);
      else v = Math.floor(v / r);
    }
    return v;
  };
  const expr = (): number => {
    let v = term();
    for (let op = peek(); op === '+' || op === '-'; op = peek()) {
      i++;
      v = op === '+' ? v + term() : v - term();
    }
    return v;
  };
  const v = expr();
  if (i !== tokens.length) throw new ShapeTextError(`"${text}": unexpected "${tokens[i]}"`);
  return v;
}

/** Concrete sizes; variadic groups take no dims. Throws `ShapeTextError` for a missing or negative size. */
export function resolveShape(dims: readonly DimSpec[], values: Readonly<Record<string, number>>): number[] {
  const out: number[] = [];
  for (const d of dims) {
    if (d.kind === 'variadic') continue;
    const v = d.kind === 'size' ? d.value : evalDim(d.text, values);
    if (!Number.isSafeInteger(v) || v < 0) throw new ShapeTextError(`${d.kind === 'expr' ? d.text : 'a dim'} = ${v} is not a size`);
    out.push(v);
  }
  return out;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
