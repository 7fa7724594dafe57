// Shared helpers for the loss-rule tests: building abstract values and printing findings the way
// the diagnostic table would (`TL2001: only batches of spatial targets …`).

import { diagnosticDefinition, formatTemplate } from '../../server/analysis/diagnosticTable';
import { addDims, constDim, parseDtype, shapeOf, symDim, variadicDim, type Dim, type Dtype } from '../../server/analysis/dims';
import type { LossFunction, Profile } from '../../server/analysis/api';
import { checkLoss, known, type LossCallInput, type LossCheckResult } from '../../server/analysis/losses';
import { tensorValue, type Finding, type TensorValue } from '../../server/analysis/values';

/** `t([2, 'C', 4], 'int64', { values: [...] })`; `'*batch'` is a variadic group, `'N+1'` a sum. */
export function t(dims: readonly (number | string | Dim)[] | undefined, dtype?: string, extra: Partial<TensorValue> = {}): TensorValue {
  const dim = (d: number | string | Dim): Dim | number | string =>
    typeof d !== 'string' ? d
    : d.startsWith('*') ? variadicDim(d.slice(1))
    : /^\w+\+\d+$/.test(d) ? addDims(symDim(d.split('+')[0]), constDim(Number(d.split('+')[1])))
    : d;
  return tensorValue(dims ? shapeOf(dims.map(dim)) : undefined, dtype ? (parseDtype(dtype) as Dtype) : undefined, extra);
}

export interface CallOptions {
  weight?: TensorValue;
  weights?: TensorValue;
  reduction?: string | number | null;
  ignoreIndex?: number | null;
  labelSmoothing?: number | null;
  profile?: Profile;
}

/** `null` means "given but unknown". */
export function call(fn: LossFunction, input: TensorValue | undefined, target: TensorValue | undefined, o: CallOptions = {}): LossCheckResult {
  const k = <T>(v: T | null | undefined) => (v === undefined ? undefined : v === null ? { known: false as const } : known(v));
  const c: LossCallInput = {
    fn, profile: o.profile ?? (fn.startsWith('tfjs.') ? 'tfjs' : 'torch'), input, target,
    weight: o.weight, weights: o.weights,
    reduction: k(o.reduction), ignoreIndex: k(o.ignoreIndex), labelSmoothing: k(o.labelSmoothing),
  };
  return checkLoss(c);
}

export function message(f: Finding): string {
  return formatTemplate(diagnosticDefinition(f.code).message, f.args);
}

export function reasonOf(f: Finding): string {
  const def = diagnosticDefinition(f.code);
  return def.reason ? formatTemplate(def.reason, f.args, f.reasonArgs ?? []) : '';
}

/** `['TL2001: only batches …']`. */
export function messages(r: LossCheckResult): string[] {
  return r.findings.map(f => `${f.code}: ${message(f)}`);
}

export function severityOf(f: Finding): string {
  return diagnosticDefinition(f.code).severity;
}
