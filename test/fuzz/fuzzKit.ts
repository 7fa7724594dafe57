// Shared pieces of the analysis and language-server fuzzers: configuration, a seeded generator, the
// corpus of real programs, text mutations, and random annotations and programs built from the grammar.
//
// Every case is generated from (seed, index) alone, so one failing case can be replayed by itself:
// `FUZZ_SEED=<seed> FUZZ_CASE=<index> npx vitest run test/fuzz/<file>`.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { mulberry32 } from '../../compute/random';

export const ROOT = join(__dirname, '..', '..');

export interface FuzzConfig {
  /** Cases to run (the analysis fuzzer runs this many; the server fuzzer a tenth, at least 40). */
  readonly count: number;
  readonly seed: number;
  /** Replay only this case index. */
  readonly only?: number;
  /** A case slower than this is a hang (ms). */
  readonly caseMs: number;
}

/**
 * FUZZ_COUNT (default 300: seconds, for `npm test`), FUZZ_SEED (a number, or `random`; default a fixed
 * seed when FUZZ_COUNT is unset, so `npm test` is deterministic, and a fresh one when it is set),
 * FUZZ_CASE (replay one case), FUZZ_CASE_MS (default 10000: the slowest pathological case took 1.4 s at
 * load 15 on 2 cores; a hang is caught all the same).
 */
export function fuzzConfig(env: NodeJS.ProcessEnv = process.env): FuzzConfig {
  const count = env.FUZZ_COUNT ? positiveInt(env.FUZZ_COUNT, 'FUZZ_COUNT') : 300;
  const seedText = env.FUZZ_SEED ?? (env.FUZZ_COUNT ? 'random' : '20261128');
  const seed = seedText === 'random' ? (Date.now() ^ (process.pid << 16)) >>> 0 : positiveInt(seedText, 'FUZZ_SEED', true);
  const only = env.FUZZ_CASE !== undefined ? positiveInt(env.FUZZ_CASE, 'FUZZ_CASE', true) : undefined;
  const caseMs = env.FUZZ_CASE_MS ? positiveInt(env.FUZZ_CASE_MS, 'FUZZ_CASE_MS') : 10_000;
  return { count, seed, only, caseMs };
}

