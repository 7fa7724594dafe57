// `tensor-lens loss`: evaluates cross_entropy / nll_loss (PyTorch) or softmaxCrossEntropy (TF.js) on
// tensor files with the wasm engine, printing the loss as text or JSON (DESIGN §8).

import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Engine } from '../compute/engine';
import { writeNpy } from '../compute/readers/npy';
import { enableRelaxedSimd, loadEngine } from '../compute/node/loadEngine';
import { createNodePool } from '../compute/node/pool';
import type { EnginePool } from '../compute/pool';
import {
  EngineInputError, TensorFileError, TfjsError, TorchError,
  type LossResult, type Reduction, type Tensor, type TfjsReduction,
} from '../compute/types';
import { ArrayChoiceError, readTensorSpec, type TensorAllocator } from './tensorInput';

export const LOSS_USAGE = `usage: tensor-lens loss --input x.npy --target y.npy [--weight w.npy] [--ignore-index N]
                        [--reduction mean|sum|none] [--label-smoothing E]
                        [--function cross_entropy|nll_loss] [--mode torch|tfjs]
                        [--out loss.npy] [--format text|json] [--threads N]

Evaluates PyTorch's F.cross_entropy (or F.nll_loss) with its exact semantics and error messages, or
with --mode tfjs TF.js's tf.losses.softmaxCrossEntropy(target, input, weight, labelSmoothing, reduction)
(reductions NONE, MEAN, SUM, SUM_BY_NONZERO_WEIGHTS, the default). Files: .npy, .npz, .safetensors or
JSON nested arrays; name one array of a multi-array file as file.npz:name. --threads N runs the
evaluation on N worker threads (the result is bit-identical to one thread).
Exit status: 0 evaluated, 1 PyTorch (or TF.js) raised an error (printed as on the Python side),
2 usage or unreadable input.`;

/** JSON output shape (DESIGN §8); non-finite numbers are the strings "NaN", "Infinity", "-Infinity". */
export interface LossJson {
  loss: number | string | null;
  shape: readonly number[];
  values?: (number | string)[];
  elapsedMs: number;
  engine: string;
}

/** The engine or a pool: the same methods, results now or later. */
type Evaluator = {
  [K in 'crossEntropy' | 'nllLoss' | 'softmaxCrossEntropyTfjs']: (...args: Parameters<EnginePool[K]>) => LossResult | Promise<LossResult>;
} & { terminate?(): void };

interface Args {
  threads?: number;
  input?: string;
  target?: string;
  weight?: string;
  ignoreIndex?: bigint;
  reduction?: string;
  labelSmoothing?: number;
  fn: 'cross_entropy' | 'nll_loss';
  mode: 'torch' | 'tfjs';
  out?: string;
  format: 'text' | 'json';
}

class UsageError extends Error {}

/** Writes to the process streams by default; tests pass their own. */
export interface LossIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: LossIo = {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
};

