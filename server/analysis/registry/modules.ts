// Module and layer constructors: torch `nn.Linear`, `nn.Conv2d`, `nn.MaxPool2d`, `nn.Sequential`,
// shape-preserving activations, `nn.Flatten`, `nn.Embedding`; TF.js `tf.sequential` with
// `tf.layers.dense` / `conv2d` / `maxPooling2d` / `flatten` / `dropout`. Each builds a layer value
// whose `apply` runs the same shape function as the functional form.

import { constDim, UNKNOWN_DIM, type Dim } from '../dims';
import type { LayerValue, TensorValue, Value } from '../values';
import { conv2dTorch, pair, pool2dTorch, tfjsOut } from './conv';
import { linearShape } from './linalg';
import { flattenDims } from './shapeOps';
import {
  asDim, asInt, asString, asTensor, checkDim, rankOf, tensorOf, type OpArg, type OpCall, type OpContext, type OpEntry,
} from './types';

/** `arg i` or an option with one of the given names (the options object of `new nn.Conv2d({...})`). */
function opt(call: OpCall, i: number, ...names: string[]): OpArg | undefined {
  for (const n of names) {
    const o = call.options.get(n);
    if (o) return o;
  }
  return call.args[i];
}

function layer(name: string, apply: (ctx: OpContext, call: OpCall, x: TensorValue | undefined) => Value, props?: Map<string, Value>): LayerValue {
  return {
    kind: 'layer',
    name,
    apply: (ctx, call) => {
      const c = call as OpCall;
      return apply(ctx as OpContext, c, asTensor(c.self?.value));
    },
    props,
  };
}

/** `new nn.Linear(in, out, bias?)`: `[*, in]` → `[*, out]`; `weight` is `[out, in]`. */
function linearModule(_ctx: OpContext, call: OpCall): Value {
  const inF = asDim(opt(call, 0, 'inFeatures')?.value);
  const outF = asDim(opt(call, 1, 'outFeatures')?.value);
  const props = new Map<string, Value>([
    ['weight', tensorOf({ dims: [outF, inF] }, 'float32')],
    ['bias', tensorOf({ dims: [outF] }, 'float32')],
  ]);
  return layer('Linear', (ctx, c, x) => linearShape(ctx, c, x, inF, outF, 'arg0'), props);
}

/** `new nn.Conv2d(in, out, kernel, stride = 1, padding = 0, dilation = 1, groups = 1)` (positional or an options object). */
function conv2dModule(_ctx: OpContext, call: OpCall): Value {
  const inC = asDim(opt(call, 0, 'inChannels')?.value);
  const outC = asDim(opt(call, 1, 'outChannels')?.value);
  const kernel = pair(opt(call, 2, 'kernelSize')?.value);
  const stride = pair(opt(call, 3, 'stride')?.value, 1) ?? [1, 1];
  const padArg = opt(call, 4, 'padding');
  const padding = padArg && asString(padArg.value) ? (asString(padArg.value) as 'same' | 'valid') : pair(padArg?.value, 0);
  const dilation = pair(opt(call, 5, 'dilation')?.value, 1) ?? [1, 1];
  const groups = asInt(opt(call, 6, 'groups')?.value) ?? 1;
  const props = new Map<string, Value>([
    ['weight', tensorOf({ dims: [outC, inC.kind === 'const' ? constDim(inC.value / groups) : inC, ...(kernel ? kernel.map(constDim) : [UNKNOWN_DIM, UNKNOWN_DIM])] }, 'float32')],
  ]);
  return layer('Conv2d', (ctx, c, x) => conv2dTorch(ctx, c, x, { outChannels: outC, inChannels: inC, kernel, stride, padding, dilation, groups }, 'arg0'), props);
}

/** `new nn.MaxPool2d(kernel, stride = kernel, padding = 0)`; `nn.AvgPool2d` likewise. */
function poolModule(name: string): OpEntry['fn'] {
  return (_ctx, call) => {
    const kernel = pair(opt(call, 0, 'kernelSize')?.value);
    const stride = pair(opt(call, 1, 'stride')?.value);
    const padding = pair(opt(call, 2, 'padding')?.value, 0) ?? [0, 0];
    const dilation = pair(opt(call, 3, 'dilation')?.value, 1) ?? [1, 1];
    return layer(name, (ctx, c, x) => pool2dTorch(ctx, c, x, { kernel, stride, padding, dilation }, 'arg0'));
  };
}

