// JSON tensor files: a nested rectangular array (one tensor), or an object whose values are nested
// arrays or numbers (named tensors). The element type follows `torch.tensor`'s inference: any number
// written with a fraction or exponent (or NaN/Infinity, as Python's json writes them) makes float32,
// otherwise integers make int64, and all-boolean data makes bool.
//
// A small single-pass parser (not JSON.parse) so that the shape is checked while reading, a ragged
// row is reported with its index path, int64 values beyond 2^53 stay exact, and `1.0` stays a float.

import { TensorFileError, type Tensor, type TensorDtype } from '../types';
import type { NamedTensor } from './index';
import { formatShape, makeTensor } from './elements';

/** Deeper nesting than this is not a tensor anyone wrote by hand, and would only risk the stack. */
const MAX_DEPTH = 64;

export function readJsonTensors(fileName: string, bytes: Uint8Array, defaultName: string, options: { fast?: boolean } = {}): NamedTensor[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TensorFileError(fileName, 'not valid UTF-8 text');
  }
  if (options.fast ?? true) {
    const tensor = fastArray(text);
    if (tensor) return [{ name: defaultName, tensor }];
  }
  const p = new Parser(fileName, text);
  p.skipWs();
  if (text.charCodeAt(p.i) === 0xfeff) { p.i++; p.skipWs(); } // byte-order mark
  const arrays: NamedTensor[] = [];
  if (p.peek() === '{') {
    p.i++;
    p.skipWs();
    const seen = new Set<string>();
    if (p.peek() === '}') p.i++;
    else {
      for (;;) {
        p.skipWs();
        const name = p.string();
        if (seen.has(name)) p.fail(`duplicate key ${JSON.stringify(name)}`);
        seen.add(name);
        p.skipWs();
        p.expect(':');
        arrays.push({ name, tensor: p.tensor(name) });
        p.skipWs();
        if (p.peek() === ',') { p.i++; continue; }
        p.expect('}');
        break;
      }
    }
  } else {
    arrays.push({ name: defaultName, tensor: p.tensor(undefined) });
  }
  p.skipWs();
  if (p.i < text.length) p.fail('unexpected text after the value');
  return arrays;
}

class Parser {
  i = 0;
  constructor(readonly fileName: string, readonly text: string) {}

  fail(problem: string): never {
    const { line, column } = this.position();
    throw new TensorFileError(this.fileName, `${problem} (line ${line}, column ${column})`);
  }

