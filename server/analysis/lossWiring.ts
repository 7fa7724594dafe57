// Loss calls: recognises the supported losses (functions and modules, both profiles), gathers their
// evaluated arguments and options into a `LossCallInput`, runs the pure rules of ./losses, and turns
// the findings into diagnostics and a `LossCall` record for the CodeLens and the loss panel.

import type { LossCall, LossFunction, Profile, TensorSummary } from './api';
import { dimToJson, formatShape } from './dims';
import type { CallArg, Interpreter } from './interpreter';
import { checkLoss, known, UNKNOWN, type Known, type LossCallInput } from './losses';
import { snakeCase } from './registry';
import { UNKNOWN_VALUE, type LayerValue, type TensorValue, type Value } from './values';

const TORCH_LOSSES: Record<string, LossFunction> = {
  cross_entropy: 'cross_entropy',
  nll_loss: 'nll_loss',
  binary_cross_entropy: 'binary_cross_entropy',
  binary_cross_entropy_with_logits: 'binary_cross_entropy_with_logits',
  mse_loss: 'mse_loss',
  l1_loss: 'l1_loss',
};

const TORCH_LOSS_MODULES: Record<string, LossFunction> = {
  CrossEntropyLoss: 'cross_entropy',
  NLLLoss: 'nll_loss',
  BCELoss: 'binary_cross_entropy',
  BCEWithLogitsLoss: 'binary_cross_entropy_with_logits',
  MSELoss: 'mse_loss',
  L1Loss: 'l1_loss',
};

const TFJS_LOSSES: Record<string, LossFunction> = {
  softmaxCrossEntropy: 'tfjs.softmaxCrossEntropy',
  sigmoidCrossEntropy: 'tfjs.sigmoidCrossEntropy',
  meanSquaredError: 'tfjs.meanSquaredError',
};

const TFJS_METRICS: Record<string, LossFunction> = {
  categoricalCrossentropy: 'tfjs.categoricalCrossentropy',
  binaryCrossentropy: 'tfjs.binaryCrossentropy',
  sparseCategoricalCrossentropy: 'tfjs.sparseCategoricalCrossentropy',
};

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** `F.cross_entropy`, `F.crossEntropy`, `tf.losses.softmaxCrossEntropy`, `tf.metrics.binaryCrossentropy`. */
const lossFunctionCache = new Map<string, LossFunction | null>();

export function lossFunctionFor(profile: Profile, path: readonly string[]): LossFunction | undefined {
  const key = `${profile}:${path.join('.')}`;
  let hit = lossFunctionCache.get(key);
  if (hit === undefined) {
    hit = lossFunctionUncached(profile, path) ?? null;
    lossFunctionCache.set(key, hit);
  }
  return hit ?? undefined;
}

function lossFunctionUncached(profile: Profile, path: readonly string[]): LossFunction | undefined {
  const name = path[path.length - 1] ?? '';
  if (profile === 'torch') {
    const s = snakeCase(name);
    return own(TORCH_LOSSES, s) ? TORCH_LOSSES[s] : undefined;
  }
  if (own(TFJS_LOSSES, name) && (path.includes('losses') || path.length === 1)) return TFJS_LOSSES[name];
  if (own(TFJS_METRICS, name) && (path.includes('metrics') || path.length === 1)) return TFJS_METRICS[name];
  return undefined;
}

/** `new nn.CrossEntropyLoss({ ignoreIndex: 255 })`: a constructor building a loss layer. */
export function lossModuleFor(profile: Profile, path: readonly string[]): ((interp: Interpreter, args: readonly CallArg[], call: CallArg) => Value) | undefined {
  if (profile !== 'torch') return undefined;
  const name = path[path.length - 1] ?? '';
  if (!own(TORCH_LOSS_MODULES, name)) return undefined;
  const fn = TORCH_LOSS_MODULES[name];
  return (_interp, ctorArgs) => {
    const layer: LayerValue = {
      kind: 'layer',
      name,
      apply: (ctx, c) => {
        const interp = ctx as Interpreter;
        const call = c as { self?: CallArg; args: readonly CallArg[]; range: { start: number; end: number } };
        const args = [...(call.self ? [call.self] : []), ...call.args];
        const text = interp.textOf(call.range);
        return callLoss(interp, fn, 'torch', args, { value: UNKNOWN_VALUE, range: call.range, text }, ctorArgs);
      },
    };
    return layer;
  };
}