/** Activations, dropout and norms keep the shape. */
function identityModule(name: string, op?: string): OpEntry['fn'] {
  return () => layer(name, (_ctx, _c, x) => tensorOf(x?.shape, x?.dtype, op ? { producer: { op } } : {}));
}

/** `nn.Softmax(dim)` / `nn.LogSoftmax(dim)`. */
function softmaxModule(name: string, op: string): OpEntry['fn'] {
  return (_ctx, call) => {
    const dim = asInt(opt(call, 0, 'dim')?.value);
    return layer(name, (ctx, c, x) => {
      const r = rankOf(x);
      if (r !== undefined && dim !== undefined && checkDim(ctx, c, dim, r, 'arg0') === undefined) return tensorOf(undefined, x?.dtype);
      return tensorOf(x?.shape, x?.dtype, { producer: { op, dim } });
    });
  };
}

/** `new nn.Flatten(start = 1, end = -1)`. */
function flattenModule(_ctx: OpContext, call: OpCall): Value {
  const s = asInt(opt(call, 0, 'startDim')?.value) ?? 1;
  const e = asInt(opt(call, 1, 'endDim')?.value) ?? -1;
  return layer('Flatten', (ctx, c, x) => {
    const r = rankOf(x);
    if (!x || r === undefined) return tensorOf(undefined, x?.dtype);
    const ws = checkDim(ctx, c, s, r, 'arg0');
    const we = ws === undefined ? undefined : checkDim(ctx, c, e, r, 'arg0');
    if (ws === undefined || we === undefined || ws > we) return tensorOf(undefined, x.dtype);
    return tensorOf({ dims: flattenDims(x.shape!.dims, ws, we) }, x.dtype);
  });
}

/** `new nn.Embedding(num, dim)`: `[*]` int → `[*, dim]` float. */
function embeddingModule(_ctx: OpContext, call: OpCall): Value {
  const dim = asDim(opt(call, 1, 'embeddingDim')?.value);
  return layer('Embedding', (_c, _call, x) => {
    const r = rankOf(x);
    return tensorOf(r === undefined ? undefined : { dims: [...x!.shape!.dims, dim] }, 'float32');
  });
}

/** `new nn.Sequential(a, b, c)` or `nn.Sequential([a, b, c])`: each layer's output feeds the next. */
function sequentialModule(_ctx: OpContext, call: OpCall): Value {
  const items = call.args.length === 1 && call.args[0].value.kind === 'array' ? call.args[0].value.elements : call.args.map(a => a.value);
  return chain('Sequential', [...items]);
}

function chain(name: string, items: Value[]): LayerValue {
  const apply = (ctx: OpContext, c: OpCall, x: TensorValue | undefined): Value => {
    let cur: Value = x ?? tensorOf(undefined, undefined);
    for (const item of items) {
      if (cur.kind !== 'tensor') return tensorOf(undefined, undefined);
      cur = ctx.callValue(item, { value: cur, range: c.self?.range ?? c.range, text: c.self?.text ?? '' }, c);
    }
    return cur;
  };
  const props = new Map<string, Value>([
    ['layers', { kind: 'array', elements: items }],
    // `model.add(layer)` appends (TF.js); the interpreter calls it like any layer method.
    ['add', { kind: 'layer', name: 'add', apply: (_ctx, c) => { const v = (c as OpCall).self?.value; if (v) items.push(v); return { kind: 'null' }; } }],
  ]);
  return layer(name, apply, props);
}

// ---------------------------------------------------------------------------------------------
// TF.js layers: `tf.layers.dense({ units: 10, inputShape: [784] })`

function configOf(call: OpCall): ReadonlyMap<string, OpArg> {
  const first = call.args[0];
  if (first && first.value.kind === 'object') {
    const m = new Map<string, OpArg>();
    for (const [k, v] of first.value.props) m.set(k, { value: v, range: first.range, text: first.text });
    return m;
  }
  return call.options;
}

/** Dense: `[*, in]` → `[*, units]` (the kernel adapts to the input on first call). */
function denseLayer(_ctx: OpContext, call: OpCall): Value {
  const units = asDim(configOf(call).get('units')?.value);
  return layer('dense', (_c, _call, x) => {
    const r = rankOf(x);
    return tensorOf(r === undefined || r === 0 ? undefined : { dims: [...x!.shape!.dims.slice(0, -1), units] }, x?.dtype ?? 'float32');
  });
}

