// The engine benchmark: our cross-entropy against onnxruntime-web (wasm, one thread), native
// onnxruntime-node (one thread and all threads), TF.js's wasm backend and plain JavaScript, on the
// shapes of DESIGN §9, in one process with interleaved repetitions, medians and ratios within the run.
//
// Every contestant goes end to end from a `Float32Array` of logits and an `Int32Array` of class
// indices to the mean loss: its tensor creation, copies into its heap and (TF.js) one-hot labels and
// transposes count, because a user pays for them too.

import { readFileSync, readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fmt, optionalRequire, table } from './machine';
import { makeData, median, plainJsMean, referenceMean, type CeData } from './data';
import { ONNX_INT32, softmaxCrossEntropyModel } from './onnxModel';

export interface Contestant {
  readonly name: string;
  /** Threads it computes on (1, or the machine's cores). */
  readonly threads: number;
  /** Ours, a peer library, or the plain-JavaScript baseline. */
  readonly kind: 'ours' | 'peer' | 'baseline';
  /** Returns the mean cross-entropy of `d`. */
  run(d: CeData): Promise<number>;
  /** Frees sessions, workers and memory held for the last shape. */
  release?(): Promise<void> | void;
}

export interface EngineRow {
  readonly shape: readonly number[];
  readonly contestant: string;
  readonly kind: Contestant['kind'];
  readonly threads: number;
  readonly medianMs: number;
  readonly elementsPerSecond: number;
  /** Max relative error of the mean against float64 over all calls. */
  readonly relativeError: number;
  readonly reps: number;
}

export interface EngineBenchOptions {
  readonly quick: boolean;
  readonly cores: number;
  /** Our contestants (from bench/ours.ts); empty when the engine is not built. */
  readonly ours: readonly Contestant[];
  readonly log: (line: string) => void;
  /** Optional filter on contestant names (substring match). */
  readonly only?: string;
}

export const FULL_SHAPES: readonly (readonly number[])[] = [[4096, 1000], [65536, 10], [8, 21, 512, 512], [512, 32000]];
/** The same four kernels' regimes at a fraction of the size, for CI smoke and `bench --quick`. */
export const QUICK_SHAPES: readonly (readonly number[])[] = [[512, 1000], [8192, 10], [2, 21, 64, 64], [32, 32000]];

