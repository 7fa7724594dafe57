// The panel's settings: the defaults, pre-filling them from a loss call the analysis inferred, and
// turning them into the one `EvaluationSpec` the worker runs. Pure, so the rules are unit-tested.
import type { TensorDtype } from '../../compute/types';
import type { LossCall, TensorSummary } from '../../server/analysis/api';
import type {
  ClassAxis, EvaluationSpec, PanelCall, PanelFunction, PanelReduction, PanelState, RoleChoice, TargetKind,
  TensorRole, TensorSource,
} from '../../protocol/webview';
import {
  defaultDimValue, dimsFromJson, parseShapeText, product, resolveShape, shapeToText, ShapeTextError, symbolsOf,
  type DimSpec,
} from './shapeText';

/** A setting the user typed that cannot be evaluated; the message says which and why. */
export class OptionError extends Error {}

export const DEFAULT_SEED = 1;
/** Logits of an untrained classifier are small: N(0, 0.05²) puts the expected loss within ~0.001 of ln C. */
export const DEFAULT_LOGIT_SCALE = 0.05;

export function defaultState(): PanelState {
  return {
    version: 1,
    function: 'cross_entropy',
    reduction: 'mean',
    ignoreIndex: -100,
    labelSmoothing: 0,
    classAxis: 'first',
    targetKind: 'index',
    sources: { input: { kind: 'random' }, target: { kind: 'random' }, weight: { kind: 'none' } },
    dims: { N: 4, C: 10 },
    inputShapeText: '[N, C]',
    targetShapeText: '',
    targetDtype: 'int64',
    seed: DEFAULT_SEED,
    logitScale: DEFAULT_LOGIT_SCALE,
  };
}

/** A call's function as the panel evaluates it, and the layout it implies. */
export function functionOfCall(call: LossCall): { fn: PanelFunction; classAxis: ClassAxis; note?: string } {
  switch (call.function) {
    case 'cross_entropy':
    case 'nll_loss':
      return { fn: call.function, classAxis: 'first' };
    case 'tfjs.softmaxCrossEntropy':
    case 'tfjs.sparseCategoricalCrossentropy':
      return { fn: 'cross_entropy', classAxis: 'last', note: `${call.function.slice(5)} is evaluated as cross_entropy over the last dim` };
    default:
      return { fn: 'cross_entropy', classAxis: call.profile === 'tfjs' ? 'last' : 'first', note: `the panel evaluates cross_entropy and nll_loss; this call is ${call.function.replace(/^tfjs\./, '')}` };
  }
}