/** Runs the command; resolves to the exit code (0 evaluated, 1 the loss raised, 2 usage / input). */
export async function lossCommand(argv: readonly string[], io: LossIo = processIo): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
    if (!args.input || !args.target) throw new UsageError('--input and --target are required');
  } catch (err) {
    if (err instanceof HelpRequest) {
      io.stdout(`${LOSS_USAGE}\n`);
      return 0;
    }
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`tensor-lens loss: ${err.message}\n${LOSS_USAGE}\n`);
    return 2;
  }
  let result: LossResult;
  try {
    // The command owns its process, so it may use the fastest build (FMA) where Node has it behind a flag.
    enableRelaxedSimd();
    // --threads N evaluates on N threads: this one and N - 1 workers reading the input from shared
    // memory (bit-identical result). Not the default: a one-shot pool pays the workers' start-up.
    const threads = Math.min(args.threads ?? 1, availableParallelism() * 4);
    const pool = threads > 1 ? await createNodePool({ size: threads }) : undefined;
    const engine: Evaluator = pool ?? await loadEngine();
    // the workers start (and compile their instances) while the files are read
    pool?.start();
    // A .npy, a .safetensors tensor or a stored .npz member that the engine reads as stored lands
    // straight in engine memory (one thread) or in shared memory the workers read (a pool): no copy
    // between the file and the kernels.
    const alloc: TensorAllocator = pool ? (shape, dtype) => pool.allocShared(shape, dtype)
      : (shape, dtype) => (engine as Engine).allocTensor(shape, dtype);
    try {
      const input = (await readTensorSpec(args.input!, alloc)).tensor;
      const target = (await readTensorSpec(args.target!, alloc)).tensor;
      const weight = args.weight ? (await readTensorSpec(args.weight)).tensor : undefined;
      if (args.mode === 'tfjs') {
        result = await engine.softmaxCrossEntropyTfjs(target, input, {
          weights: weight, labelSmoothing: args.labelSmoothing, reduction: args.reduction as TfjsReduction | undefined,
        });
      } else {
        const options = {
          weight, ignoreIndex: args.ignoreIndex, reduction: args.reduction as Reduction | undefined,
          labelSmoothing: args.labelSmoothing,
        };
        result = await (args.fn === 'nll_loss' ? engine.nllLoss(input, target, options) : engine.crossEntropy(input, target, options));
      }
    } finally {
      engine.terminate?.();
    }
  } catch (err) {
    if (err instanceof TorchError) {
      io.stderr(`${err.type}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TfjsError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TensorFileError || err instanceof EngineInputError || err instanceof UsageError || err instanceof ArrayChoiceError) {
      io.stderr(`tensor-lens loss: ${err.message}\n`);
      return 2;
    }
    io.stderr(`tensor-lens loss: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 2;
  }
  if (args.out) {
    try {
      writeFileSync(args.out, writeNpy(resultTensor(result)));
    } catch (err) {
      io.stderr(`tensor-lens loss: cannot write ${args.out}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 2;
    }
  }
  io.stdout(args.format === 'json' ? `${JSON.stringify(toJson(result))}\n` : toText(result));
  return 0;
}

class HelpRequest extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { fn: 'cross_entropy', mode: 'torch', format: 'text' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || inline === undefined && v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--input': args.input = value(); break;
      case '--target': args.target = value(); break;
      case '--weight': args.weight = value(); break;
      case '--ignore-index': {
        const v = value();
        if (!/^[-+]?\d+$/.test(v)) throw new UsageError(`--ignore-index must be an integer, got '${v}'`);
        args.ignoreIndex = BigInt(v);
        if (args.ignoreIndex < -(2n ** 63n) || args.ignoreIndex >= 2n ** 63n) throw new UsageError(`--ignore-index ${v} is outside int64`);
        break;
      }
      case '--reduction': args.reduction = value(); break;
      case '--label-smoothing': {
        const v = value();
        const n = Number(v);
        if (v.trim() === '' || Number.isNaN(n) && v.toLowerCase() !== 'nan') throw new UsageError(`--label-smoothing must be a number, got '${v}'`);
        args.labelSmoothing = n;
        break;
      }
      case '--function': {
        const v = value();
        if (v !== 'cross_entropy' && v !== 'nll_loss') throw new UsageError(`--function must be cross_entropy or nll_loss, got '${v}'`);
        args.fn = v;
        break;
      }
      case '--mode': {
        const v = value();
        if (v !== 'torch' && v !== 'tfjs') throw new UsageError(`--mode must be torch or tfjs, got '${v}'`);
        args.mode = v;
        break;
      }
      case '--out': args.out = value(); break;
      case '--threads': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--threads must be a positive integer, got '${v}'`);
        args.threads = Number(v);
        break;
      }
      case '--format': {
        const v = value();
        if (v !== 'text' && v !== 'json') throw new UsageError(`--format must be text or json, got '${v}'`);
        args.format = v;
        break;
      }
      case '--help': case '-h': throw new HelpRequest();
      default: throw new UsageError(`unknown option '${argv[i]}'`);
    }
  }
  if (args.mode === 'tfjs') {
    if (args.ignoreIndex !== undefined) throw new UsageError('--ignore-index has no meaning in tfjs mode');
    if (args.fn !== 'cross_entropy') throw new UsageError('tfjs mode evaluates softmaxCrossEntropy only');
    // TF.js's Reduction names; the lower-case torch spellings map onto them for convenience.
    if (args.reduction !== undefined) {
      const r = args.reduction.toUpperCase();
      args.reduction = r;
    }
  }
  return args;
}

function resultTensor(r: LossResult): Tensor {
  const f64 = r.dtype === 'float64';
  if (r.loss === null) {
    return { dtype: f64 ? 'float64' : 'float32', shape: r.shape, data: r.values ?? new Float32Array(0) };
  }
  return { dtype: f64 ? 'float64' : 'float32', shape: [], data: f64 ? Float64Array.of(r.loss) : Float32Array.of(r.loss) };
}

const jsonNumber = (v: number): number | string => Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;

export function toJson(r: LossResult): LossJson {
  const json: LossJson = {
    loss: r.loss === null ? null : jsonNumber(r.loss),
    shape: r.shape,
    elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
    engine: r.engine,
  };
  if (r.loss === null && r.values) json.values = Array.from(r.values.subarray(0, 1000), jsonNumber);
  return json;
}

function toText(r: LossResult): string {
  const lines: string[] = [];
  const fmt = (v: number) => r.dtype === 'float64' ? String(v) : float32String(v);
  if (r.loss !== null) {
    lines.push(`loss: ${fmt(r.loss)}`);
  } else {
    const v = r.values ?? new Float32Array(0);
    const shown = Array.from(v.subarray(0, 20), fmt).join(', ');
    lines.push(`loss (none): shape [${r.shape.join(', ')}], ${v.length} values`);
    lines.push(`values: [${shown}${v.length > 20 ? ', …' : ''}]`);
  }
  lines.push(`engine: ${r.engine}, ${r.elapsedMs.toFixed(3)} ms`);
  return `${lines.join('\n')}\n`;
}

/** The shortest decimal that reads back as the same float32 (numpy's repr of a float32). */
export function float32String(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}