export async function engineBench(opts: EngineBenchOptions): Promise<EngineRow[]> {
  const { log } = opts;
  const shapes = opts.quick ? QUICK_SHAPES : FULL_SHAPES;
  const reps = opts.quick ? 3 : 7;
  // A contestant that has spent this long on one shape stops after 3 repetitions (plain JS and
  // TF.js take over a second per call on [8, 21, 512, 512]).
  const budgetMs = opts.quick ? 2_000 : 8_000;
  const peers = await loadPeers(opts.cores, log);
  const contestants = [...opts.ours, plainJs, ...peers].filter(c => !opts.only || c.name.includes(opts.only));
  const rows: EngineRow[] = [];
  for (const shape of shapes) {
    const d = makeData(shape);
    const n = d.x.length;
    const ref = referenceMean(d);
    const times = new Map<Contestant, number[]>(contestants.map(c => [c, []]));
    const errors = new Map<Contestant, number>(contestants.map(c => [c, 0]));
    const failed = new Map<Contestant, string>();
    /** Calls per timed sample, so that a fast contestant's sample lasts ≥ 20 ms (timer noise, GC). */
    const inner = new Map<Contestant, number>(contestants.map(c => [c, 1]));
    const measure = async (c: Contestant) => {
      const k = inner.get(c)!;
      const t0 = performance.now();
      for (let j = 0; j < k; j++) {
        const v = await c.run(d);
        errors.set(c, Math.max(errors.get(c)!, Math.abs(v - ref) / Math.abs(ref)));
      }
      return (performance.now() - t0) / k;
    };
    // Warm-up: JIT and wasm tier-up, session and worker creation; fast contestants get a second one.
    for (const c of contestants) {
      try {
        let dt = await measure(c);
        if (dt < 1000) dt = await measure(c);
        inner.set(c, Math.max(1, Math.min(200, Math.ceil(20 / Math.max(dt, 0.01)))));
      } catch (err) {
        failed.set(c, err instanceof Error ? err.message : String(err));
      }
    }
    // The warm-ups leave V8 tiering up the peers' large wasm modules in background threads for
    // seconds (measured: 1.5 s of CPU after onnxruntime-web's first calls), which on 2 cores lands
    // in whichever contestant runs next: wait for it here, and for any leftover (onnxruntime's
    // spinning pool threads, ~70 ms) and for the garbage collector before each sample.
    await settle(15_000);
    const spent = new Map<Contestant, number>(contestants.map(c => [c, 0]));
    for (let r = 0; r < reps; r++) {
      for (const c of contestants) {
        if (failed.has(c) || (r >= 3 && spent.get(c)! > budgetMs)) continue;
        await settle(2_000);
        const dt = await measure(c);
        times.get(c)!.push(dt);
        spent.set(c, spent.get(c)! + dt * inner.get(c)!);
      }
    }
    for (const c of contestants) await c.release?.();

    const ours1 = contestants.find(c => c.kind === 'ours' && c.threads === 1);
    const base = ours1 && !failed.has(ours1) ? median(times.get(ours1)!) : NaN;
    const out: string[][] = [];
    for (const c of contestants) {
      if (failed.has(c)) {
        out.push([c.name, String(c.threads), 'failed', '', '', failed.get(c)!.slice(0, 60)]);
        continue;
      }
      const m = median(times.get(c)!);
      const row: EngineRow = {
        shape, contestant: c.name, kind: c.kind, threads: c.threads, medianMs: m,
        elementsPerSecond: n / (m / 1000), relativeError: errors.get(c)!, reps: times.get(c)!.length,
      };
      rows.push(row);
      out.push([
        c.name, String(c.threads), m.toFixed(2), fmt(row.elementsPerSecond / 1e6),
        Number.isNaN(base) ? '-' : `${fmt(m / base)}×`,
        // A contestant off by more than 1e-3 computed something else (a wrong model, a wrong axis).
        row.relativeError.toExponential(1) + (row.relativeError > 1e-3 || Number.isNaN(row.relativeError) ? ' WRONG' : ''),
      ]);
    }
    log('');
    log(`cross_entropy ${JSON.stringify(shape)}: ${n.toLocaleString('en-US')} elements, reference mean ${ref.toFixed(9)}, ${reps} interleaved reps`);
    log(table(['contestant', 'threads', 'median ms', 'M el/s', 'time vs ours-1t', 'rel. error'], out));
  }
  for (const p of peers) await p.release?.();
  log('');
  log(summarizeTargets(rows, opts.cores));
  return rows;
}