function positiveInt(text: string, name: string, zeroOk = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1) || n > 0xffffffff) {
    throw new Error(`${name} must be ${zeroOk ? 'a non-negative' : 'a positive'} integer below 2^32, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** The command line that replays one case. */
export function replayHint(cfg: FuzzConfig, index: number, file: string): string {
  return `FUZZ_SEED=${cfg.seed} FUZZ_CASE=${index} npx vitest run ${file}`;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32 over a 32-bit state. */
export function rng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
  };
}

/** The generator of case `index` under `seed`: independent of every other case (splitmix-style mix). */
export function caseRng(seed: number, index: number): Rng {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return rng((z ^ (z >>> 16)) >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Corpus: real programs to mutate

export interface CorpusFile {
  readonly name: string;
  readonly text: string;
}

/** Programs to mutate: the examples, the analysis fixtures, and two seeds of our own (so the corpus is never empty). */
export function loadCorpus(): CorpusFile[] {
  const files: CorpusFile[] = [...SEED_PROGRAMS];
  for (const dir of ['examples', join('test', 'fixtures')]) {
    for (const f of walk(join(ROOT, dir))) {
      if (!/\.tsx?$/.test(f)) continue;
      const text = readFileSync(f, 'utf8');
      if (text.length <= 200_000) files.push({ name: relative(ROOT, f), text });
    }
  }
  return files;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const SEED_PROGRAMS: CorpusFile[] = [
  {
    name: '(seed) torchSegmentation.ts',
    text: `import * as torch from 'js-pytorch';
import { nn } from 'js-pytorch';

const NUM_CLASSES = 21;

class Head {
  conv = new nn.Conv2d(64, NUM_CLASSES, 1);
  /** @shape x [N, 64, H, W] @shape returns [N, NUM_CLASSES, H, W] */
  forward(x: torch.Tensor): torch.Tensor {
    return this.conv.forward(x);
  }
}

/**
 * @shape features [N, 64, H, W] float32
 * @shape masks [N, 1, H, W] int64
 * @shape returns []
 */
export function step(features: torch.Tensor, masks: torch.Tensor, head: Head): torch.Tensor {
  const logits = head.forward(features);
  const probs = torch.softmax(logits, 1); // @shape [N, NUM_CLASSES, H, W]
  const flat = logits.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES);
  const target = masks.squeeze(1);
  const picked = probs.argmax(1);
  const loss = torch.nn.functional.cross_entropy(logits, masks, { ignoreIndex: 255, reduction: 'mean' });
  const other = torch.nn.functional.cross_entropy(flat, target.view(-1));
  return loss.add(other);
}
`,
  },
  {
    name: '(seed) tfjsClassifier.ts',
    text: `import * as tf from '@tensorflow/tfjs';

const model = tf.sequential();
model.add(tf.layers.dense({ units: 128, inputShape: [784], activation: 'relu' }));
model.add(tf.layers.dense({ units: 10 }));

/** @shape x [B, 784] float32 @shape labels [B] int32 */
export function loss(x: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const logits = model.apply(x) as tf.Tensor2D;
  const oneHot = tf.oneHot(labels, 10);
  const w = tf.randomNormal([784, 10]);
  const y = tf.matMul(x, w);
  const l = tf.losses.softmaxCrossEntropy(oneHot, logits);
  return tf.losses.softmaxCrossEntropy(oneHot.reshape([-1, 5]), y) as tf.Scalar;
}
`,
  },
];

// ---------------------------------------------------------------------------------------------
// Annotations from the DESIGN §2 grammar, well-formed and broken

const NAMES = ['N', 'C', 'H', 'W', 'B', 'T', 'V', 'K', 'nClasses', 'NUM_CLASSES', 'batch', 'x', 'Ñ', 'ä1', '$d', '_x'];
const INTS = ['0', '1', '2', '3', '7', '21', '64', '512', '-1', '-7', '2147483648', '9007199254740993', '1e308', '00', '0x10', '1.5'];
const DTYPES = ['float16', 'bfloat16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool',
  'float', 'double', 'long', 'int', 'float128', 'Float32', 'complex64', 'int64int64', ''];
const JUNK = ['', ',', ',,', '[', ']', '[[', ']]', '(', ')', '+', '*', '**', '//', '/', '-', '@shape', '...', '*', '_', '?', '"', "'", '`', '\\', '{', '}', '\u0000', '\u2028', '😀'];

export function genDim(r: Rng, depth = 0): string {
  const k = r.int(depth > 3 ? 4 : 9);
  switch (k) {
    case 0: return r.pick(INTS);
    case 1: return r.pick(NAMES);
    case 2: return '_';
    case 3: return r.chance(0.5) ? `*${r.pick(NAMES)}` : '...';
    case 4: case 5: return `${genDim(r, depth + 1)} ${r.pick(['+', '-', '*', '/', '//'])} ${genDim(r, depth + 1)}`;
    case 6: return `(${genDim(r, depth + 1)})`;
    case 7: return r.chance(0.5) ? `(${genDim(r, depth + 1)}` : `${genDim(r, depth + 1)})`;
    default: return r.pick(JUNK);
  }
}

export function genShape(r: Rng): string {
  const rank = r.pick([0, 1, 2, 3, 4, 4, 5, 8, 40]);
  const dims = Array.from({ length: rank }, () => genDim(r));
  let s = `[${dims.join(r.chance(0.9) ? ', ' : ',')}]`;
  if (r.chance(0.08)) s = s.slice(1);
  if (r.chance(0.08)) s = s.slice(0, -1);
  if (r.chance(0.05)) s = `[${s}]`;
  return s;
}

/** One `@shape …` annotation: sometimes well-formed, sometimes not. */
export function genAnnotation(r: Rng, params: readonly string[] = []): string {
  const head = r.chance(0.05) ? r.pick(['@shape', '@shap', '@Shape', '@shape@shape', '@shape:']) : '@shape';
  const target = params.length && r.chance(0.4) ? `${r.pick(params)} ` : r.chance(0.15) ? 'returns ' : '';
  const dtype = r.chance(0.5) ? ` ${r.pick(DTYPES)}` : '';
  return `${head} ${target}${r.chance(0.97) ? genShape(r) : ''}${dtype}`;
}

// ---------------------------------------------------------------------------------------------
// Random programs made of the registry's ops (DESIGN §3), both profiles

const TORCH_METHODS: ReadonlyArray<(r: Rng, v: string) => string> = [
  (r, v) => `${v}.squeeze(${r.pick(['', '0', '1', '-1', '5'])})`,
  (r, v) => `${v}.unsqueeze(${r.pick(['0', '1', '-1', '9'])})`,
  (r, v) => `${v}.permute(${r.pick(['0, 2, 3, 1', '0, 3, 1, 2', '1, 0', '0, 1, 2', '0, 0, 1, 2'])})`,
  (r, v) => `${v}.transpose(${r.pick(['0, 1', '1, 2', '-1, -2', '0, 7'])})`,
  (r, v) => `${v}.view(${r.pick(['-1', '-1, 21', '8, -1, 7', '-1, -1', '0', 'N, -1', '2, 3, 4'])})`,
  (r, v) => `${v}.reshape([${r.pick(['-1', '-1, 21', '4, 5', '-1, 0'])}])`,
  (r, v) => `${v}.flatten(${r.pick(['', '1', '0, 1', '2, 1'])})`,
  (r, v) => `${v}.sum(${r.pick(['', '1', '-1', '1, true', '{ dim: 2, keepdim: true }'])})`,
  (r, v) => `${v}.mean(${r.pick(['', '0', '1, true'])})`,
  (r, v) => `${v}.argmax(${r.pick(['', '1', '-1'])})`,
  (r, v) => `${v}.softmax(${r.pick(['1', '-1', '4'])})`,
  (r, v) => `${v}.log_softmax(${r.pick(['1', '-1'])})`,
  (r, v) => `${v}.${r.pick(['long', 'float', 'sigmoid', 'exp', 'abs'])}()`,
  (r, v) => `${v}.matmul(${v})`,
  (r, v) => `${v}.add(${v})`,
  (r, v) => `${v} ${r.pick(['+', '-', '*', '/'])} ${r.pick(['1', v])}`,
];

const TORCH_CALLS: ReadonlyArray<(r: Rng, a: string, b: string) => string> = [
  (r) => `torch.zeros([${genConcreteDims(r)}])`,
  (r) => `torch.randn(${genConcreteDims(r)})`,
  (r) => `torch.ones(${genConcreteDims(r)})`,
  (r) => `torch.full([${genConcreteDims(r)}], ${r.pick(['0', '1.5', '-1'])})`,
  (r) => `torch.randint(${r.pick(['0', '-3'])}, ${r.pick(['5', '21', '256'])}, [${genConcreteDims(r)}])`,
  (r) => `torch.tensor(${r.pick(['[[1, 2], [3, 4]]', '[1, 2, 3]', '[[1], [2, 3]]', '[]', '[[[0.5]]]', '5'])})`,
  (r, a, b) => `torch.cat([${a}, ${b}], ${r.pick(['0', '1', '-1', '3'])})`,
  (r, a, b) => `torch.stack([${a}, ${b}]${r.chance(0.5) ? ', 1' : ''})`,
  (r, a) => `F.one_hot(${a}, ${r.pick(['5', '21', '1', '0'])})`,
  (r, a, b) => `F.${r.pick(['cross_entropy', 'crossEntropy', 'nll_loss', 'mse_loss', 'l1_loss', 'binary_cross_entropy', 'binary_cross_entropy_with_logits'])}(${a}, ${b}${r.chance(0.4) ? `, ${genLossOptions(r)}` : ''})`,
  (r, a, b) => `F.linear(${a}, ${b})`,
  (r, a, b) => `F.conv2d(${a}, ${b})`,
  (r, a) => `F.max_pool2d(${a}, ${r.pick(['2', '3', '0'])})`,
  (r, a) => `new nn.${r.pick(['Linear', 'Conv2d'])}(${r.pick(['3, 4', '64, 21, 3', '0, 0', '-1, 2'])}).forward(${a})`,
  (r, a, b) => `criterion(${a}, ${b})`,
];

function genConcreteDims(r: Rng): string {
  const rank = r.pick([0, 1, 2, 3, 4, 5]);
  return Array.from({ length: rank }, () => r.pick(['1', '2', '3', '5', '21', '64', 'NUM_CLASSES', '0', '-1', '100000'])).join(', ');
}

function genLossOptions(r: Rng): string {
  const parts: string[] = [];
  if (r.chance(0.5)) parts.push(`reduction: ${r.pick(["'mean'", "'sum'", "'none'", "'avg'", '1'])}`);
  if (r.chance(0.5)) parts.push(`ignoreIndex: ${r.pick(['-100', '255', '0', '-1', '1e9'])}`);
  if (r.chance(0.3)) parts.push(`labelSmoothing: ${r.pick(['0.1', '1.5', '-1', 'NaN'])}`);
  if (r.chance(0.3)) parts.push(`weight: ${r.pick(['w', 'torch.ones([5])', 'null'])}`);
  return `{ ${parts.join(', ')} }`;
}

const TFJS_CALLS: ReadonlyArray<(r: Rng, a: string, b: string) => string> = [
  (r) => `tf.zeros([${genConcreteDims(r)}])`,
  (r) => `tf.randomNormal([${genConcreteDims(r)}])`,
  (r) => `tf.tensor2d([[1, 2], [3, 4]], [${r.pick(['2, 2', '4, 1', '3, 3'])}])`,
  (r, a) => `tf.oneHot(${a}, ${r.pick(['10', '1', '0'])})`,
  (r, a, b) => `tf.matMul(${a}, ${b}${r.chance(0.3) ? ', true' : ''})`,
  (r, a, b) => `tf.concat([${a}, ${b}], ${r.pick(['0', '1', '-1'])})`,
  (r, a) => `${a}.reshape([${r.pick(['-1', '-1, 10', '2, -1, 5'])}])`,
  (r, a) => `${a}.expandDims(${r.pick(['0', '-1', '4'])})`,
  (r, a) => `${a}.argMax(${r.pick(['', '1', '-1'])})`,
  (r, a) => `tf.transpose(${a}${r.chance(0.5) ? `, [${r.pick(['1, 0', '0, 2, 1', '0, 0'])}]` : ''})`,
  (r, a, b) => `tf.losses.${r.pick(['softmaxCrossEntropy', 'sigmoidCrossEntropy', 'meanSquaredError'])}(${a}, ${b})`,
  (r, a, b) => `tf.metrics.${r.pick(['categoricalCrossentropy', 'binaryCrossentropy', 'sparseCategoricalCrossentropy'])}(${a}, ${b})`,
  (r, a, b) => `${a}.add(${b})`,
];

/** A random program in one of the two profiles: declarations chained through the registry's ops, with random annotations. */
export function genProgram(r: Rng): string {
  const tfjs = r.chance(0.3);
  const lines: string[] = tfjs
    ? [`import * as tf from '@tensorflow/tfjs';`]
    : [`import * as torch from 'js-pytorch';`, `import { nn } from 'js-pytorch';`, `import * as F from 'js-pytorch/functional';`,
      `const criterion = new nn.CrossEntropyLoss(${r.chance(0.3) ? genLossOptions(r) : ''});`];
  lines.push(`const NUM_CLASSES = ${r.pick(['21', '1', '0', '-1', '5'])};`);
  const params = ['x', 'y', 'mask'];
  const docs = Array.from({ length: r.int(4) }, () => ` * ${genAnnotation(r, params)}`);
  lines.push('/**', ...docs, ' */');
  lines.push(`export function step(x: any, y: any, mask: any) {`);
  const vars = [...params];
  const n = r.range(1, 14);
  for (let i = 0; i < n; i++) {
    const a = r.pick(vars);
    const b = r.pick(vars);
    let expr: string;
    if (tfjs) expr = r.pick(TFJS_CALLS)(r, a, b);
    else expr = r.chance(0.5) ? r.pick(TORCH_METHODS)(r, a) : r.pick(TORCH_CALLS)(r, a, b);
    const name = `v${i}`;
    const pre = r.chance(0.25) ? `  /** ${genAnnotation(r)} */\n` : '';
    const post = r.chance(0.25) ? ` // ${genAnnotation(r)}` : '';
    const kind = r.pick(['const', 'let', 'const', 'var']);
    if (r.chance(0.1)) {
      lines.push(`  if (${a}) {`, `${pre}    ${kind} ${name} = ${expr};${post}`, `  }`);
    } else if (r.chance(0.05)) {
      lines.push(`  for (let i = 0; i < 3; i++) { ${a} = ${expr}; }`);
    } else {
      lines.push(`${pre}  ${kind} ${name} = ${expr};${post}`);
      vars.push(name);
    }
  }
  lines.push(`  return ${r.pick(vars)};`, '}');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Mutations of real text

const TOKENS = ['(', ')', '[', ']', '{', '}', ',', '.', ';', '=>', '=', '\n', '/**', '*/', '//', '/*', "'", '"', '`', '${',
  ' @shape ', ' @shape [N, C, H, W] ', ' @shape [N, 1, H, W] int64 ', ' @shape returns [] ', '[N, C]', '.squeeze(1)', '.view(-1)',
  '.permute(0, 3, 1, 2)', '.long()', '-1', '0', '1e308', 'NaN', 'undefined', 'null', 'new ', 'class ', 'function ', 'return ',
  'F.cross_entropy(', 'crossEntropy(', 'torch.', 'tf.', 'import ', 'export ', '<', '>', '?', ':', '!', '...', '\t', '\r\n', '\u00a0', '\ufeff', '😀'];

export interface Mutation {
  /** Offsets into the text before the mutation; end exclusive. */
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

/** One random edit of `text`, as a single range replacement (what an editor sends). */
export function genMutation(r: Rng, text: string): Mutation {
  const len = text.length;
  const at = r.int(len + 1);
  switch (r.int(9)) {
    case 0: { // delete a span
      const end = Math.min(len, at + 1 + r.int(r.chance(0.8) ? 8 : 400));
      return { start: at, end, newText: '' };
    }
    case 1: // insert a token
      return { start: at, end: at, newText: r.pick(TOKENS) };
    case 2: { // duplicate a span elsewhere
      const s = r.int(len + 1);
      const e = Math.min(len, s + r.int(200));
      return { start: at, end: at, newText: text.slice(s, e) };
    }
    case 3: // truncate
      return { start: at, end: len, newText: '' };
    case 4: { // replace a number literal
      const m = findMatch(r, text, /\b\d+(?:\.\d+)?\b/g);
      return m ? { start: m.index, end: m.index + m[0].length, newText: r.pick(INTS) } : { start: at, end: at, newText: r.pick(INTS) };
    }
    case 5: { // replace the body of a shape annotation
      const m = findMatch(r, text, /\[[^\]\n]*\]/g);
      return m ? { start: m.index, end: m.index + m[0].length, newText: genShape(r) } : { start: at, end: at, newText: genShape(r) };
    }
    case 6: { // replace an identifier with another op or name
      const m = findMatch(r, text, /\b[A-Za-z_]\w*\b/g);
      const repl = r.pick(['squeeze', 'permute', 'view', 'reshape', 'cross_entropy', 'crossEntropy', 'oneHot', 'matmul', 'N', 'C', 'forward', 'constructor', '__proto__', 'prototype', 'toString', 'Tensor4D']);
      return m ? { start: m.index, end: m.index + m[0].length, newText: repl } : { start: at, end: at, newText: repl };
    }
    case 7: // a whole random annotation comment
      return { start: at, end: at, newText: `\n// ${genAnnotation(r)}\n` };
    default: { // random characters
      const n = 1 + r.int(12);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.9) ? 32 + r.int(95) : r.int(0x3000));
      return { start: at, end: at, newText: s };
    }
  }
}