  position(): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < this.i && k < this.text.length; k++) {
      if (this.text.charCodeAt(k) === 10) { line++; lineStart = k + 1; }
    }
    return { line, column: this.i - lineStart + 1 };
  }

  peek(): string { return this.text[this.i] ?? ''; }

  skipWs(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      this.i++;
    }
  }

  expect(c: string): void {
    if (this.text[this.i] !== c) this.fail(this.i >= this.text.length ? `unexpected end of file, expected '${c}'` : `expected '${c}'`);
    this.i++;
  }

  string(): string {
    if (this.peek() !== '"') this.fail('expected a string key');
    const start = this.i;
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i];
      if (c === '\\') this.i += 2;
      else if (c === '"') break;
      else this.i++;
    }
    if (this.i >= this.text.length) this.fail('unterminated string');
    this.i++;
    try {
      return JSON.parse(this.text.slice(start, this.i)) as string;
    } catch {
      this.i = start;
      return this.fail('invalid string');
    }
  }

  /**
   * One tensor value: a number, a boolean or a nested array. Rectangularity is checked per depth: the
   * first array met at each depth fixes that depth's length and whether its elements are arrays.
   */
  tensor(name: string | undefined): Tensor {
    const dims: number[] = [];
    const elementIsArray: (boolean | undefined)[] = [];
    const path: number[] = [];
    const values: number[] = [];
    const bigInts = new Map<number, bigint>();
    let sawFloat = false;
    let sawInt = false;
    let sawBool = false;
    const where = () => (name === undefined ? '' : `${JSON.stringify(name)}`) + path.map(k => `[${k}]`).join('');

    const leaf = () => {
      const t = this.text;
      const start = this.i;
      const c0 = t.charCodeAt(start);
      // Keywords first by their first character, so numbers (nearly every leaf) pay one comparison.
      if (c0 === 116 /* t */ && t.startsWith('true', start)) { this.i += 4; values.push(1); sawBool = true; return; }
      if (c0 === 102 /* f */ && t.startsWith('false', start)) { this.i += 5; values.push(0); sawBool = true; return; }
      if (c0 === 78 /* N */ && t.startsWith('NaN', start)) { this.i += 3; values.push(NaN); sawFloat = true; return; }
      const neg = c0 === 45; // '-'
      if ((c0 === 73 /* I */ || (neg && t.charCodeAt(start + 1) === 73)) && t.startsWith('Infinity', start + (neg ? 1 : 0))) {
        this.i += neg ? 9 : 8;
        values.push(neg ? -Infinity : Infinity);
        sawFloat = true;
        return;
      }
      const end = scanNumber(t, start);
      if (end < 0) {
        if (c0 === 34 /* " */) this.fail(`element ${where()} is a string; a tensor holds numbers or booleans`);
        if (t.startsWith('null', start)) this.fail(`element ${where()} is null; a tensor holds numbers or booleans`);
        if (c0 === 123 /* { */) this.fail(`element ${where()} is an object; a tensor holds numbers or booleans`);
        this.fail(start >= t.length ? 'unexpected end of file, expected a value' : 'expected a number, a boolean or an array');
      }
      this.i = end & 0x3fffffff;
      const text = t.slice(start, this.i);
      const v = Number(text);
      if (end & 0x40000000) {
        sawFloat = true;
      } else {
        sawInt = true;
        if (!Number.isSafeInteger(v)) {
          const big = BigInt(text);
          if (big > 0x7fffffffffffffffn || big < -0x8000000000000000n) this.fail(`integer ${text} does not fit in int64`);
          bigInts.set(values.length, big);
        }
      }
      values.push(v);
    };

    const value = (depth: number) => {
      this.skipWs();
      const isArray = this.peek() === '[';
      if (depth > 0) {
        const expected = elementIsArray[depth];
        if (expected === undefined) elementIsArray[depth] = isArray;
        else if (expected !== isArray) {
          this.fail(`ragged nested array: element ${where()} is ${isArray ? 'an array' : 'a scalar'} but earlier elements at that depth are ${expected ? 'arrays' : 'scalars'}`);
        }
      }
      if (!isArray) { leaf(); return; }
      if (depth >= MAX_DEPTH) this.fail(`arrays nested more than ${MAX_DEPTH} deep`);
      this.i++;
      this.skipWs();
      let n = 0;
      if (this.peek() === ']') this.i++;
      else {
        for (;;) {
          path.push(n);
          value(depth + 1);
          path.pop();
          n++;
          this.skipWs();
          if (this.peek() === ',') { this.i++; continue; }
          this.expect(']');
          break;
        }
      }
      const expectedLength = dims[depth];
      if (expectedLength === undefined) dims[depth] = n;
      else if (expectedLength !== n) {
        const shown = where() || 'the array';
        this.fail(`ragged nested array: ${shown} has ${n} elements but earlier arrays at that depth have ${expectedLength}`);
      }
    };

    value(0);
    // `[[], []]` fixes dims at depths 0 and 1 without ever meeting an element at depth 2.
    const shape = dims.slice();
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== values.length) this.fail(`ragged nested array: shape ${formatShape(shape)} but ${values.length} values`);
    const dtype: TensorDtype = sawFloat ? 'float32' : sawInt ? 'int64' : sawBool ? 'bool' : 'float32';
    return makeTensor(dtype, shape, toTypedArray(dtype, values, bigInts));
  }
}

