// Property tests: random shape-consistent programs built from the registry's ops never crash the
// analysis, never get an error, and get exactly the shapes a direct model of the ops computes;
// random text and random edits of real files never crash it.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeText } from '../../server/analysis';

type Shape = number[];
interface Var {
  name: string;
  shape: Shape;
  dtype: 'float32' | 'int64' | 'int32';
}

/** Deterministic by default; `TL_PROP_RUNS=5000 TL_PROP_SEED=$RANDOM` explores further. */
const RUNS = Number(process.env.TL_PROP_RUNS ?? 150);
const SEED = Number(process.env.TL_PROP_SEED ?? 20261128);

const fmt = (s: Shape) => `[${s.join(', ')}]`;
const prod = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** One random op applied to a float variable: the code and the resulting shape, or undefined when not applicable. */
type OpGen = (x: Var, r: (n: number) => number) => { code: string; shape: Shape; dtype?: Var['dtype'] } | undefined;

const torchOps: OpGen[] = [
  (x, r) => { const k = r(x.shape.length + 1); const s = [...x.shape]; s.splice(k, 0, 1); return { code: `${x.name}.unsqueeze(${k})`, shape: s }; },
  (x, r) => { const i = x.shape.indexOf(1); if (i < 0) return undefined; const s = [...x.shape]; s.splice(i, 1); return { code: `${x.name}.squeeze(${r(2) ? i : i - x.shape.length})`, shape: s }; },
  (x, r) => { const p = x.shape.map((_, i) => i); for (let i = p.length - 1; i > 0; i--) { const j = r(i + 1); [p[i], p[j]] = [p[j], p[i]]; } return { code: `${x.name}.permute(${p.join(', ')})`, shape: p.map(i => x.shape[i]) }; },
  (x, r) => { if (x.shape.length < 2) return undefined; const a = r(x.shape.length), b = r(x.shape.length); const s = [...x.shape]; [s[a], s[b]] = [s[b], s[a]]; return { code: `${x.name}.transpose(${a}, ${b})`, shape: s }; },
  x => { if (x.shape.length === 0) return undefined; const last = x.shape[x.shape.length - 1]; if (last === 0) return undefined; return { code: `${x.name}.contiguous().view(-1, ${last})`, shape: [prod(x.shape) / last, last] }; },
  x => ({ code: `torch.reshape(${x.name}, [${prod(x.shape)}])`, shape: [prod(x.shape)] }),
  (x, r) => { if (x.shape.length === 0) return undefined; const st = r(x.shape.length); return { code: `${x.name}.flatten(${st})`, shape: [...x.shape.slice(0, st), prod(x.shape.slice(st))] }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); const keep = r(2) === 1; const s = keep ? x.shape.map((v, i) => (i === d ? 1 : v)) : x.shape.filter((_, i) => i !== d); return { code: `${x.name}.sum(${d}, ${keep})`, shape: s }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `torch.mean(${x.name}, ${d - x.shape.length})`, shape: x.shape.filter((_, i) => i !== d) }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `F.softmax(${x.name}, ${d})`, shape: x.shape }; },
  x => ({ code: `${x.name}.relu().sigmoid()`, shape: x.shape }),
  (x, r) => { const ones = x.shape.map(v => (r(2) ? v : 1)); return { code: `${x.name}.add(torch.ones([${ones.join(', ')}]))`, shape: x.shape }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const k = 1 + r(5); return { code: `torch.matmul(${x.name}, torch.randn([${x.shape[x.shape.length - 1]}, ${k}]))`, shape: x.shape.length === 1 ? [k] : [...x.shape.slice(0, -1), k] }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const k = 1 + r(5); return { code: `new nn.Linear(${x.shape[x.shape.length - 1]}, ${k}).forward(${x.name})`, shape: [...x.shape.slice(0, -1), k] }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `torch.cat([${x.name}, ${x.name}], ${d})`, shape: x.shape.map((v, i) => (i === d ? 2 * v : v)) }; },
  (x, r) => { const d = r(x.shape.length + 1); const s = [...x.shape]; s.splice(d, 0, 3); return { code: `torch.stack([${x.name}, ${x.name}, ${x.name}], ${d})`, shape: s }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `${x.name}.argmax(${d})`, shape: x.shape.filter((_, i) => i !== d), dtype: 'int64' }; },
];