function findMatch(r: Rng, text: string, re: RegExp): RegExpExecArray | null {
  const all = [...text.matchAll(re)];
  return all.length ? (all[r.int(all.length)] as RegExpExecArray) : null;
}

export function applyMutation(text: string, m: Mutation): string {
  return text.slice(0, m.start) + m.newText + text.slice(m.end);
}

/** Pathological inputs that stress recursion depth, size and the dim algebra. */
export function genPathological(r: Rng): string {
  switch (r.int(7)) {
    case 0: return `const x = ${'('.repeat(r.range(100, 3000))}1${')'.repeat(r.range(0, 3000))};`;
    case 1: return `/** @shape [${Array.from({ length: r.range(50, 400) }, (_, i) => `D${i}`).join(', ')}] */\nconst x = y;`;
    case 2: { // a product of sums: the dim normaliser's worst case
      const factor = `(${Array.from({ length: r.range(2, 5) }, (_, i) => `A${i}`).join(' + ')})`;
      return `/** @shape [${Array.from({ length: r.range(2, 9) }, () => factor).join(' * ')}] */\nconst x = y;\nconst z = x.view(-1);`;
    }
    case 3: return `const x = torch.zeros([${Array.from({ length: r.range(20, 200) }, () => '2').join(', ')}]).sum(1).view(-1);`;
    case 4: return `// @shape [N]\n`.repeat(r.range(100, 2000));
    case 5: return `import * as torch from 'js-pytorch';\nlet t = torch.zeros([2, 3]);\n${'t = t.unsqueeze(0).squeeze(0);\n'.repeat(r.range(100, 1500))}`;
    default: return 'x'.repeat(r.range(10_000, 200_000));
  }
}