interface Gathered {
  readonly input?: CallArg;
  readonly target?: CallArg;
  readonly weight?: CallArg;
  readonly weights?: CallArg;
  readonly reduction?: CallArg;
  readonly ignoreIndex?: CallArg;
  readonly labelSmoothing?: CallArg;
}

/**
 * Options from a trailing object literal (either spelling) or positionally by kind: a tensor is the
 * weight, a string the reduction, numbers the ignore index then the smoothing (for the
 * cross-entropy family) — the order of PyTorch's keyword arguments. `null`/`undefined` placeholders
 * are JavaScript's "not given", never Python's `None`.
 */
function gatherTorch(fn: LossFunction, args: readonly CallArg[], ctorArgs: readonly CallArg[] | undefined): Gathered {
  const out: { -readonly [K in keyof Gathered]?: CallArg } = { input: args[0], target: args[1] };
  const take = (list: readonly CallArg[]) => {
    const numbers: CallArg[] = [];
    for (const a of list) {
      if (a.expr?.kind === 'object' && a.value.kind === 'object') {
        const obj = a.expr;
        for (const p of obj.props) {
          const key = p.key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
          const v = a.value.props.get(p.key) ?? UNKNOWN_VALUE;
          const arg: CallArg = { value: v, range: p.value.range, text: '', expr: p.value };
          if (key === 'weight') out.weight = arg;
          else if (key === 'reduction') out.reduction = arg;
          else if (key === 'ignoreIndex') out.ignoreIndex = arg;
          else if (key === 'labelSmoothing') out.labelSmoothing = arg;
        }
        continue;
      }
      const v = a.value;
      if (v.kind === 'tensor') out.weight ??= a;
      else if (v.kind === 'string') out.reduction ??= a;
      else if (v.kind === 'number') numbers.push(a);
    }
    const ce = fn === 'cross_entropy' || fn === 'nll_loss';
    if (ce) {
      if (numbers[0]) out.ignoreIndex ??= numbers[0];
      if (numbers[1] && fn === 'cross_entropy') out.labelSmoothing ??= numbers[1];
    }
  };
  if (ctorArgs) take(ctorArgs);
  take(args.slice(2));
  return out;
}

/** TF.js losses take (labels, predictions, weights?, labelSmoothing?, reduction?); metrics (yTrue, yPred). */
function gatherTfjs(fn: LossFunction, args: readonly CallArg[]): Gathered {
  const isMetric = fn === 'tfjs.categoricalCrossentropy' || fn === 'tfjs.binaryCrossentropy' || fn === 'tfjs.sparseCategoricalCrossentropy';
  if (isMetric) return { input: args[1], target: args[0] };
  if (fn === 'tfjs.meanSquaredError') return { input: args[1], target: args[0], weights: present(args[2]), reduction: args[3] };
  return { input: args[1], target: args[0], weights: present(args[2]), labelSmoothing: args[3], reduction: args[4] };
}

/** `null`/`undefined` placeholders for skipped optional arguments are absent. */
function present(a: CallArg | undefined): CallArg | undefined {
  return a && a.value.kind !== 'null' ? a : undefined;
}

function tensorOrUnknown(a: CallArg | undefined): TensorValue | undefined {
  if (!a) return undefined;
  return a.value.kind === 'tensor' ? a.value : { kind: 'tensor', shape: undefined, dtype: undefined };
}