/** PyTorch's reduction names, and TF.js's `Reduction` enum members (`SUM_BY_NONZERO_WEIGHTS` is a mean without weights). */
export function reductionOf(text: string | undefined): PanelReduction | undefined {
  if (text === undefined) return undefined;
  const t = text.replace(/^.*\./, '').replace(/['"]/g, '').trim();
  switch (t.toLowerCase()) {
    case 'mean':
    case 'sum_by_nonzero_weights':
      return 'mean';
    case 'sum':
      return 'sum';
    case 'none':
      return 'none';
    default:
      return undefined;
  }
}

function sameDims(a: TensorSummary, b: TensorSummary): boolean {
  return a.shape !== null && b.shape !== null && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);
}

function tensorDtype(d: string | null | undefined, fallback: TensorDtype): TensorDtype {
  switch (d) {
    case 'bfloat16':
      return 'float32';
    case 'float16': case 'float32': case 'float64': case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'bool':
      return d;
    default:
      return fallback;
  }
}

/** Values of a literal argument usable as-is: a fully numeric shape whose size matches the values. */
export function literalOf(t: TensorSummary | undefined, fallbackDtype: TensorDtype): TensorSource | undefined {
  if (!t?.values || t.shape === null || !t.shape.every(d => typeof d === 'number')) return undefined;
  const shape = t.shape as number[];
  if (product(shape) !== t.values.length) return undefined;
  return { kind: 'literal', shape, dtype: tensorDtype(t.dtype, fallbackDtype), values: t.values };
}

/**
 * The settings for a call from the CodeLens: its function, options, shapes and literal values;
 * symbolic dims take the call's known sizes, then what the user set before, then small defaults.
 */
export function stateForCall(pc: PanelCall, prev: PanelState = defaultState()): PanelState {
  const call = pc.call;
  const { fn, classAxis } = functionOfCall(call);
  const probability = sameDims(call.input, call.target) || call.function === 'tfjs.softmaxCrossEntropy';
  const targetKind: TargetKind = probability ? 'probability' : 'index';
  const inputDims = call.input.shape ? dimsFromJson(call.input.shape) : parseShapeText(classAxis === 'last' ? '[N, C]' : '[N, C]');
  const targetDims = call.target.shape ? dimsFromJson(call.target.shape) : undefined;
  const dims: Record<string, number> = {};
  for (const s of symbolsOf(inputDims, targetDims ?? [])) {
    dims[s] = call.knownDims[s] ?? prev.dims[s] ?? defaultDimValue(s, call.knownDims);
  }
  const input = literalOf(call.input, 'float32');
  const target = literalOf(call.target, probability ? 'float32' : 'int64');
  const weight = literalOf(call.weight, 'float32');
  const sources: Record<TensorRole, RoleChoice> = {
    input: { kind: input ? 'literal' : 'random' },
    target: { kind: target ? 'literal' : 'random' },
    weight: { kind: weight ? 'literal' : call.weight ? 'random' : 'none' },
  };
  return {
    ...prev,
    call: pc,
    function: fn,
    reduction: reductionOf(call.reduction) ?? 'mean',
    ignoreIndex: call.ignoreIndex ?? -100,
    labelSmoothing: call.labelSmoothing ?? 0,
    classAxis,
    targetKind,
    sources,
    dims,
    inputShapeText: shapeToText(inputDims),
    targetShapeText: targetDims ? shapeToText(targetDims) : '',
    targetDtype: tensorDtype(call.target.dtype, probability ? 'float32' : 'int64'),
  };
}

/** The symbols the dims editor shows: those of the random shapes in use. */
export function editableSymbols(state: PanelState): string[] {
  const shapes: DimSpec[][] = [];
  try {
    if (state.sources.input.kind === 'random') shapes.push(parseShapeText(state.inputShapeText));
    if (state.sources.target.kind === 'random' || state.sources.weight.kind === 'random') {
      shapes.push(parseShapeText(state.inputShapeText));
      if (state.targetShapeText.trim()) shapes.push(parseShapeText(state.targetShapeText));
    }
  } catch {
    // The shape text is being edited; its error shows next to it.
  }
  return symbolsOf(...shapes);
}

/** The class dim's size for an input shape laid out per `axis`. */
export function classesOf(shape: readonly number[], axis: ClassAxis): number {
  if (shape.length === 0) return 0;
  if (shape.length === 1) return shape[0];
  return axis === 'last' ? shape[shape.length - 1] : shape[1];
}

/** The index target's shape for an input shape: the input without its class dim. */
export function indexTargetShape(shape: readonly number[], axis: ClassAxis): number[] {
  if (shape.length <= 1) return [];
  const drop = axis === 'last' ? shape.length - 1 : 1;
  return shape.filter((_, i) => i !== drop);
}

export function parseIgnoreIndex(text: string): number {
  const t = text.trim();
  if (!/^[-+]?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new OptionError(`ignore index must be an integer, not "${text}"`);
  return Number(t);
}

/** Any finite number: the range (0…1) is PyTorch's check, so an out-of-range value shows PyTorch's error. */
export function parseLabelSmoothing(text: string): number {
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v)) throw new OptionError(`label smoothing must be a number, not "${text}"`);
  return v;
}

export function parseDimValue(name: string, text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new OptionError(`${name} must be a size (0, 1, 2, …), not "${text}"`);
  return Number(t);
}

/** Random tensors larger than this are refused: the point is a sample batch, not a training run. */
export const MAX_RANDOM_ELEMENTS = 64 * 1024 * 1024;