const tfjsOps: OpGen[] = [
  (x, r) => { const k = r(x.shape.length + 1); const s = [...x.shape]; s.splice(k, 0, 1); return { code: `tf.expandDims(${x.name}, ${k})`, shape: s }; },
  (x, r) => { const p = x.shape.map((_, i) => i); for (let i = p.length - 1; i > 0; i--) { const j = r(i + 1); [p[i], p[j]] = [p[j], p[i]]; } return { code: `tf.transpose(${x.name}, [${p.join(', ')}])`, shape: p.map(i => x.shape[i]) }; },
  x => ({ code: `${x.name}.transpose()`, shape: [...x.shape].reverse() }),
  x => { if (x.shape.length === 0) return undefined; const last = x.shape[x.shape.length - 1]; if (last === 0) return undefined; return { code: `tf.reshape(${x.name}, [-1, ${last}])`, shape: [prod(x.shape) / last, last] }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); const keep = r(2) === 1; return { code: `tf.sum(${x.name}, ${d}, ${keep})`, shape: keep ? x.shape.map((v, i) => (i === d ? 1 : v)) : x.shape.filter((_, i) => i !== d) }; },
  x => ({ code: `tf.softmax(${x.name})`, shape: x.shape }),
  (x, r) => { const ones = x.shape.map(v => (r(2) ? v : 1)); return { code: `tf.mul(${x.name}, tf.ones([${ones.join(', ')}]))`, shape: x.shape }; },
  (x, r) => { if (x.shape.length !== 2) return undefined; const k = 1 + r(5); return { code: `tf.matMul(${x.name}, tf.randomNormal([${x.shape[1]}, ${k}]))`, shape: [x.shape[0], k] }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `tf.concat([${x.name}, ${x.name}], ${d})`, shape: x.shape.map((v, i) => (i === d ? 2 * v : v)) }; },
  (x, r) => { const d = r(x.shape.length + 1); const s = [...x.shape]; s.splice(d, 0, 2); return { code: `tf.stack([${x.name}, ${x.name}], ${d})`, shape: s }; },
  (x, r) => { if (x.shape.length === 0) return undefined; const d = r(x.shape.length); return { code: `tf.argMax(${x.name}, ${d})`, shape: x.shape.filter((_, i) => i !== d), dtype: 'int32' }; },
];

const HEADER = {
  torch: `import { torch } from 'js-pytorch';\nconst nn = torch.nn;\nconst F = torch.nn.functional;\n`,
  tfjs: `import * as tf from '@tensorflow/tfjs';\n`,
};

/** Builds a program from random choices; every statement is shape-consistent by construction. */
function program(profile: 'torch' | 'tfjs', seedShape: Shape, choices: number[]): { text: string; vars: Var[] } {
  let k = 0;
  const r = (n: number) => (n <= 1 ? 0 : choices[k++ % choices.length] % n);
  const vars: Var[] = [{ name: 'v0', shape: seedShape, dtype: 'float32' }];
  const lines = [HEADER[profile], profile === 'torch' ? `const v0 = torch.randn([${seedShape.join(', ')}]);` : `const v0 = tf.randomNormal([${seedShape.join(', ')}]);`];
  const ops = profile === 'torch' ? torchOps : tfjsOps;
  for (let i = 1; i <= choices.length; i++) {
    const floats = vars.filter(v => v.dtype === 'float32' && prod(v.shape) < 5000 && v.shape.length < 6);
    if (!floats.length) break;
    const x = floats[r(floats.length)];
    const op = ops[r(ops.length)](x, r);
    if (!op) continue;
    const v: Var = { name: `v${i}`, shape: op.shape, dtype: op.dtype ?? 'float32' };
    vars.push(v);
    lines.push(`const ${v.name} = ${op.code};`);
  }
  return { text: lines.join('\n') + '\n', vars };
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
const choicesArb = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 14 });

describe('random shape-consistent programs', () => {
  for (const profile of ['torch', 'tfjs'] as const) {
    it(`${profile}: no errors, and every shape as the model computes`, () => {
      fc.assert(
        fc.property(shapeArb, choicesArb, (seed, choices) => {
          const { text, vars } = program(profile, seed, choices);
          const r = analyzeText('/gen.ts', text);
          expect(r.diagnostics, text).toEqual([]);
          for (const v of vars) {
            const fact = r.shapes.find(s => s.kind === 'declaration' && s.name === v.name);
            expect(fact ? `${fact.shapeText} ${fact.dtype}` : 'missing', `${v.name} in\n${text}`).toBe(`${fmt(v.shape)} ${v.dtype}`);
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }
});

const fixtureTexts = (() => {
  const dir = join(__dirname, '..', 'fixtures');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ts')) out.push(readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  return out;
})();

describe('robustness', () => {
  it('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), text => {
        const r = analyzeText('/random.ts', text);
        expect(r.diagnostics.filter(d => d.code === 'TL9001')).toEqual([]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('never throws or fails internally on random edits of real files', () => {
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom('', '(', ')', '[', ']', '{', '}', ',', '.', '-1', '@shape [', '*', '...', ' // @shape [N, ', 'x.view(', "'"));
    fc.assert(
      fc.property(fc.nat({ max: fixtureTexts.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 6 }), (i, edits) => {
        let text = fixtureTexts[i];
        for (const [at, del, ins] of edits) {
          const p = at % (text.length + 1);
          text = text.slice(0, p) + ins + text.slice(p + del);
        }
        const r = analyzeText('/edited.ts', text);
        expect(r.diagnostics.filter(d => d.code === 'TL9001').map(d => d.message)).toEqual([]);
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});