function knownNumber(a: CallArg | undefined): Known<number> | undefined {
  if (!a) return undefined;
  const v = a.value;
  return v.kind === 'number' && v.dim.kind === 'const' ? known(v.dim.value) : UNKNOWN;
}

function knownReduction(a: CallArg | undefined): Known<string | number> | undefined {
  if (!a) return undefined;
  const v = a.value;
  if (v.kind === 'string') return v.value !== undefined ? known(v.value) : UNKNOWN;
  if (v.kind === 'null') return undefined;
  if (v.kind === 'number' && v.dim.kind === 'const') return known(v.dim.value);
  // `tf.Reduction.MEAN`
  if (v.kind === 'lib' && v.path.includes('Reduction')) return known(v.path[v.path.length - 1]);
  return UNKNOWN;
}

function summary(interp: Interpreter, a: CallArg | undefined): TensorSummary {
  const t = a?.value.kind === 'tensor' ? a.value : undefined;
  const shape = t?.shape;
  return {
    shape: shape ? shape.dims.map(dimToJson) : null,
    shapeText: formatShape(shape),
    dtype: t?.dtype ?? null,
    text: a ? interp.textOf(a.range) : '',
    ...(t?.values && t.values.length <= 1024 ? { values: t.values } : {}),
  };
}

/** Checks one loss call, reports its findings, records it, and returns its result value. */
export function callLoss(interp: Interpreter, fn: LossFunction, profile: Profile, args: readonly CallArg[], call: CallArg, ctorArgs: readonly CallArg[] | undefined): Value {
  const g = profile === 'torch' ? gatherTorch(fn, args, ctorArgs) : gatherTfjs(fn, args);
  const input: LossCallInput = {
    fn,
    profile,
    input: g.input?.value.kind === 'tensor' ? g.input.value : undefined,
    target: g.target?.value.kind === 'tensor' ? g.target.value : undefined,
    weight: tensorOrUnknown(present(g.weight)),
    weights: tensorOrUnknown(g.weights),
    reduction: knownReduction(g.reduction),
    ignoreIndex: knownNumber(g.ignoreIndex),
    labelSmoothing: knownNumber(g.labelSmoothing),
  };
  const result = checkLoss(input);
  const roles = new Map<string, CallArg>();
  const set = (k: string, a: CallArg | undefined) => { if (a) roles.set(k, { ...a, text: interp.textOf(a.range) }); };
  set('input', g.input);
  set('target', g.target);
  set('weight', g.weight ?? g.weights);
  set('reduction', g.reduction);
  set('ignoreIndex', g.ignoreIndex);
  set('labelSmoothing', g.labelSmoothing);
  set('call', call);
  args.forEach((a, i) => set(`arg${i}`, a));
  for (const f of result.findings) interp.reportLossFinding(f, roles, call);
  const numberOf = (k: Known<number> | undefined) => (k && k.known ? k.value : undefined);
  const red = input.reduction && input.reduction.known ? String(input.reduction.value) : undefined;
  const record: LossCall = {
    fileName: interp.fileName,
    range: call.range,
    function: fn,
    profile,
    input: summary(interp, g.input),
    target: summary(interp, g.target),
    ...(g.weight || g.weights ? { weight: summary(interp, g.weight ?? g.weights) } : {}),
    ...(red !== undefined ? { reduction: red } : {}),
    ...(numberOf(input.ignoreIndex) !== undefined ? { ignoreIndex: numberOf(input.ignoreIndex) } : {}),
    ...(numberOf(input.labelSmoothing) !== undefined ? { labelSmoothing: numberOf(input.labelSmoothing) } : {}),
    knownDims: interp.knownDims(),
    ...(result.expectation ? { expectation: result.expectation } : {}),
  };
  interp.recordLossCall(record);
  return result.output ?? { kind: 'tensor', shape: undefined, dtype: undefined };
}