/**
 * The evaluation the settings describe. Throws `OptionError` (or `ShapeTextError`) with a message for
 * the panel when a setting is incomplete: a file not chosen, a shape that does not parse, a literal
 * whose values do not fill its shape.
 */
export function buildSpec(state: PanelState, details = true): EvaluationSpec {
  const call = state.call?.call;
  const seed = state.seed >>> 0;
  let inputShape: number[] | undefined;
  const randomShape = (text: string, what: string): number[] => {
    let shape: number[];
    try {
      shape = resolveShape(parseShapeText(text), state.dims);
    } catch (err) {
      throw new OptionError(`${what} shape: ${err instanceof ShapeTextError ? err.message : String(err)}`);
    }
    if (product(shape) > MAX_RANDOM_ELEMENTS) {
      throw new OptionError(`${what} shape ${text} has ${product(shape).toLocaleString('en-US')} elements; random batches are limited to ${MAX_RANDOM_ELEMENTS.toLocaleString('en-US')}`);
    }
    return shape;
  };
  const source = (role: TensorRole): TensorSource | undefined => {
    const choice = state.sources[role];
    switch (choice.kind) {
      case 'none':
        if (role !== 'weight') throw new OptionError(`the ${role} needs a source`);
        return undefined;
      case 'file':
        if (!choice.fileId) throw new OptionError(`choose a file for the ${role}`);
        return { kind: 'file', fileId: choice.fileId, array: choice.array ?? '' };
      case 'literal': {
        const summary = role === 'input' ? call?.input : role === 'target' ? call?.target : call?.weight;
        const lit = literalOf(summary, role === 'target' && state.targetKind === 'index' ? 'int64' : 'float32');
        if (!lit) throw new OptionError(`the call has no literal values for the ${role}`);
        return lit;
      }
      case 'random': {
        if (role === 'input') {
          inputShape = randomShape(state.inputShapeText, 'input');
          return {
            kind: 'random', shape: inputShape, seed, scale: state.logitScale,
            distribution: state.function === 'nll_loss' ? 'logProbabilities' : 'logits',
          };
        }
        const base = inputShape ?? randomShape(state.inputShapeText, 'input');
        const classes = classesOf(base, state.classAxis);
        if (role === 'weight') return { kind: 'random', shape: [classes], seed: seed + 2, distribution: 'weight' };
        const derived = state.targetKind === 'probability' ? base : indexTargetShape(base, state.classAxis);
        const shape = state.targetShapeText.trim() ? randomShape(state.targetShapeText, 'target') : derived;
        const sameAsInput = shape.length === base.length && shape.every((d, i) => d === base[i]);
        if (sameAsInput && state.targetKind === 'probability') {
          return { kind: 'random', shape, seed: seed + 1, distribution: 'probability', classes };
        }
        return { kind: 'random', shape, seed: seed + 1, distribution: 'classIndex', classes, dtype: state.targetDtype };
      }
    }
  };
  if (!Number.isSafeInteger(state.ignoreIndex)) throw new OptionError('ignore index must be an integer');
  if (!Number.isFinite(state.labelSmoothing)) throw new OptionError('label smoothing must be a number');
  const input = source('input')!;
  const target = source('target')!;
  const weight = source('weight');
  return {
    function: state.function,
    reduction: state.reduction,
    ignoreIndex: state.ignoreIndex,
    labelSmoothing: state.labelSmoothing,
    classAxis: state.classAxis,
    targetKind: state.targetKind,
    input,
    target,
    ...(weight ? { weight } : {}),
    details,
  };
}

/** The end-of-line note for a result: `≈ 3.0451 · random init, ln 21 = 3.0445`. */
export function noteText(loss: string, randomInput: boolean, classes: number, lnClasses: string | undefined): string {
  const parts = [`≈ ${loss}`];
  if (randomInput && lnClasses !== undefined) parts.push(`random init, ln ${classes} = ${lnClasses}`);
  return parts.join(' · ');
}