/**
 * Scans a JSON number (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) starting at `i`. Returns its end
 * offset, with bit 30 set when it has a fraction or exponent (a float), or -1 when there is none.
 * Texts are far below 2^30 characters (a JSON tensor file is read whole into one string).
 */
function scanNumber(t: string, i: number): number {
  const n = t.length;
  let float = false;
  if (t.charCodeAt(i) === 45) i++; // '-'
  const digits = (from: number) => {
    let k = from;
    while (k < n) {
      const c = t.charCodeAt(k);
      if (c < 48 || c > 57) break;
      k++;
    }
    return k;
  };
  if (t.charCodeAt(i) === 48) i++; // a single leading 0
  else {
    const e = digits(i);
    if (e === i) return -1;
    i = e;
  }
  if (t.charCodeAt(i) === 46) { // '.'
    const e = digits(i + 1);
    if (e === i + 1) return -1;
    i = e;
    float = true;
  }
  const c = t.charCodeAt(i);
  if (c === 101 || c === 69) { // 'e' | 'E'
    let k = i + 1;
    const s = t.charCodeAt(k);
    if (s === 43 || s === 45) k++;
    const e = digits(k);
    if (e === k) return -1;
    i = e;
    float = true;
  }
  return float ? i | 0x40000000 : i;
}

/**
 * The common case, a well-formed rectangular array of numbers, through the native `JSON.parse` (about
 * 5× the parser above). Returns undefined whenever the result could differ from the parser's, which
 * then runs and reports any problem precisely: not a top-level array, NaN/Infinity (not JSON),
 * 16+ digit runs (an int64 beyond 2^53 would be rounded), or anything ragged or non-numeric.
 */
function fastArray(text: string): Tensor | undefined {
  const first = text.trimStart().charCodeAt(0);
  if (first !== 91 /* [ */ || /\d{16}/.test(text)) return undefined;
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  const shape: number[] = [];
  for (let x: unknown = root; Array.isArray(x); x = x[0]) {
    shape.push(x.length);
    if (shape.length > MAX_DEPTH || x.length === 0) break;
  }
  if (shape.length > MAX_DEPTH) return undefined;
  const count = shape.reduce((x, y) => x * y, 1);
  const values = new Float64Array(count);
  let at = 0;
  let sawBool = false;
  let sawNumber = false;
  const last = shape.length - 1;
  // Recurses over arrays only; the innermost arrays are read in a flat loop.
  const walk = (node: unknown, depth: number): boolean => {
    if (!Array.isArray(node) || node.length !== shape[depth]) return false;
    if (depth === last) {
      for (let k = 0; k < node.length; k++) {
        const v: unknown = node[k];
        if (typeof v === 'number') { values[at++] = v; sawNumber = true; }
        else if (typeof v === 'boolean') { values[at++] = v ? 1 : 0; sawBool = true; }
        else return false;
      }
      return true;
    }
    for (let k = 0; k < node.length; k++) if (!walk(node[k], depth + 1)) return false;
    return true;
  };
  if (!walk(root, 0) || at !== count) return undefined;
  // Only numbers, booleans and brackets passed the walk, so a '.', an 'E' or a digit followed by 'e'
  // can only be part of a number written as a float ('e' alone also occurs in true/false).
  const float = /[.E]|\de/.test(text);
  const dtype: TensorDtype = float ? 'float32' : sawNumber ? 'int64' : sawBool ? 'bool' : 'float32';
  const data = dtype === 'float32' ? new Float32Array(values) : dtype === 'bool' ? Uint8Array.from(values)
    : BigInt64Array.from(values, v => BigInt(v));
  return makeTensor(dtype, shape, data);
}

function toTypedArray(dtype: TensorDtype, values: number[], bigInts: Map<number, bigint>) {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'bool') return Uint8Array.from(values);
  const out = new BigInt64Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = bigInts.get(k) ?? BigInt(values[k]!);
  return out;
}