/** CPU milliseconds used so far by this process's threads other than the main one (Linux), or undefined. */
function otherThreadsCpuMs(): number | undefined {
  try {
    let ticks = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** V8's `gc()` (full collection), exposed at run time; undefined if the flag cannot be set. */
const fullGc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

/**
 * Collects the garbage the previous contestant left (TF.js and the copies into peers' heaps free
 * hundreds of MB per call; the collection otherwise lands in whichever call allocates next), then
 * returns once the process's other threads have used under 10 ms of CPU in a 100 ms window (or
 * after `maxMs`). Where /proc is missing, a fixed 100 ms pause.
 */
export async function settle(maxMs: number): Promise<void> {
  const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
  fullGc?.();
  const start = performance.now();
  let before = otherThreadsCpuMs();
  if (before === undefined) {
    await sleep(100);
    return;
  }
  while (performance.now() - start < maxMs) {
    await sleep(100);
    const now = otherThreadsCpuMs()!;
    if (now - before < 10) return;
    before = now;
  }
}

/** The issue's targets, each checked on every shape of this run. */
export function summarizeTargets(rows: readonly EngineRow[], cores: number): string {
  const shapes = [...new Set(rows.map(r => JSON.stringify(r.shape)))];
  const get = (shape: string, name: string) => rows.find(r => JSON.stringify(r.shape) === shape && r.contestant === name);
  // The first contestant of ours at a thread count is the plain call from a caller's Float32Array
  // (the input copied in); a zero-copy one (inputs written into engine memory, as `tensor-lens loss`
  // reads .npy files) is shown beside it, judged separately, never in its place.
  const oursAt = (threads: number, zeroCopy: boolean) =>
    rows.find(r => r.kind === 'ours' && r.threads === threads && r.contestant.includes('zero-copy') === zeroCopy)?.contestant;
  if (!oursAt(1, false)) return 'targets: not checked (our engine did not run: not built, or filtered out)';
  const lines = ['targets (ours vs peer = peer time / our time, same run; in brackets: zero-copy input):'];
  const check = (label: string, ok: (shape: string, zeroCopy: boolean) => [boolean, string] | undefined) => {
    const verdict = (r: [boolean, string]) => `${r[1]}${r[0] ? '' : ' MISSED'}`;
    const parts = shapes.map(s => {
      const r = ok(s, false);
      const z = ok(s, true);
      return `${s} ${r ? verdict(r) : 'n/a'}${z ? ` (${verdict(z)})` : ''}`;
    });
    lines.push(`  ${label}: ${parts.join('; ')}`);
  };
  check('≥ 1 G el/s on one thread', (s, zc) => {
    const name = oursAt(1, zc);
    const r = name ? get(s, name) : undefined;
    return r && [r.elementsPerSecond >= 1e9, `${fmt(r.elementsPerSecond / 1e9)} G`];
  });
  const ratio = (s: string, ours: string | undefined, peer: string, want: number): [boolean, string] | undefined => {
    const a = ours ? get(s, ours) : undefined;
    const b = get(s, peer);
    return a && b ? [b.medianMs / a.medianMs >= want, `${fmt(b.medianMs / a.medianMs)}×`] : undefined;
  };
  check('≥ 5× onnxruntime-web (1 thread)', (s, zc) => ratio(s, oursAt(1, zc), 'onnxruntime-web', 5));
  check('≥ 1.5× onnxruntime-node, 1 thread', (s, zc) => ratio(s, oursAt(1, zc), 'onnxruntime-node', 1.5));
  if (cores > 1 && oursAt(cores, false)) {
    check(`≥ 1.5× onnxruntime-node, ${cores} threads`, (s, zc) => ratio(s, oursAt(cores, zc), `onnxruntime-node ×${cores}`, 1.5));
  }
  return lines.join('\n');
}

const plainJs: Contestant = {
  name: 'plain JavaScript',
  threads: 1,
  kind: 'baseline',
  run: async d => plainJsMean(d.x, d.t, d.shape),
};

interface OrtTensorCtor { new (type: string, data: unknown, dims: readonly number[]): unknown }
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number> }>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: OrtTensorCtor;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  env: { wasm: { numThreads: number; simd?: boolean } };
}

/** The peers that are installed; a missing one is reported and skipped, never faked. */
async function loadPeers(cores: number, log: (line: string) => void): Promise<Contestant[]> {
  const peers: Contestant[] = [];
  const ortNode = optionalRequire<OrtModule>('onnxruntime-node');
  const ortWeb = optionalRequire<OrtModule>('onnxruntime-web');
  if (ortWeb) {
    // One thread, like our single-threaded engine (its default in Node is min(4, cores / 2)).
    ortWeb.env.wasm.numThreads = 1;
    // onnxruntime-web and -node share onnxruntime-common in one process: without an explicit
    // provider a "web" session silently runs on the native backend.
    peers.push(ortContestant('onnxruntime-web', ortWeb, 1, { executionProviders: ['wasm'] }));
  } else log('skipped: onnxruntime-web is not installed');
  if (ortNode) {
    peers.push(ortContestant('onnxruntime-node', ortNode, 1, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 }));
    if (cores > 1) {
      peers.push(ortContestant(`onnxruntime-node ×${cores}`, ortNode, cores, { executionProviders: ['cpu'], intraOpNumThreads: cores, interOpNumThreads: 1 }));
    }
  } else log('skipped: onnxruntime-node is not installed');
  const tf = await loadTfjsWasm(log);
  if (tf) peers.push(tfjsContestant(tf));
  return peers;
}

