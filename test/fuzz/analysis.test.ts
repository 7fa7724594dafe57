// Fuzzes the shape analysis (`analyzeText`): mutated real programs, random programs and annotations
// from the grammar, random text and pathological inputs. The analysis must never throw, hang (a
// per-case time bound), exhaust memory (a heap limit), or return an unsound result (ranges outside
// the text, codes missing from the table, unfilled message templates, internal errors).
//
// The analysis runs in a worker thread so a hang or an out-of-memory can be cut short and reported
// with the case that caused it. `FUZZ_COUNT`, `FUZZ_SEED`, `FUZZ_CASE`, `FUZZ_CASE_MS`: see fuzzKit.ts.

import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT, applyMutation, caseRng, fuzzConfig, genAnnotation, genMutation, genPathological, genProgram, loadCorpus, replayHint,
  type CorpusFile, type FuzzConfig,
} from './fuzzKit';

const cfg = fuzzConfig();
const THIS_FILE = 'test/fuzz/analysis.test.ts';
/** Heap for the worker: far above what one file needs, far below the machine. */
const HEAP_MB = 1024;
/** Distinct failures to collect before stopping. */
const MAX_FAILURES = 10;

interface Case {
  readonly index: number;
  readonly kind: string;
  readonly fileName: string;
  readonly text: string;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly ms: number;
  readonly problems: readonly string[];
  readonly diagnostics?: number;
}

/** Case `index`: its kind and text depend on (seed, index) only. */
function makeCase(seed: number, index: number, corpus: readonly CorpusFile[]): Case {
  const r = caseRng(seed, index);
  const roll = r.int(100);
  let kind: string;
  let text: string;
  if (roll < 50) {
    const src = r.pick(corpus);
    kind = `mutated ${src.name}`;
    text = src.text;
    const n = r.chance(0.7) ? r.range(1, 3) : r.range(4, 30);
    for (let i = 0; i < n; i++) text = applyMutation(text, genMutation(r, text));
  } else if (roll < 75) {
    kind = 'random program';
    text = genProgram(r);
    if (r.chance(0.3)) for (let i = r.range(1, 5); i > 0; i--) text = applyMutation(text, genMutation(r, text));
  } else if (roll < 88) {
    const src = r.pick(corpus);
    kind = `annotations in ${src.name}`;
    const lines = src.text.split('\n');
    for (let i = r.range(1, 6); i > 0; i--) {
      const at = r.int(lines.length + 1);
      lines.splice(at, 0, r.chance(0.5) ? `/** ${genAnnotation(r, ['x', 'logits', 'target'])} */` : `// ${genAnnotation(r)}`);
    }
    text = lines.join('\n');
  } else if (roll < 95) {
    kind = 'random text';
    const n = r.range(0, 2000);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(r.chance(0.95) ? (r.chance(0.1) ? 10 : 32 + r.int(95)) : r.int(0xffff));
    text = s;
  } else {
    kind = 'pathological';
    text = genPathological(r);
  }
  return { index, kind, fileName: `/fuzz/case${index}${r.chance(0.1) ? '.tsx' : '.ts'}`, text };
}