/** `tf.layers.conv2d({ filters, kernelSize, strides = 1, padding = 'valid' })` on NHWC. */
function conv2dLayer(_ctx: OpContext, call: OpCall): Value {
  const cfg = configOf(call);
  const filters = asDim(cfg.get('filters')?.value);
  const k = pair(cfg.get('kernelSize')?.value);
  const s = pair(cfg.get('strides')?.value, 1) ?? [1, 1];
  const pad = (asString(cfg.get('padding')?.value) ?? 'valid') as 'same' | 'valid';
  return layer('conv2d', (_c, _call, x) => {
    const r = rankOf(x);
    if (!x || r !== 4) return tensorOf(undefined, x?.dtype);
    const d = x.shape!.dims;
    if (!k) return tensorOf({ dims: [d[0], UNKNOWN_DIM, UNKNOWN_DIM, filters] }, x.dtype);
    return tensorOf({ dims: [d[0], tfjsOut(d[1], k[0], s[0], pad), tfjsOut(d[2], k[1], s[1], pad), filters] }, x.dtype);
  });
}

/** `tf.layers.maxPooling2d({ poolSize, strides = poolSize, padding = 'valid' })`. */
function poolLayer(name: string): OpEntry['fn'] {
  return (_ctx, call) => {
    const cfg = configOf(call);
    const k = pair(cfg.get('poolSize')?.value, 2) ?? [2, 2];
    const s = pair(cfg.get('strides')?.value) ?? k;
    const pad = (asString(cfg.get('padding')?.value) ?? 'valid') as 'same' | 'valid';
    return layer(name, (_c, _call, x) => {
      if (!x || rankOf(x) !== 4) return tensorOf(undefined, x?.dtype);
      const d = x.shape!.dims;
      return tensorOf({ dims: [d[0], tfjsOut(d[1], k[0], s[0], pad), tfjsOut(d[2], k[1], s[1], pad), d[3]] }, x.dtype);
    });
  };
}

function flattenLayer(): Value {
  return layer('flatten', (_c, _call, x) => {
    const r = rankOf(x);
    if (!x || r === undefined || r < 1) return tensorOf(undefined, x?.dtype);
    return tensorOf({ dims: [x.shape!.dims[0], ...flattenDims(x.shape!.dims.slice(1), 0, r - 2)] }, x.dtype);
  });
}

/** `tf.sequential({ layers: [...] })` or `tf.sequential()` then `model.add(layer)`. */
function sequentialModel(_ctx: OpContext, call: OpCall): Value {
  const layers = configOf(call).get('layers')?.value;
  return chain('Sequential', layers && layers.kind === 'array' ? [...layers.elements] : []);
}

export function moduleOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const c = { ctor: true, func: true };
  if (profile === 'torch') {
    const ops: Record<string, OpEntry> = {
      Linear: { fn: linearModule, ...c },
      Conv2d: { fn: conv2dModule, ...c },
      MaxPool2d: { fn: poolModule('MaxPool2d'), ...c },
      AvgPool2d: { fn: poolModule('AvgPool2d'), ...c },
      Sequential: { fn: sequentialModule, ...c },
      Flatten: { fn: flattenModule, ...c },
      Embedding: { fn: embeddingModule, ...c },
      Softmax: { fn: softmaxModule('Softmax', 'softmax'), ...c },
      LogSoftmax: { fn: softmaxModule('LogSoftmax', 'log_softmax'), ...c },
      Sigmoid: { fn: identityModule('Sigmoid', 'sigmoid'), ...c },
    };
    for (const n of ['ReLU', 'ReLU6', 'LeakyReLU', 'GELU', 'SiLU', 'ELU', 'Tanh', 'Dropout', 'Dropout2d', 'BatchNorm1d', 'BatchNorm2d', 'LayerNorm', 'Identity', 'GroupNorm', 'InstanceNorm2d']) {
      ops[n] = { fn: identityModule(n), ...c };
    }
    return ops;
  }
  const f = { func: true };
  return {
    sequential: { fn: sequentialModel, ...f },
    dense: { fn: denseLayer, ...f },
    conv2d: { fn: conv2dLayer, ...f },
    maxPooling2d: { fn: poolLayer('maxPooling2d'), ...f },
    averagePooling2d: { fn: poolLayer('averagePooling2d'), ...f },
    flatten: { fn: flattenLayer, ...f },
    dropout: { fn: identityModule('dropout'), ...f },
    activation: { fn: identityModule('activation'), ...f },
    batchNormalization: { fn: identityModule('batchNormalization'), ...f },
    layerNormalization: { fn: identityModule('layerNormalization'), ...f },
    reLU: { fn: identityModule('reLU'), ...f },
    softmax: { fn: identityModule('softmax', 'softmax'), ...f },
  };
}