function ortContestant(name: string, ort: OrtModule, threads: number, options: object): Contestant {
  // One session per rank (symbolic dims), created on first use and kept across shapes of that rank.
  const sessions = new Map<number, Promise<OrtSession>>();
  const session = (spatialDims: number) => {
    let s = sessions.get(spatialDims);
    if (!s) {
      s = ort.InferenceSession.create(softmaxCrossEntropyModel({ spatialDims, labelType: ONNX_INT32, ignoreIndex: -100 }), options);
      sessions.set(spatialDims, s);
    }
    return s;
  };
  return {
    name, threads, kind: 'peer',
    async run(d) {
      const s = await session(d.shape.length - 2);
      const out = await s.run({
        scores: new ort.Tensor('float32', d.x, d.shape),
        labels: new ort.Tensor('int32', d.t, [d.shape[0]!, ...d.shape.slice(2)]),
      });
      return out.loss!.data[0]!;
    },
    async release() {
      for (const s of sessions.values()) await (await s).release();
      sessions.clear();
    },
  };
}

interface TfTensor { dispose(): void; data(): Promise<ArrayLike<number>> }
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  env(): { set(flag: string, value: unknown): void };
  tidy<T>(fn: () => T): T;
  tensor(values: Float32Array, shape: number[], dtype: string): TfTensor & { reshape(s: number[]): TfTensor & { transpose(p: number[]): TfTensor } };
  tensor1d(values: Int32Array, dtype: string): TfTensor;
  oneHot(indices: TfTensor, depth: number): TfTensor;
  losses: { softmaxCrossEntropy(labels: TfTensor, logits: TfTensor): TfTensor };
}

async function loadTfjsWasm(log: (line: string) => void): Promise<Tf | undefined> {
  // tfjs greets Node users on the console when it loads; keep the benchmark's output clean.
  const warn = console.warn;
  const info = console.log;
  console.warn = () => undefined;
  console.log = () => undefined;
  try {
    const tf = optionalRequire<Tf>('@tensorflow/tfjs');
    const wasm = optionalRequire<object>('@tensorflow/tfjs-backend-wasm');
    if (!tf || !wasm) {
      log('skipped: @tensorflow/tfjs or @tensorflow/tfjs-backend-wasm is not installed');
      return undefined;
    }
    // Node has no threaded tfjs-wasm (no cross-origin isolation); say so rather than let it probe.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) {
      log('skipped: the TF.js wasm backend did not initialise');
      return undefined;
    }
    await tf.ready();
    return tf;
  } catch (err) {
    log(`skipped: TF.js wasm failed to load (${err instanceof Error ? err.message : String(err)})`);
    return undefined;
  } finally {
    console.warn = warn;
    console.log = info;
  }
}

function tfjsContestant(tf: Tf): Contestant {
  return {
    name: 'tfjs-wasm softmaxCrossEntropy',
    threads: 1,
    kind: 'peer',
    async run(d) {
      const N = d.shape[0]!;
      const C = d.shape[1]!;
      const S = d.shape.slice(2).reduce((a, b) => a * b, 1);
      const loss = tf.tidy(() => {
        let logits: TfTensor = tf.tensor(d.x, [...d.shape], 'float32');
        // TF.js's softmax works on the last axis only: [N, C, S] → [N, S, C].
        if (S > 1) logits = (logits as ReturnType<Tf['tensor']>).reshape([N, C, S]).transpose([0, 2, 1]);
        logits = (logits as ReturnType<Tf['tensor']>).reshape([N * S, C]);
        const labels = tf.oneHot(tf.tensor1d(d.t, 'int32'), C);
        return tf.losses.softmaxCrossEntropy(labels, logits);
      });
      const v = (await loss.data())[0]!;
      loss.dispose();
      return v;
    },
  };
}