describe('analysis fuzz', () => {
  let bundle = '';
  let worker: Worker | null = null;

  beforeAll(async () => {
    // The worker runs plain JavaScript: bundle the analysis (TypeScript stays external, resolved from
    // the root node_modules, which is why the bundle lives under it).
    const dir = join(ROOT, 'node_modules', '.cache', 'tensor-lens-fuzz');
    mkdirSync(dir, { recursive: true });
    bundle = join(dir, `analysis-${process.pid}.cjs`);
    await build({
      entryPoints: [join(__dirname, 'analysisEntry.ts')], outfile: bundle, bundle: true, platform: 'node',
      format: 'cjs', target: 'node20', external: ['typescript'], logLevel: 'silent',
    });
  });

  afterAll(async () => {
    await worker?.terminate();
    if (bundle) rmSync(bundle, { force: true });
  });

  it(`never throws, hangs, exhausts memory or returns an unsound result (seed ${cfg.seed}, ${cfg.only !== undefined ? `case ${cfg.only} only` : `${cfg.count} cases`})`, async () => {
    const corpus = loadCorpus();
    const indices = cfg.only !== undefined ? [cfg.only] : Array.from({ length: cfg.count }, (_, i) => i);
    const times: number[] = [];
    const kinds = new Map<string, number>();
    let diagnostics = 0;

    // One worker at a time; a hang or a crash costs it, and the next case gets a fresh one.
    let w: Worker | null = null;
    let pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
    const spawnWorker = () => {
      const nw = new Worker(join(__dirname, 'analysisWorker.cjs'), {
        workerData: { bundle },
        resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
      });
      nw.on('message', (r: Reply) => pending?.resolve(r));
      nw.on('error', (e) => pending?.reject(new Error(`the worker died: ${e.message}${(e as NodeJS.ErrnoException).code ? ` (${(e as NodeJS.ErrnoException).code})` : ''}`)));
      nw.on('exit', (code) => pending?.reject(new Error(`the worker exited (code ${code})`)));
      worker = nw;
      return nw;
    };

    // Keep going after a failure, so one long run reports several distinct bugs (by their first line),
    // each with the case that shows it; stop after MAX_FAILURES distinct ones.
    const failures = new Map<string, string>();
    const record = (c: Case, why: string) => {
      const signature = why.split('\n')[0]!.replace(/\d+/g, '#');
      if (failures.has(signature)) return;
      const saved = join(tmpdir(), `tensor-lens-fuzz-${cfg.seed}-${c.index}${c.fileName.endsWith('.tsx') ? '.tsx' : '.ts'}`);
      writeFileSync(saved, c.text);
      failures.set(signature, `case ${c.index} (${c.kind}, ${c.text.length} chars):\n  ${why.replace(/\n/g, '\n  ')}\n`
        + `  input saved to ${saved}\n  replay: ${replayHint(cfg, c.index, THIS_FILE)}`);
    };

    let fresh = true;
    for (const index of indices) {
      if (failures.size >= MAX_FAILURES) break;
      const c = makeCase(cfg.seed, index, corpus);
      const cw = w ?? (fresh = true, w = spawnWorker());
      const reply = await new Promise<Reply>((resolve, reject) => {
        // A fresh worker first loads TypeScript: give its first case longer.
        const limit = fresh ? cfg.caseMs + 20_000 : cfg.caseMs;
        const timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms (hang or runaway work)`)), limit);
        pending = {
          resolve: (r) => { clearTimeout(timer); resolve(r); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        };
        cw.postMessage({ id: index, fileName: c.fileName, text: c.text });
      }).catch(async (e: Error) => {
        pending = null;
        w = null;
        await cw.terminate();
        record(c, e.message);
        return null;
      });
      pending = null;
      fresh = false;
      if (!reply) continue;
      if (!reply.ok) record(c, reply.problems.join('\n'));
      times.push(reply.ms);
      diagnostics += reply.diagnostics ?? 0;
      const k = c.kind.split(' ')[0]!;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    if (failures.size) {
      throw new Error(`analysis fuzz with seed ${cfg.seed}: ${failures.size} distinct failure(s)${failures.size >= MAX_FAILURES ? ' (stopped early)' : ''}\n\n`
        + [...failures.values()].join('\n\n'));
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    console.log(`analysis fuzz: seed ${cfg.seed}, ${times.length} cases (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), `
      + `${diagnostics} diagnostics; ms per case median ${q(0.5)}, p99 ${q(0.99)}, max ${q(1)}`);
    expect(times.length).toBe(indices.length);
  }, 120_000 + (cfg.only !== undefined ? 1 : cfg.count) * 250);
});
