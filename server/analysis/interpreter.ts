// The shape interpreter: runs the IR of one file abstractly, tracking tensor shapes, dtypes and known
// values through assignments, branches (joined), loops (widened), calls into annotated functions
// (unified), classes and library calls (the registry). It produces diagnostics, shape facts and loss
// call records. It never throws on user code: a failure inside one function or top-level statement
// becomes one TL9001 diagnostic and the rest of the file is still analysed.

import type { Diagnostic, DimBinding, DimJson, Fix, LossCall, Profile, RelatedLocation, ShapeFact, TextEdit, TextRange } from './api';
import { AnalysisCancelled, type CancellationToken } from './api';
import type { DimExpr, DimPattern, ShapeAnnotation, ShapePattern } from './annotations';
import { diagnosticDefinition, formatTemplate } from './diagnosticTable';
import {
  addDims, compareDims, constDim, dimToJson, divDims, floorDivDims, formatDim, formatShape, mulDims, subDims, symDim,
  UNKNOWN_DIM, variadicDim, type Dim, type Dtype, type Shape,
} from './dims';
import type { Expr, IrClass, IrFunction, IrModule, Param, Pattern, Stmt, TypeInfo } from './ir';
import { callLoss, lossFunctionFor, lossModuleFor } from './lossWiring';
import { lookupLibraryCall, lookupMethod, snakeCase } from './registry';
import { broadcastValues } from './registry/elementwise';
import { symNames } from './registry/linalg';
import type { OpArg, OpCall, OpContext, OpFix } from './registry/types';
import {
  numberValue, UNKNOWN_VALUE, type ClassValue, type Finding, type FixSpec, type FunctionValue, type InstanceValue,
  type LayerValue, type TensorValue, type Value,
} from './values';

export const INTERNAL_ERROR = 'TL9001';
export const SHAPE_UNKNOWN_FROM_HERE = 'TL9002';
export const ANNOTATION_CONTRADICTS = 'TL1003';
export const ARGUMENT_CONTRADICTS = 'TL1004';
export const DTYPE_CONTRADICTS = 'TL1007';
export const RETURN_CONTRADICTS = 'TL1008';

/** What the interpreter needs from the project: other files' exports, options. */
export interface ModuleResolver {
  /** The exported values of a project file imported from `fromFile`, or undefined when not found. */
  exportsOf(fromFile: string, specifier: string): ReadonlyMap<string, Value> | undefined;
  readonly torchModules: readonly string[];
  /** `tensorlens.json` user functions, already parsed: callee text → signature as a function value. */
  readonly userFunctions: ReadonlyMap<string, FunctionValue>;
}

// ---------------------------------------------------------------------------------------------
// Incremental re-analysis: units and traces

/**
 * A unit of incremental re-analysis: a top-level function declaration, or a constructor or method
 * of a top-level class. Every function nested in a unit belongs to it.
 */
export interface UnitInfo {
  readonly start: number;
  readonly end: number;
  /** The block body (`{` … `}`); an edit strictly inside it may re-run only this unit. */
  readonly body?: TextRange;
}

/**
 * What processing one pending function body produced, recorded so an unchanged unit's results can
 * be replayed (shifted) instead of recomputed. `children` are the bodies queued while it ran.
 */
export interface ItemTrace {
  readonly unit: number;
  skipped: boolean;
  ellipsisStart: number;
  ellipsisEnd: number;
  diagnostics: readonly Diagnostic[];
  shapes: readonly ShapeFact[];
  lossCalls: readonly LossCall[];
  /** `declLocations` entries written (name → where), replayed in order. */
  declWrites: [string, { fileName: string; range: TextRange }][];
  /** Names whose declaration location was read (a related location may come from another unit). */
  declReads: Set<string>;
  /** It wrote to a scope or an instance it did not create: a later unit may have seen the write. */
  leaked: boolean;
  /** Other units whose code it ran (inlined calls, constructors, callbacks). */
  invoked: Set<number>;
  /** The largest offset into this file in what it recorded (-1: none): a replay before the edit moves nothing. */
  maxOffset: number;
  /**
   * Every range into this file in what it recorded (a range may repeat, and may be shared with
   * other units' results): what a replay after the edit moves, without walking the results again.
   */
  ranges: TextRange[];
  readonly children: ItemTrace[];
}

/** Everything a later incremental run needs from this one. */
export interface RunTrace {
  readonly units: readonly UnitInfo[];
  /** Function bodies queued by the module body, in order. */
  readonly roots: readonly ItemTrace[];
  /** Units whose code ran on behalf of someone else (inlined, a constructor, a callback). */
  readonly inlined: ReadonlySet<number>;
}

/** The previous run's trace, the unit the edit is in and how old offsets map to new ones. */
export interface IncrementalPlan {
  readonly previous: RunTrace;
  readonly unit: number;
  /** An old offset outside the edited unit's body to the new offset; throws `IncrementalMismatch` inside it. */
  readonly shift: (offset: number) => number;
}

/** The incremental run cannot prove its result equals a full run's: the caller runs in full. */
export class IncrementalMismatch extends Error {
  constructor(why: string) {
    super(`incremental re-analysis not applicable: ${why}`);
  }
}

/**
 * Who is running (a unit index, or -1 for the module body and module-level functions) and whether it
 * wrote outside what it created. Module-wide because `Env` objects are made everywhere; saved and
 * restored around each `run()` (nested interpreters for imports run inside another's module body).
 */
const track = { owner: -1, leaked: false };

/** The units of a module, in source order: top-level functions, then each top-level class's members. */
export function unitFunctions(ir: IrModule): IrFunction[] {
  const out: IrFunction[] = [];
  for (const s of ir.body) {
    if (s.kind === 'function') out.push(s.fn);
    else if (s.kind === 'class') out.push(...(s.cls.ctor ? [s.cls.ctor] : []), ...s.cls.methods);
  }
  return out;
}

export function unitInfo(fn: IrFunction): UnitInfo {
  return { start: fn.range.start, end: fn.range.end, body: fn.bodyRange };
}

function newTrace(unit: number): ItemTrace {
  return { unit, skipped: false, ellipsisStart: 0, ellipsisEnd: 0, diagnostics: [], shapes: [], lossCalls: [], declWrites: [], declReads: new Set(), leaked: false, invoked: new Set(), maxOffset: -1, ranges: [], children: [] };
}

// ---------------------------------------------------------------------------------------------
// Environments

/** A variable scope. An `overlay` scope sits under a branch and captures writes to outer variables. */
class Env {
  readonly vars = new Map<string, Value>();
  readonly owner = track.owner;
  constructor(readonly parent?: Env, readonly overlay = false) {}

  lookup(name: string): Value | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) {
      const v = e.vars.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  declare(name: string, v: Value): void {
    if (this.owner !== track.owner && track.owner !== -1) track.leaked = true;
    this.vars.set(name, v);
  }

  assign(name: string, v: Value): void {
    for (let e: Env | undefined = this; e; e = e.parent) {
      if (e.vars.has(name) || e.overlay || !e.parent) {
        if (e.owner !== track.owner && track.owner !== -1) track.leaked = true;
        e.vars.set(name, v);
        return;
      }
    }
  }
}

interface DimBindingInfo {
  readonly dim: Dim;
  readonly location?: { fileName: string; range: TextRange };
}

/** Symbolic dim names of one function or class body: the same name is the same size. */
class DimScope {
  readonly names = new Map<string, DimBindingInfo>();
  readonly variadics = new Map<string, Dim[] | undefined>();
  constructor(readonly parent?: DimScope) {}
  get(name: string): DimBindingInfo | undefined {
    for (let s: DimScope | undefined = this; s; s = s.parent) {
      const b = s.names.get(name);
      if (b) return b;
    }
    return undefined;
  }
}

/** Per-call state: where `return` values go, `this`, dim names. */
interface Frame {
  readonly returns: Value[];
  readonly self?: Value;
  readonly dims: DimScope;
  readonly fn?: IrFunction;
  /** The instantiated `@shape returns` pattern, to check returned values against. */
  readonly expectedReturn?: { shape?: Shape; dtype?: Dtype; annotation: ShapeAnnotation };
  terminated: boolean;
}

interface FnClosure {
  readonly env: Env;
  readonly dims: DimScope;
  readonly module: ModuleState;
}

interface ModuleState {
  readonly fileName: string;
  readonly text: string;
  readonly profile: Profile | null;
}

/** A user-described function from tensorlens.json: parameter patterns and return pattern, no body. */
export interface SignatureFunction {
  readonly params: readonly { name: string; shape?: ShapePattern; dtype?: Dtype }[];
  readonly returns?: { shape: ShapePattern; dtype?: Dtype };
}

const MAX_INLINE_DEPTH = 4;
/** Tensor methods that return something other than a tensor (or nothing): quiet, not "unknown op". */
const NON_TENSOR_METHODS = new Set([
  'backward', 'item', 'dataSync', 'data', 'array', 'arraySync', 'print', 'dispose', 'toString', 'numpy', 'tolist',
  'bufferSync', 'buffer', 'size', 'dim', 'numel', 'nelement', 'register', 'zero_grad', 'retain_grad', 'requires_grad_',
  'assign', 'isDisposed', 'valueOf', 'toJSON', 'get', 'set', 'forEach', 'step', 'then', 'ndimension', 'element_size',
]);
/** Library functions that take a tensor but return no tensor (or nothing): quiet, not "unknown op". */
const QUIET_LIBRARY_FUNCTIONS = new Set([
  'dispose', 'keep', 'print', 'save', 'load', 'numel', 'is_tensor', 'isTensor', 'equal_nan', 'allclose', 'manual_seed',
  'backward', 'memory', 'nextFrame', 'browser', 'toPixels', 'setBackend', 'item', 'size', 'numpy', 'tolist', 'data',
]);

/** The callee's last name in a call expression (`gather` in `torch.gather(x, 1, i)`), else the call. */
function nameRangeOf(call: CallArg): TextRange {
  const e = call.expr;
  if (e && (e.kind === 'call' || e.kind === 'new') && e.callee.kind === 'member') return e.callee.propertyRange;
  return call.range;
}

const LAYER_CALL_METHODS = new Set(['forward', 'call', 'apply', 'predict', 'predictOnBatch', 'execute']);

export interface InterpretResult {
  readonly diagnostics: Diagnostic[];
  readonly shapes: ShapeFact[];
  readonly lossCalls: LossCall[];
  /** Exported name → value, for importers. */
  readonly exports: Map<string, Value>;
  /** For the next incremental run of the same file. */
  readonly trace: RunTrace;
}

export class Interpreter implements OpContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly shapes: ShapeFact[] = [];
  readonly lossCalls: LossCall[] = [];
  private suppress = 0;
  private inlineDepth = 0;
  private readonly analysed = new Set<IrFunction>();
  /** Ranges of replayed results already moved to this run's offsets (an incremental run). */
  private readonly movedRanges = new Set<object>();
  private readonly pending: { fn?: FunctionValue; cls?: ClassValue; unit: number; trace: ItemTrace; replay?: ItemTrace }[] = [];
  /** Incremental bookkeeping: the units, which one is running (-1: module level), its trace. */
  private readonly units: UnitInfo[] = [];
  private readonly unitOfFunction = new Map<IrFunction, number>();
  private owner = -1;
  private currentTrace?: ItemTrace;
  private readonly roots: ItemTrace[] = [];
  private readonly inlined = new Set<number>();
  private readonly instanceOwner = new WeakMap<object, number>();
  private readonly global = new Env();
  private readonly moduleState: ModuleState;
  private frame: Frame;
  private ellipsisCounter = 0;
  private steps = 0;
  /** The profile of the op being evaluated (library values carry their own). */
  profile: Profile;

  constructor(
    private readonly ir: IrModule,
    private readonly text: string,
    private readonly resolver: ModuleResolver,
    private readonly token?: CancellationToken,
    private readonly exportsOnly = false,
    private readonly incremental?: IncrementalPlan,
  ) {
    for (const fn of unitFunctions(ir)) {
      this.unitOfFunction.set(fn, this.units.length);
      this.units.push(unitInfo(fn));
    }
    const profile = detectProfile(ir, resolver.torchModules);
    this.profile = profile ?? 'torch';
    this.moduleState = { fileName: ir.fileName, text, profile };
    this.frame = { returns: [], dims: new DimScope(), terminated: false };
    if (exportsOnly) this.suppress = 1;
  }

  get fileProfile(): Profile | null {
    return this.moduleState.profile;
  }

  run(): InterpretResult {
    const savedTrack = { ...track };
    track.owner = -1;
    track.leaked = false;
    try {
      return this.runInner();
    } finally {
      track.owner = savedTrack.owner;
      track.leaked = savedTrack.leaked;
    }
  }

  private runInner(): InterpretResult {
    this.bindImports();
    this.hoist(this.ir.body, this.global);
    for (const s of this.ir.body) {
      this.guard('statement', s.range, () => this.exec(s, this.global));
      this.frame.terminated = false;
    }
    const exports = new Map<string, Value>();
    for (const [exported, local] of this.ir.exports) {
      const v = this.global.lookup(local);
      if (v) exports.set(exported, v);
    }
    const trace: RunTrace = { units: this.units, roots: this.roots, inlined: this.inlined };
    if (this.exportsOnly) return { diagnostics: this.diagnostics, shapes: this.shapes, lossCalls: this.lossCalls, exports, trace };
    const inc = this.incremental;
    const replayed: ItemTrace[] = [];
    if (inc) {
      // The module body ran in full (it never runs the edited unit's code: checked below through
      // `inlined`); every body it queued of another unit replays what the previous run recorded.
      const old = inc.previous.roots;
      if (old.length !== this.pending.length) throw new IncrementalMismatch('different function bodies queued');
      for (let i = 0; i < old.length; i++) {
        if (old[i].unit !== this.pending[i].unit) throw new IncrementalMismatch('different function bodies queued');
        if (old[i].unit >= 0 && old[i].unit !== inc.unit) this.pending[i].replay = old[i];
      }
    }
    // Function bodies run after the module body: they see every top-level declaration.
    for (let i = 0; i < this.pending.length; i++) {
      const item = this.pending[i];
      if (item.replay) {
        this.replay(item.replay, item.trace, inc!);
        replayed.push(item.trace);
        continue;
      }
      const fn = item.fn!;
      const f = fn.fn as IrFunction;
      if (this.analysed.has(f)) {
        item.trace.skipped = true;
        continue;
      }
      this.analysed.add(f);
      const t = item.trace;
      const d0 = this.diagnostics.length, s0 = this.shapes.length, l0 = this.lossCalls.length;
      t.ellipsisStart = this.ellipsisCounter;
      this.owner = track.owner = item.unit;
      this.currentTrace = t;
      track.leaked = false;
      try {
        this.guard(f.isMethod ? 'method' : 'function', f.nameRange ?? f.range, () => this.analyseStandalone(fn, item.cls));
      } finally {
        this.owner = track.owner = -1;
        this.currentTrace = undefined;
      }
      t.leaked = track.leaked;
      t.ellipsisEnd = this.ellipsisCounter;
      t.diagnostics = this.diagnostics.slice(d0);
      t.shapes = this.shapes.slice(s0);
      t.lossCalls = this.lossCalls.slice(l0);
      collectRanges([t.diagnostics, t.shapes, t.lossCalls], this.ir.fileName, true, t.ranges);
      collectRanges(t.declWrites, this.ir.fileName, false, t.ranges);
      let max = -1;
      for (const r of t.ranges) max = Math.max(max, r.start, r.end);
      t.maxOffset = max;
    }
    if (inc) this.checkIncremental(inc, replayed);
    return { diagnostics: this.diagnostics, shapes: this.shapes, lossCalls: this.lossCalls, exports, trace };
  }

  /** A body of an unchanged unit: the previous run's results, shifted, and its queued bodies in turn. */
  private replay(old: ItemTrace, t: ItemTrace, inc: IncrementalPlan): void {
    if (old.leaked) throw new IncrementalMismatch('an unchanged unit wrote outside itself');
    if (old.ellipsisStart !== this.ellipsisCounter) throw new IncrementalMismatch('fresh variadic names differ');
    const fileName = this.ir.fileName;
    t.skipped = old.skipped;
    t.ellipsisStart = old.ellipsisStart;
    t.ellipsisEnd = old.ellipsisEnd;
    this.ellipsisCounter = old.ellipsisEnd;
    if (old.maxOffset < 0 || inc.shift(old.maxOffset) === old.maxOffset) {
      // Everything it recorded lies before the edit (the shift is monotonic): the same objects serve.
      t.diagnostics = old.diagnostics;
      t.shapes = old.shapes;
      t.lossCalls = old.lossCalls;
      t.declWrites = old.declWrites;
      t.maxOffset = old.maxOffset;
      t.ranges = old.ranges;
    } else {
      // Moved in place: the previous run's results are this run's now. Nothing else keeps them (the
      // front end gave the IR's moved statements new range objects), and copying them cost a quarter
      // of an edit's time, most of it in the garbage collector. `movedRanges` holds the ranges done,
      // since results share them (every shape in a function points at its parameters' annotation).
      // `shift` throws for an offset inside the edited body; the caller then runs in full.
      const moved = this.movedRanges;
      for (const r of old.ranges) {
        if (moved.has(r)) continue;
        const start = inc.shift(r.start), end = inc.shift(r.end);
        moved.add(r);
        (r as { start: number }).start = start;
        (r as { end: number }).end = end;
      }
      t.diagnostics = old.diagnostics;
      t.shapes = old.shapes;
      t.lossCalls = old.lossCalls;
      t.declWrites = old.declWrites;
      t.maxOffset = inc.shift(old.maxOffset);
      t.ranges = old.ranges;
    }
    t.declReads = old.declReads;
    t.invoked = old.invoked;
    for (const u of old.invoked) this.inlined.add(u);
    for (const [name, loc] of t.declWrites) this.declLocations.set(name, loc);
    this.diagnostics.push(...t.diagnostics);
    this.shapes.push(...t.shapes);
    this.lossCalls.push(...t.lossCalls);
    for (const child of old.children) {
      const ct = newTrace(child.unit);
      t.children.push(ct);
      this.pending.push({ unit: child.unit, trace: ct, replay: child });
    }
  }

  /** After an incremental run: anything the edited unit could have told the replayed units. */
  private checkIncremental(inc: IncrementalPlan, replayed: readonly ItemTrace[]): void {
    if (inc.previous.inlined.has(inc.unit) || this.inlined.has(inc.unit)) throw new IncrementalMismatch('the edited unit runs on behalf of others');
    const written = new Set<string>();
    const visit = (ts: readonly ItemTrace[]) => {
      for (const t of ts) {
        if (t.unit === inc.unit) {
          if (t.leaked) throw new IncrementalMismatch('the edited unit writes outside itself');
          for (const [n] of t.declWrites) written.add(n);
        }
        visit(t.children);
      }
    };
    visit(inc.previous.roots);
    visit(this.roots);
    if (written.size === 0) return;
    for (const t of replayed) for (const n of t.declReads) if (written.has(n)) throw new IncrementalMismatch(`a replayed unit reads where '${n}' was declared`);
  }

  /** The unit a function belongs to (the top-level function or class member containing it), or -1. */
  private unitAt(fn: IrFunction): number {
    const direct = this.unitOfFunction.get(fn);
    if (direct !== undefined) return direct;
    const at = fn.range.start;
    let lo = 0, hi = this.units.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.units[mid];
      if (at < u.start) hi = mid - 1;
      else if (at >= u.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Queues a function body for its standalone analysis (after the module body). */
  private schedule(fn: FunctionValue, cls?: ClassValue): void {
    const unit = this.unitOfFunction.get(fn.fn as IrFunction) ?? this.owner;
    const trace = newTrace(unit);
    (this.currentTrace ? this.currentTrace.children : this.roots).push(trace);
    this.pending.push({ fn, cls, unit, trace });
  }

  /** Runs `body`; an exception from a bug inside the analysis becomes one TL9001 diagnostic. */
  private guard(what: string, range: TextRange, body: () => void): void {
    const saved = { suppress: this.suppress, frame: this.frame, depth: this.inlineDepth, profile: this.profile };
    try {
      body();
    } catch (e) {
      if (e instanceof AnalysisCancelled || e instanceof IncrementalMismatch) throw e;
      this.suppress = saved.suppress;
      this.frame = saved.frame;
      this.inlineDepth = saved.depth;
      this.profile = saved.profile;
      const message = e instanceof Error ? e.message : String(e);
      this.emit(INTERNAL_ERROR, [what, message], { start: range.start, end: Math.min(range.end, range.start + Math.max(1, this.lineLength(range.start))) });
    }
  }

  private lineLength(offset: number): number {
    const nl = this.text.indexOf('\n', offset);
    return (nl < 0 ? this.text.length : nl) - offset;
  }

  private tick(): void {
    if ((++this.steps & 1023) === 0 && this.token?.isCancellationRequested) throw new AnalysisCancelled();
  }

  // -------------------------------------------------------------------------------------------
  // Imports

  private bindImports(): void {
    for (const imp of this.ir.imports) {
      const profile = profileOfModule(imp.module, this.resolver.torchModules);
      if (profile) {
        // `js-pytorch/functional` and similar subpaths start the path at the subpath's name.
        const sub = imp.module.split('/').slice(imp.module.startsWith('@') ? 2 : 1);
        const base = sub.filter(s => s !== 'dist' && s !== 'src');
        if (imp.namespace) this.global.declare(imp.namespace, { kind: 'lib', profile, path: base });
        for (const n of imp.names) {
          const path = n.imported === 'default' || n.imported === 'torch' || n.imported === 'tf' ? base : [...base, n.imported];
          this.global.declare(n.local, { kind: 'lib', profile, path });
        }
        continue;
      }
      if (!imp.module.startsWith('.')) continue;
      const exports = this.resolver.exportsOf(this.ir.fileName, imp.module);
      if (!exports) continue;
      if (imp.namespace) this.global.declare(imp.namespace, { kind: 'object', props: exports });
      for (const n of imp.names) {
        const v = exports.get(n.imported);
        if (v) this.global.declare(n.local, v);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reporting

  private emit(code: string, args: readonly (string | number)[], range: TextRange, extra: { reasonArgs?: readonly (string | number)[]; related?: RelatedLocation[]; fixes?: Fix[] } = {}): void {
    if (this.suppress > 0) return;
    const def = diagnosticDefinition(code);
    const reason = def.reason ? formatTemplate(def.reason, args, extra.reasonArgs ?? []) : undefined;
    this.diagnostics.push({
      fileName: this.ir.fileName,
      range,
      code,
      severity: def.severity,
      message: formatTemplate(def.message, args, extra.reasonArgs ?? []),
      reason: reason && !/\{r\d+\}/.test(reason) ? reason : undefined,
      related: extra.related ?? [],
      fixes: extra.fixes ?? [],
    });
  }

  /** "`C` was bound here" for each symbolic name the finding mentions. */
  private relatedFor(names: readonly string[] | undefined): RelatedLocation[] {
    const out: RelatedLocation[] = [];
    for (const n of names ?? []) {
      const b = this.frame.dims.get(n);
      if (b?.location) out.push({ fileName: b.location.fileName, range: b.location.range, message: `\`${n}\` was bound here` });
    }
    return out;
  }

  /** OpContext.report: a registry finding, placed on the call's subject. */
  report(finding: Omit<Finding, 'subject'> & { subject: Finding['subject'] | 'self' }, call: OpCall, fixes?: readonly OpFix[]): void {
    if (this.suppress > 0) return;
    const range = subjectRange(finding.subject, call);
    this.emit(finding.code, finding.args, range, {
      reasonArgs: finding.reasonArgs,
      related: this.relatedFor(finding.dims),
      fixes: (fixes ?? []).map(f => ({ title: f.title, edits: [{ fileName: this.ir.fileName, range: f.range, newText: f.newText }], isPreferred: true })),
    });
  }

  /** A loss rule's finding: range from the role map, fixes turned into edits. */
  reportLossFinding(finding: Finding, roles: ReadonlyMap<string, CallArg>, call: CallArg): void {
    if (this.suppress > 0) return;
    const subject = roles.get(finding.subject) ?? call;
    const fixes: Fix[] = [];
    for (const f of finding.fixes ?? []) {
      const edits = this.fixEdits(f, roles);
      if (edits.length) fixes.push({ title: f.title, edits, isPreferred: f.preferred });
    }
    this.emit(finding.code, finding.args, subject.range, { reasonArgs: finding.reasonArgs, related: this.relatedFor(finding.dims), fixes });
  }

  private fixEdits(f: FixSpec, roles: ReadonlyMap<string, CallArg>): TextEdit[] {
    const fileName = this.ir.fileName;
    if (f.kind === 'compound') return f.parts.flatMap(p => this.fixEdits(p, roles));
    const a = roles.get(f.subject);
    if (!a) return [];
    if (f.kind === 'append') {
      const needsParens = a.expr && !['name', 'member', 'call', 'index', 'wrapped', 'this'].includes(a.expr.kind);
      if (needsParens) return [{ fileName, range: a.range, newText: `(${a.text})${f.text}` }];
      return [{ fileName, range: { start: a.range.end, end: a.range.end }, newText: f.text }];
    }
    if (f.kind === 'wrap') return [{ fileName, range: a.range, newText: f.template.split('$0').join(a.text) }];
    // unwrap-producer: `logits.argmax(1)` → `logits`; through a variable, the producing call is elsewhere.
    const e = a.expr;
    if (e && e.kind === 'call' && e.callee.kind === 'member') {
      const inner = e.callee.object;
      return [{ fileName, range: a.range, newText: this.text.slice(inner.range.start, inner.range.end) }];
    }
    return [];
  }

  // -------------------------------------------------------------------------------------------
  // Facts

  private fact(range: TextRange, kind: ShapeFact['kind'], value: Value, name?: string, annotated?: boolean, stmtEnd?: number): void {
    if (this.suppress > 0 || value.kind !== 'tensor') return;
    const shape = value.shape;
    const bindings: DimBinding[] = [];
    const printed = shape ? printedShape(shape) : undefined;
    if (shape && printed!.names.length) {
      for (const n of printed!.names) {
        const b = this.frame.dims.get(n);
        bindings.push({ name: n, value: b?.dim.kind === 'const' ? b.dim.value : undefined, location: b?.location });
      }
    }
    let fixes: Fix[] | undefined;
    if (kind === 'declaration' && !annotated && stmtEnd !== undefined && shape && shape.dims.every(d => d.kind === 'const' || d.kind === 'sym')) {
      const lineEnd = this.text.indexOf('\n', stmtEnd);
      const rest = this.text.slice(stmtEnd, lineEnd < 0 ? this.text.length : lineEnd);
      if (!rest.includes('//') && !rest.includes('/*')) {
        const text = `${formatShape(shape)}${value.dtype ? ' ' + value.dtype : ''}`;
        fixes = [{ title: `Annotate the inferred shape ${text}`, edits: [{ fileName: this.ir.fileName, range: { start: stmtEnd, end: stmtEnd }, newText: `  // @shape ${text}` }] }];
      }
    }
    this.shapes.push({
      fileName: this.ir.fileName,
      range,
      kind,
      name,
      shapeText: printed ? printed.text : '[?]',
      shape: printed ? printed.json : null,
      dtype: value.dtype ?? null,
      bindings,
      annotated: annotated || undefined,
      fixes,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  private hoist(body: readonly Stmt[], env: Env): void {
    for (const s of body) {
      if (s.kind === 'function' && s.fn.name) env.declare(s.fn.name, this.makeFunction(s.fn, env));
    }
  }

  private makeFunction(fn: IrFunction, env: Env, self?: Value): FunctionValue {
    const v: FunctionValue = { kind: 'function', fn, closure: { env, dims: this.frame.dims, module: this.moduleState } satisfies FnClosure, self };
    if (this.suppress === 0 && !this.analysed.has(fn)) this.schedule(v);
    return v;
  }

  private execBlock(body: readonly Stmt[], env: Env): void {
    this.hoist(body, env);
    for (const s of body) {
      if (this.frame.terminated) break;
      this.exec(s, env);
    }
  }

  private exec(s: Stmt, env: Env): void {
    this.tick();
    const savedEnv = this.currentEnv;
    this.currentEnv = env;
    try {
      this.execInner(s, env);
    } finally {
      this.currentEnv = savedEnv;
    }
  }

  private execInner(s: Stmt, env: Env): void {
    switch (s.kind) {
      case 'declare': {
        let v = s.init ? this.eval(s.init, env) : UNKNOWN_VALUE;
        v = this.applyTypeInfo(v, s.type);
        if (s.annotation) v = this.applyAnnotation(s.annotation, v, s.init?.range ?? s.range);
        this.bindPattern(s.target, v, env, true, s.annotation !== undefined, s.range.end);
        return;
      }
      case 'assign': {
        let v = this.eval(s.value, env);
        if (s.annotation) v = this.applyAnnotation(s.annotation, v, s.value.range);
        this.assignTo(s.target, v, env, s.annotation !== undefined);
        return;
      }
      case 'expr':
        this.eval(s.expr, env);
        return;
      case 'if': {
        this.eval(s.cond, env);
        this.branches([s.then, s.else], env);
        return;
      }
      case 'loop':
        this.loop(s, env);
        return;
      case 'return': {
        const v = s.value ? this.eval(s.value, env) : { kind: 'null' as const };
        if (s.value) this.checkReturn(v, s.value.range);
        this.frame.returns.push(v);
        this.frame.terminated = true;
        return;
      }
      case 'function': {
        // Already hoisted; re-declare so a nested redefinition wins.
        if (s.fn.name && !env.vars.has(s.fn.name)) env.declare(s.fn.name, this.makeFunction(s.fn, env));
        return;
      }
      case 'class': {
        const cls = this.makeClass(s.cls, env);
        if (s.cls.name) env.declare(s.cls.name, cls);
        return;
      }
      case 'block':
        this.execBlock(s.body, new Env(env));
        return;
      case 'try': {
        this.branches([s.body, s.handler], env);
        this.execBlock(s.finalizer, new Env(env));
        return;
      }
    }
  }

  /** Runs alternatives on overlays and joins what they wrote (equal values stay, differing ones widen). */
  private branches(alternatives: readonly (readonly Stmt[])[], env: Env): void {
    const results: { writes: Map<string, Value>; terminated: boolean }[] = [];
    for (const body of alternatives) {
      const overlay = new Env(env, true);
      const wasTerminated = this.frame.terminated;
      this.execBlock(body, new Env(overlay));
      results.push({ writes: overlay.vars, terminated: this.frame.terminated });
      this.frame.terminated = wasTerminated;
    }
    const live = results.filter(r => !r.terminated);
    if (live.length === 0) {
      this.frame.terminated = true;
      return;
    }
    const names = new Set<string>();
    for (const r of live) for (const n of r.writes.keys()) names.add(n);
    for (const n of names) {
      const values = live.map(r => r.writes.get(n) ?? env.lookup(n) ?? UNKNOWN_VALUE);
      env.assign(n, values.reduce(joinValues));
    }
  }

  /**
   * A loop body runs once quietly to find what changes, the changed variables are widened (joined
   * with their value before the loop), then it runs again for diagnostics and facts. After the loop,
   * values join with the zero-iterations case.
   */
  private loop(s: Extract<Stmt, { kind: 'loop' }>, env: Env): void {
    const loopEnv = new Env(env);
    this.execBlock(s.init, loopEnv);
    let element: Value = UNKNOWN_VALUE;
    if (s.iterable) {
      const it = this.eval(s.iterable, loopEnv);
      if (it.kind === 'array' && it.elements.length) element = it.elements.reduce(joinValues);
    }
    if (s.cond) this.eval(s.cond, loopEnv);
    const runBody = () => {
      const overlay = new Env(loopEnv, true);
      const bodyEnv = new Env(overlay);
      if (s.binding) this.bindPattern(s.binding, element, bodyEnv, true, false);
      const wasTerminated = this.frame.terminated;
      this.execBlock(s.body, bodyEnv);
      this.frame.terminated = wasTerminated;
      return overlay.vars;
    };
    this.suppress++;
    let writes: Map<string, Value>;
    try {
      writes = runBody();
    } finally {
      this.suppress--;
    }
    for (const [n, v] of writes) loopEnv.assign(n, joinValues(loopEnv.lookup(n) ?? UNKNOWN_VALUE, v));
    const before = new Map([...writes.keys()].map(n => [n, loopEnv.lookup(n) ?? UNKNOWN_VALUE] as const));
    const second = runBody();
    for (const [n, v] of second) loopEnv.assign(n, joinValues(before.get(n) ?? UNKNOWN_VALUE, v));
  }

  private bindPattern(p: Pattern, v: Value, env: Env, declare: boolean, annotated: boolean, stmtEnd?: number): void {
    if (p.kind === 'name') {
      if (v.kind === 'number' && v.dim.kind === 'const') {
        const loc = { fileName: this.ir.fileName, range: p.range };
        this.declLocations.set(p.name, loc);
        this.currentTrace?.declWrites.push([p.name, loc]);
      }
      if (declare) env.declare(p.name, v);
      else env.assign(p.name, v);
      this.fact(p.range, 'declaration', v, p.name, annotated, stmtEnd);
      return;
    }
    if (p.kind === 'array') {
      p.elements.forEach((e, i) => {
        if (!e) return;
        const el = v.kind === 'array' ? v.elements[i] ?? UNKNOWN_VALUE : UNKNOWN_VALUE;
        this.bindPattern(e, el, env, declare, false);
      });
      return;
    }
    for (const prop of p.props) {
      this.bindPattern(prop.value, this.member(v, prop.key, undefined), env, declare, false);
    }
  }

  private assignTo(target: Expr, v: Value, env: Env, annotated: boolean): void {
    if (target.kind === 'name') {
      env.assign(target.name, v);
      this.fact(target.range, 'declaration', v, target.name, annotated);
      return;
    }
    if (target.kind === 'member') {
      const obj = this.eval(target.object, env);
      if (obj.kind === 'instance') {
        if (this.owner !== -1 && this.instanceOwner.get(obj) !== this.owner) track.leaked = true;
        obj.fields.set(target.property, v);
      }
      this.fact(target.propertyRange, 'declaration', v, target.property, annotated);
      return;
    }
    if (target.kind === 'array') {
      target.elements.forEach((e, i) => this.assignTo(e, v.kind === 'array' ? v.elements[i] ?? UNKNOWN_VALUE : UNKNOWN_VALUE, env, false));
      return;
    }
    if (target.kind === 'wrapped') this.assignTo(target.inner, v, env, annotated);
  }

  // -------------------------------------------------------------------------------------------
  // Annotations

  /** The shape an annotation describes, with names resolved in the current dim scope. */
  private instantiate(pattern: ShapePattern, bindNew: boolean): Shape {
    const dims: Dim[] = [];
    for (const d of pattern.dims) dims.push(this.patternDim(d, bindNew));
    return { dims };
  }

  private patternDim(d: DimPattern, bindNew: boolean): Dim {
    switch (d.kind) {
      case 'wild': return UNKNOWN_DIM;
      case 'ellipsis': return variadicDim(`...${++this.ellipsisCounter}`);
      case 'variadic': return variadicDim(d.name);
      case 'expr': return this.dimExpr(d.expr, bindNew);
    }
  }

  private dimExpr(e: DimExpr, bindNew: boolean, subst?: Map<string, Dim>): Dim {
    switch (e.kind) {
      case 'int': return constDim(e.value);
      case 'name': {
        if (subst) {
          const s = subst.get(e.name);
          if (s) return s;
        }
        const b = this.frame.dims.get(e.name);
        if (b) return b.dim;
        // A name that is a numeric constant in scope takes its value.
        const v = this.lookupConstant(e.name);
        if (v) {
          if (bindNew) this.frame.dims.names.set(e.name, { dim: v.dim, location: v.location });
          return v.dim;
        }
        if (subst) return UNKNOWN_DIM;
        const dim = symDim(e.name);
        if (bindNew) this.frame.dims.names.set(e.name, { dim, location: { fileName: this.ir.fileName, range: e.range } });
        return dim;
      }
      case 'binary': {
        const a = this.dimExpr(e.left, bindNew, subst), b = this.dimExpr(e.right, bindNew, subst);
        switch (e.op) {
          case '+': return addDims(a, b);
          case '-': return subDims(a, b);
          case '*': return mulDims(a, b);
          case '/': return divDims(a, b);
          case '//': return floorDivDims(a, b);
        }
      }
    }
  }

  /** `const NUM_CLASSES = 21` (or `config.numClasses` when known): a dim. */
  private constants = new Map<string, { dim: Dim; location?: { fileName: string; range: TextRange } }>();
  private lookupConstant(name: string): { dim: Dim; location?: { fileName: string; range: TextRange } } | undefined {
    const c = this.constants.get(name);
    if (c) return c;
    const parts = name.split('.');
    let v: Value | undefined = this.currentEnv?.lookup(parts[0]);
    for (const p of parts.slice(1)) v = v ? this.member(v, p, undefined) : undefined;
    if (v && v.kind === 'number' && v.dim.kind !== 'unknown') {
      this.currentTrace?.declReads.add(parts[0]);
      return { dim: v.dim, location: this.declLocations.get(parts[0]) };
    }
    return undefined;
  }
  private currentEnv?: Env;
  private readonly declLocations = new Map<string, { fileName: string; range: TextRange }>();

  /** A declaration's annotation: checked against the inferred value, then it is the value. */
  private applyAnnotation(a: ShapeAnnotation, inferred: Value, at: TextRange): Value {
    const shape = this.instantiate(a.shape, true);
    const t = inferred.kind === 'tensor' ? inferred : undefined;
    if (t?.shape) {
      const diff = shapeContradiction(shape, t.shape);
      if (diff) {
        const fixes: Fix[] = t.shape.dims.every(d => d.kind === 'const' || d.kind === 'sym')
          ? [{ title: `Change the annotation to the inferred shape ${formatShape(t.shape)}`, edits: [{ fileName: this.ir.fileName, range: a.shape.range, newText: formatShape(t.shape) }] }]
          : [];
        this.emit(ANNOTATION_CONTRADICTS, [formatShape(shape), formatShape(t.shape)], at, {
          reasonArgs: [diff],
          related: [{ fileName: this.ir.fileName, range: a.shape.range, message: 'the annotation' }, ...this.relatedFor(symNames(shape.dims))],
          fixes,
        });
      }
    }
    if (a.dtype && t?.dtype && a.dtype !== t.dtype) {
      this.emit(DTYPE_CONTRADICTS, [a.dtype, t.dtype], at, { reasonArgs: [`The value computed here is ${t.dtype}; the annotation's dtype is used from here on.`] });
    }
    return {
      kind: 'tensor',
      shape: hasUnknownOnly(shape) && t?.shape ? t.shape : mergeShapes(shape, t?.shape),
      dtype: a.dtype ?? t?.dtype,
      values: t?.values,
      valueRange: t?.valueRange,
      producer: t?.producer,
    };
  }

  private applyTypeInfo(v: Value, type: TypeInfo | undefined): Value {
    if (type?.className && v.kind === 'unknown') {
      const cls = this.currentEnv?.lookup(type.className);
      if (cls?.kind === 'class') return this.instantiateClass(cls, []);
      return v;
    }
    if (!type?.isTensor) return v;
    if (v.kind === 'tensor' && v.shape) return v;
    const shape = type.rank !== undefined ? { dims: new Array<Dim>(type.rank).fill(UNKNOWN_DIM) } : undefined;
    if (v.kind === 'tensor') return { ...v, shape };
    return { kind: 'tensor', shape, dtype: undefined };
  }

  private checkReturn(v: Value, range: TextRange): void {
    const exp = this.frame.expectedReturn;
    if (!exp?.shape || v.kind !== 'tensor' || !v.shape) return;
    const diff = shapeContradiction(exp.shape, v.shape);
    if (diff) {
      this.emit(RETURN_CONTRADICTS, [formatShape(exp.shape), formatShape(v.shape)], range, {
        reasonArgs: [diff],
        related: [{ fileName: this.ir.fileName, range: exp.annotation.shape.range, message: 'the return annotation' }, ...this.relatedFor(symNames([...exp.shape.dims, ...v.shape.dims]))],
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Functions and classes

  private makeClass(cls: IrClass, env: Env): ClassValue {
    const base = cls.extendsExpr ? this.eval(cls.extendsExpr, env) : undefined;
    const v: ClassValue = { kind: 'class', cls, closure: { env, dims: this.frame.dims, module: this.moduleState } satisfies FnClosure, base: base?.kind === 'class' ? base : undefined };
    if (this.suppress === 0) {
      const closure = { env, dims: this.frame.dims, module: this.moduleState };
      for (const m of [...(cls.ctor ? [cls.ctor] : []), ...cls.methods]) {
        if (!this.analysed.has(m)) this.schedule({ kind: 'function', fn: m, closure }, v);
      }
    }
    return v;
  }

  /** `new Net(…)`: fields, then the constructor, quietly (its body is analysed on its own). */
  private instantiateClass(cls: ClassValue, args: readonly Value[]): InstanceValue {
    const inst: InstanceValue = { kind: 'instance', cls, fields: new Map() };
    this.instanceOwner.set(inst, this.owner);
    const chain: ClassValue[] = [];
    for (let c: ClassValue | undefined = cls; c; c = c.base as ClassValue | undefined) chain.unshift(c);
    if (this.inlineDepth >= MAX_INLINE_DEPTH) return inst;
    this.suppress++;
    this.inlineDepth++;
    try {
      for (const c of chain) {
        const ir = c.cls as IrClass;
        const closure = c.closure as FnClosure;
        for (const f of ir.fields) {
          if (!f.value) continue;
          let v = this.eval(f.value, new Env(closure.env));
          if (f.annotation) v = this.applyAnnotation(f.annotation, v, f.range);
          inst.fields.set(f.name, v);
        }
        if (ir.ctor) this.invoke(ir.ctor, closure, args, [], inst, undefined, true);
      }
    } finally {
      this.suppress--;
      this.inlineDepth--;
    }
    return inst;
  }

  private findMethod(cls: ClassValue, name: string): { fn: IrFunction; closure: FnClosure } | undefined {
    for (let c: ClassValue | undefined = cls; c; c = c.base as ClassValue | undefined) {
      const m = (c.cls as IrClass).methods.find(x => x.name === name);
      if (m) return { fn: m, closure: c.closure as FnClosure };
    }
    return undefined;
  }

  /** A function body on its own: annotated parameters get their annotated shapes. */
  private analyseStandalone(fv: FunctionValue, cls?: ClassValue): void {
    const fn = fv.fn as IrFunction;
    const closure = fv.closure as FnClosure;
    let self = fv.self;
    if (cls && !self) {
      // `this` inside methods: an instance built by running the constructor with unknown arguments.
      if (fn === (cls.cls as IrClass).ctor) {
        self = { kind: 'instance', cls, fields: new Map() };
        this.instanceOwner.set(self, this.owner);
      } else {
        self = this.instantiateClass(cls, []);
      }
    }
    this.invoke(fn, closure, [], [], self, undefined, false);
  }

  /**
   * Runs a function body with argument values. `quiet` runs (inlining at a call site) report
   * nothing; standalone runs report and record facts. Returns the joined return value.
   */
  private invoke(fn: IrFunction, closure: FnClosure, args: readonly Value[], argInfo: readonly CallArg[], self: Value | undefined, call: CallArg | undefined, quiet: boolean): Value {
    // Code of an imported file is no unit of this one (its text is a dependency, checked as such).
    const unit = closure.module.fileName === this.ir.fileName ? this.unitAt(fn) : -1;
    if (unit >= 0 && unit !== this.owner) {
      this.inlined.add(unit);
      this.currentTrace?.invoked.add(unit);
    }
    const env = new Env(closure.env);
    const dims = new DimScope(closure.dims);
    const savedFrame = this.frame, savedEnv = this.currentEnv;
    this.frame = { returns: [], self, dims, fn, terminated: false };
    this.currentEnv = env;
    try {
      fn.params.forEach((p, i) => {
        let v: Value = p.rest ? { kind: 'array', elements: args.slice(i) } : args[i] ?? (p.defaultValue ? this.eval(p.defaultValue, env) : UNKNOWN_VALUE);
        v = this.applyTypeInfo(v, p.type);
        if (p.annotation) v = this.bindParam(p, v, quiet ? undefined : argInfo[i], quiet);
        if (p.name) {
          env.declare(p.name, v);
          if (!quiet && (p.annotation || p.type?.isTensor)) this.fact(p.range, 'parameter', v, p.name, p.annotation !== undefined);
        } else if (p.pattern) {
          this.bindPattern(p.pattern, v, env, true, false);
        }
      });
      if (fn.returns) {
        this.frame = { ...this.frame, expectedReturn: { shape: this.instantiate(fn.returns.shape, true), dtype: fn.returns.dtype, annotation: fn.returns } };
      }
      if (fn.bodyExpr) {
        const v = this.eval(fn.bodyExpr, env);
        this.checkReturn(v, fn.bodyExpr.range);
        this.frame.returns.push(v);
      } else {
        this.execBlock(fn.body, env);
      }
      const returns = this.frame.returns;
      let result: Value = returns.length ? returns.reduce(joinValues) : { kind: 'null' };
      const exp = this.frame.expectedReturn;
      if (exp) result = { kind: 'tensor', shape: mergeShapes(exp.shape!, result.kind === 'tensor' ? result.shape : undefined), dtype: exp.dtype ?? (result.kind === 'tensor' ? result.dtype : undefined) };
      void call;
      return result;
    } finally {
      this.frame = savedFrame;
      this.currentEnv = savedEnv;
    }
  }

  /** A parameter's annotation in a body run: the annotated shape, names bound in the function's scope. */
  private bindParam(p: Param, arg: Value, _info: CallArg | undefined, quiet: boolean): Value {
    const a = p.annotation!;
    const shape = this.instantiate(a.shape, true);
    const t = arg.kind === 'tensor' ? arg : undefined;
    if (quiet && t?.shape) {
      // Inlined with a real argument: keep what is known about it (checked at the call site).
      return { ...t, dtype: a.dtype ?? t.dtype };
    }
    return { kind: 'tensor', shape, dtype: a.dtype ?? t?.dtype, values: t?.values, valueRange: t?.valueRange };
  }

  /**
   * A call of a user function. Annotated: unify the arguments with the parameter annotations
   * (binding the callee's names afresh, reporting contradictions) and return the annotated result.
   * Otherwise the body is run quietly with the arguments (depth-limited).
   */
  private callUser(fv: FunctionValue, args: readonly CallArg[], call: CallArg, selfOverride?: Value): Value {
    const fn = fv.fn as IrFunction;
    const closure = fv.closure as FnClosure;
    const annotated = fn.params.some(p => p.annotation) || fn.returns !== undefined;
    let subst: Map<string, Dim> | undefined;
    if (annotated) subst = this.unifyArgs(fn.params.map(p => ({ name: p.name ?? '_', annotation: p.annotation?.shape, dtype: p.annotation?.dtype })), args, closure);
    if (fn.returns && subst) return this.instantiateReturn(fn.returns.shape, fn.returns.dtype, subst, closure);
    if (this.inlineDepth >= MAX_INLINE_DEPTH) return UNKNOWN_VALUE;
    this.suppress++;
    this.inlineDepth++;
    try {
      return this.invoke(fn, closure, args.map(a => a.value), args, selfOverride ?? fv.self, call, true);
    } finally {
      this.suppress--;
      this.inlineDepth--;
    }
  }

  /** A tensorlens.json signature or an annotated function: unify, report, return the instantiated result. */
  private callSignature(sig: SignatureFunction, args: readonly CallArg[]): Value {
    const subst = this.unifyArgs(sig.params.map(p => ({ name: p.name, annotation: p.shape, dtype: p.dtype })), args, undefined);
    if (!sig.returns) return UNKNOWN_VALUE;
    return this.instantiateReturn(sig.returns.shape, sig.returns.dtype, subst, undefined);
  }

  private instantiateReturn(pattern: ShapePattern, dtype: Dtype | undefined, subst: Map<string, Dim>, closure: FnClosure | undefined): Value {
    const dims: Dim[] = [];
    for (const d of pattern.dims) {
      if (d.kind === 'wild') dims.push(UNKNOWN_DIM);
      else if (d.kind === 'variadic' || d.kind === 'ellipsis') {
        // The group bound by `unifyArgs` just before; an unbound group leaves the rank unknown.
        const list = this.variadicSubst.get(d.kind === 'variadic' ? d.name : '...');
        if (!list) return { kind: 'tensor', shape: undefined, dtype };
        dims.push(...list);
      } else {
        dims.push(this.withClosureDims(closure, () => this.dimExpr(d.expr, false, subst)));
      }
    }
    return { kind: 'tensor', shape: { dims }, dtype };
  }

  private withClosureDims<T>(closure: FnClosure | undefined, f: () => T): T {
    if (!closure) return f();
    const saved = this.frame, savedEnv = this.currentEnv;
    this.frame = { ...this.frame, dims: new DimScope(closure.dims) };
    this.currentEnv = closure.env;
    try {
      return f();
    } finally {
      this.frame = saved;
      this.currentEnv = savedEnv;
    }
  }

  private variadicSubst = new Map<string, Dim[]>();

  /**
   * Binds each annotated parameter's names from its argument's shape. The first argument to bind a
   * name fixes it; a later provable difference is TL1004 at that argument.
   */
  private unifyArgs(params: readonly { name: string; annotation?: ShapePattern; dtype?: Dtype }[], args: readonly CallArg[], closure: FnClosure | undefined): Map<string, Dim> {
    const subst = new Map<string, Dim>();
    const boundBy = new Map<string, string>();
    this.variadicSubst = new Map();
    params.forEach((p, i) => {
      const a = args[i];
      if (!p.annotation || !a || a.value.kind !== 'tensor' || !a.value.shape) return;
      const actual = a.value.shape.dims;
      if (actual.some(d => d.kind === 'variadic')) return;
      const pat = p.annotation.dims;
      const vi = pat.findIndex(d => d.kind === 'variadic' || d.kind === 'ellipsis');
      const fixed = vi < 0 ? pat.length : pat.length - 1;
      const fail = (why: string) => {
        const expected = this.withClosureDims(closure, () => `[${pat.map(d => patternText(d, subst)).join(', ')}]`);
        this.emit(ARGUMENT_CONTRADICTS, [p.name, formatShape(a.value.kind === 'tensor' ? a.value.shape : undefined), expected], a.range, { reasonArgs: [why] });
      };
      if (vi < 0 ? actual.length !== pat.length : actual.length < fixed) {
        fail(`the annotation has ${vi < 0 ? '' : 'at least '}${fixed} dims, the argument has ${actual.length}`);
        return;
      }
      const pairs: [DimPattern, Dim, number][] = [];
      for (let k = 0; k < (vi < 0 ? pat.length : vi); k++) pairs.push([pat[k], actual[k], k]);
      if (vi >= 0) {
        const tail = pat.length - vi - 1;
        for (let k = 0; k < tail; k++) pairs.push([pat[vi + 1 + k], actual[actual.length - tail + k], actual.length - tail + k]);
        const group = actual.slice(vi, actual.length - tail);
        const d = pat[vi];
        const key = d.kind === 'variadic' ? d.name : '...';
        const prev = this.variadicSubst.get(key);
        if (prev && d.kind === 'variadic') {
          if (prev.length !== group.length || prev.some((x, j) => compareDims(x, group[j]) === 'different')) {
            fail(`\`*${key}\` is ${formatShape({ dims: prev })} from '${boundBy.get('*' + key)}' but ${formatShape({ dims: group })} here`);
            return;
          }
        } else {
          this.variadicSubst.set(key, group);
          boundBy.set('*' + key, p.name);
        }
      }
      for (const [pd, ad, k] of pairs) {
        if (pd.kind !== 'expr') continue;
        if (pd.expr.kind === 'name' && !subst.has(pd.expr.name)) {
          const c = this.withClosureDims(closure, () => this.lookupConstant(pd.expr.kind === 'name' ? pd.expr.name : ''));
          if (!c) {
            subst.set(pd.expr.name, ad);
            boundBy.set(pd.expr.name, p.name);
            continue;
          }
        }
        const expected = this.withClosureDims(closure, () => this.dimExpr(pd.expr, false, subst));
        if (compareDims(expected, ad) === 'different') {
          const n = pd.expr.kind === 'name' ? pd.expr.name : undefined;
          fail(n && boundBy.has(n)
            ? `\`${n}\` is ${formatDim(expected)} from '${boundBy.get(n)}' but dim ${k} here is ${formatDim(ad)}`
            : `dim ${k} must be ${formatDim(expected)} but is ${formatDim(ad)}`);
          return;
        }
      }
      if (p.dtype && a.value.dtype && p.dtype !== a.value.dtype) {
        this.emit(DTYPE_CONTRADICTS, [p.dtype, a.value.dtype], a.range, { reasonArgs: [`The parameter '${p.name}' is annotated ${p.dtype}.`] });
      }
    });
    return subst;
  }

  // -------------------------------------------------------------------------------------------
  // Expressions

  private eval(e: Expr, env: Env): Value {
    this.tick();
    const savedEnv = this.currentEnv;
    this.currentEnv = env;
    try {
      const v = this.evalInner(e, env);
      if ((e.kind === 'call' || e.kind === 'name' || e.kind === 'member' || e.kind === 'new') && v.kind === 'tensor') this.fact(e.range, 'expression', v);
      return v;
    } finally {
      this.currentEnv = savedEnv;
    }
  }

  private evalInner(e: Expr, env: Env): Value {
    switch (e.kind) {
      case 'name': {
        const v = env.lookup(e.name);
        return v ?? UNKNOWN_VALUE;
      }
      case 'number': return { kind: 'number', dim: Number.isFinite(e.value) ? constDim(e.value) : UNKNOWN_DIM, float: e.float };
      case 'string': return { kind: 'string', value: e.value };
      case 'bool': return { kind: 'bool', value: e.value };
      case 'null': return { kind: 'null' };
      case 'this': return this.frame.self ?? UNKNOWN_VALUE;
      case 'array': return { kind: 'array', elements: e.elements.map(x => this.eval(x, env)) };
      case 'object': {
        const props = new Map<string, Value>();
        for (const p of e.props) props.set(p.key, this.eval(p.value, env));
        return { kind: 'object', props };
      }
      case 'member': return this.member(this.eval(e.object, env), e.property, e);
      case 'index': {
        const obj = this.eval(e.object, env);
        const idx = this.eval(e.index, env);
        if (obj.kind === 'array' && idx.kind === 'number' && idx.dim.kind === 'const') return obj.elements[idx.dim.value] ?? UNKNOWN_VALUE;
        if (obj.kind === 'object' && idx.kind === 'string' && idx.value !== undefined) return obj.props.get(idx.value) ?? UNKNOWN_VALUE;
        return UNKNOWN_VALUE;
      }
      case 'call': return this.call(e, env);
      case 'new': return this.construct(e, env);
      case 'unary': {
        const v = this.eval(e.operand, env);
        if (e.op === '-' && v.kind === 'number') return numberValue(mulDims(constDim(-1), v.dim));
        if (e.op === '+' && v.kind === 'number') return v;
        if (e.op === '!') return { kind: 'bool' };
        return v.kind === 'number' ? numberValue(UNKNOWN_DIM) : UNKNOWN_VALUE;
      }
      case 'binary': return this.binary(e, env);
      case 'conditional': {
        this.eval(e.cond, env);
        return joinValues(this.eval(e.whenTrue, env), this.eval(e.whenFalse, env));
      }
      case 'function': return this.makeFunction(e.fn, env);
      case 'class': return this.makeClass(e.cls, env);
      case 'wrapped': return this.applyTypeInfo(this.eval(e.inner, env), e.type);
      case 'opaque':
        for (const p of e.parts) this.eval(p, env);
        return UNKNOWN_VALUE;
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, env: Env): Value {
    const a = this.eval(e.left, env);
    const b = this.eval(e.right, env);
    if (a.kind === 'number' && b.kind === 'number') {
      switch (e.op) {
        case '+': return numberValue(addDims(a.dim, b.dim));
        case '-': return numberValue(subDims(a.dim, b.dim));
        case '*': return numberValue(mulDims(a.dim, b.dim));
        case '/': return numberValue(a.dim.kind === 'const' && b.dim.kind === 'const' ? constDim(a.dim.value / b.dim.value) : divDims(a.dim, b.dim));
        case '%': return numberValue(a.dim.kind === 'const' && b.dim.kind === 'const' && b.dim.value !== 0 ? constDim(a.dim.value % b.dim.value) : UNKNOWN_DIM);
        case '**': return numberValue(a.dim.kind === 'const' && b.dim.kind === 'const' ? constDim(a.dim.value ** b.dim.value) : UNKNOWN_DIM);
      }
      return ['<', '>', '<=', '>=', '==', '===', '!=', '!=='].includes(e.op) ? { kind: 'bool' } : numberValue(UNKNOWN_DIM);
    }
    if (a.kind === 'string' || b.kind === 'string') return { kind: 'string' };
    if (e.op === '&&' || e.op === '||' || e.op === '??') return e.op === '&&' ? b : joinValues(a, b);
    return UNKNOWN_VALUE;
  }

  /** Property access on any value. */
  private member(obj: Value, name: string, e: Extract<Expr, { kind: 'member' }> | undefined): Value {
    switch (obj.kind) {
      case 'tensor': {
        const s = obj.shape;
        if (name === 'shape') {
          if (!s || s.dims.some(d => d.kind === 'variadic')) return UNKNOWN_VALUE;
          return { kind: 'array', elements: s.dims.map(numberValue) };
        }
        if (name === 'rank' || name === 'ndim') return numberValue(s && s.dims.every(d => d.kind !== 'variadic') ? constDim(s.dims.length) : UNKNOWN_DIM);
        if (name === 'dtype') return { kind: 'string', value: obj.dtype };
        if (name === 'size' && this.profile === 'tfjs') return numberValue(UNKNOWN_DIM);
        if (name === 'T' && s && s.dims.length === 2) return { kind: 'tensor', shape: { dims: [s.dims[1], s.dims[0]] }, dtype: obj.dtype };
        return UNKNOWN_VALUE;
      }
      case 'lib': return { kind: 'lib', profile: obj.profile, path: [...obj.path, name] };
      case 'layer': return obj.props?.get(name) ?? UNKNOWN_VALUE;
      case 'instance': {
        const f = obj.fields.get(name);
        if (f) return f;
        const m = this.findMethod(obj.cls, name);
        if (m) return { kind: 'function', fn: m.fn, closure: m.closure, self: obj };
        return UNKNOWN_VALUE;
      }
      case 'object': return obj.props.get(name) ?? UNKNOWN_VALUE;
      case 'array':
        if (name === 'length') return numberValue(constDim(obj.elements.length));
        return UNKNOWN_VALUE;
      case 'string':
        if (name === 'length' && obj.value !== undefined) return numberValue(constDim(obj.value.length));
        return UNKNOWN_VALUE;
    }
    void e;
    return UNKNOWN_VALUE;
  }

  /** Evaluates call arguments; a trailing object literal becomes the options map as well. */
  private args(exprs: readonly Expr[], env: Env): CallArg[] {
    return exprs.map(x => ({ value: this.eval(x, env), range: x.range, text: this.text.slice(x.range.start, x.range.end), expr: x }));
  }

  private opCall(name: string, self: CallArg | undefined, args: readonly CallArg[], range: TextRange, profile: Profile, optionsFromLast = true): OpCall {
    const options = new Map<string, OpArg>();
    let positional = args;
    const last = args[args.length - 1];
    if (optionsFromLast && last && last.expr?.kind === 'object' && last.value.kind === 'object') {
      positional = args.slice(0, -1);
      for (const p of (last.expr as Extract<Expr, { kind: 'object' }>).props) {
        const v = last.value.props.get(p.key) ?? UNKNOWN_VALUE;
        options.set(camelCase(p.key), { value: v, range: p.range, text: this.text.slice(p.range.start, p.range.end) });
      }
    }
    return { profile, name, self, args: positional, options, range };
  }

  callValue(callee: Value, arg: OpArg, call: OpCall): Value {
    const ca: CallArg = { ...arg };
    return this.callCallable(callee, [ca], { value: UNKNOWN_VALUE, range: call.range, text: '' });
  }

  /** Calls something callable with evaluated arguments: a layer, a user function, a module instance. */
  private callCallable(callee: Value, args: readonly CallArg[], call: CallArg): Value {
    switch (callee.kind) {
      case 'layer': {
        const [first, ...rest] = args;
        return this.withProfile(this.profile, () => callee.apply(this, this.opCall(callee.name, first, rest, call.range, this.profile)));
      }
      case 'function': return this.callUser(callee, args, call);
      case 'instance': {
        const m = this.findMethod(callee.cls, 'forward') ?? this.findMethod(callee.cls, 'call');
        if (m) return this.callUser({ kind: 'function', fn: m.fn, closure: m.closure, self: callee }, args, call);
        return UNKNOWN_VALUE;
      }
    }
    return UNKNOWN_VALUE;
  }

  private withProfile<T>(p: Profile, f: () => T): T {
    const saved = this.profile;
    this.profile = p;
    try {
      return f();
    } finally {
      this.profile = saved;
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>, env: Env): Value {
    const callRange = e.range;
    const callArg: CallArg = { value: UNKNOWN_VALUE, range: callRange, text: this.text.slice(callRange.start, callRange.end), expr: e };
    // tensorlens.json functions, matched by the callee's text (`myLib.diceLoss`) or its last part.
    if (this.resolver.userFunctions.size) {
      const calleeText = this.text.slice(e.callee.range.start, e.callee.range.end).replace(/\s+/g, '');
      // A plain name (an imported `diceLoss`) also matches an entry by its last part (`myLib.diceLoss`).
      const uf = this.resolver.userFunctions.get(calleeText) ?? (e.callee.kind === 'name' ? this.userFunctionsByLastName().get(calleeText) : undefined);
      if (uf) {
        const args = this.args(e.args, env);
        return this.callSignature(uf.fn as SignatureFunction, args);
      }
    }
    if (e.callee.kind === 'member' && e.callee.object.kind === 'name' && e.callee.object.name === 'Math' && !env.lookup('Math')) {
      return this.mathCall(e.callee.property, this.args(e.args, env));
    }
    if (e.callee.kind === 'member') {
      const obj = this.eval(e.callee.object, env);
      const name = e.callee.property;
      const args = this.args(e.args, env);
      const objArg: CallArg = { value: obj, range: e.callee.object.range, text: this.text.slice(e.callee.object.range.start, e.callee.object.range.end), expr: e.callee.object };
      return this.callMethod(obj, objArg, name, args, callArg, e.callee.propertyRange);
    }
    const callee = this.eval(e.callee, env);
    const args = this.args(e.args, env);
    if (callee.kind === 'lib') return this.callLibrary(callee, args, callArg);
    return this.callCallable(callee, args, callArg);
  }

  /**
   * `Math.sqrt(HEAD_SIZE)` and friends: always a number (so `scores.div(Math.sqrt(d))` keeps its
   * shape), folded when every argument is a known number (`Math.floor(28 / 2)` is the dim 14).
   */
  private mathCall(name: string, args: readonly CallArg[]): Value {
    const fn = (Math as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') return UNKNOWN_VALUE;
    const known = args.map(a => a.value.kind === 'number' && a.value.dim.kind === 'const' ? a.value.dim.value : undefined);
    if (name !== 'random' && known.every(v => v !== undefined)) {
      const r = (fn as (...xs: number[]) => number)(...(known as number[]));
      if (Number.isFinite(r)) return { kind: 'number', dim: constDim(r), float: !Number.isInteger(r) };
    }
    return numberValue(UNKNOWN_DIM);
  }

  private callMethod(obj: Value, objArg: CallArg, name: string, args: readonly CallArg[], call: CallArg, nameRange: TextRange): Value {
    switch (obj.kind) {
      case 'tensor': {
        const op = lookupMethod(this.profile, name);
        if (op) return op.entry.fn(this, { ...this.opCall(op.name, objArg, args, call.range, this.profile), methodForm: true, nameRange });
        if (name === 'size' || name === 'shape') {
          if (args.length === 0) return this.member(obj, 'shape', undefined);
          const i = args[0].value.kind === 'number' && args[0].value.dim.kind === 'const' ? args[0].value.dim.value : undefined;
          const s = obj.shape;
          if (i === undefined || !s || s.dims.some(d => d.kind === 'variadic')) return numberValue(UNKNOWN_DIM);
          const w = i < 0 ? i + s.dims.length : i;
          return numberValue(s.dims[w] ?? UNKNOWN_DIM);
        }
        if (name === 'dim' || name === 'ndimension') return this.member(obj, 'ndim', undefined);
        if (name === 'item') return numberValue(obj.values?.length === 1 ? constDim(obj.values[0]) : UNKNOWN_DIM);
        if (NON_TENSOR_METHODS.has(name)) return UNKNOWN_VALUE;
        if (obj.shape) this.emit(SHAPE_UNKNOWN_FROM_HERE, [name], nameRange);
        return UNKNOWN_VALUE;
      }
      case 'lib': return this.callLibrary({ kind: 'lib', profile: obj.profile, path: [...obj.path, name] }, args, call);
      case 'layer': {
        if (LAYER_CALL_METHODS.has(name)) return this.callCallable(obj, args, call);
        const p = obj.props?.get(name);
        return p ? this.callCallable(p, args, call) : UNKNOWN_VALUE;
      }
      case 'instance': {
        const f = obj.fields.get(name);
        if (f) return this.callCallable(f, args, call);
        const m = this.findMethod(obj.cls, name);
        if (m) return this.callUser({ kind: 'function', fn: m.fn, closure: m.closure, self: obj }, args, call);
        return UNKNOWN_VALUE;
      }
      case 'object': {
        const f = obj.props.get(name);
        if (f?.kind === 'lib') return this.callLibrary(f, args, call);
        return f ? this.callCallable(f, args, call) : UNKNOWN_VALUE;
      }
      case 'array': {
        if (name === 'map' || name === 'forEach') {
          // Run the callback on the joined element so its body sees something; the result is an unknown list.
          const cb = args[0]?.value;
          if (cb?.kind === 'function' && obj.elements.length) {
            const el = obj.elements.reduce(joinValues);
            this.callUser(cb, [{ value: el, range: call.range, text: '' }], call);
          }
        }
        return UNKNOWN_VALUE;
      }
      case 'function': {
        if (name === 'call') return this.callUser(obj, args.slice(1), call, args[0]?.value);
        return UNKNOWN_VALUE;
      }
    }
    return UNKNOWN_VALUE;
  }

  /** A call through a library value: losses first, then `tidy`, then the registry. */
  private callLibrary(lib: Extract<Value, { kind: 'lib' }>, args: readonly CallArg[], call: CallArg): Value {
    const name = lib.path[lib.path.length - 1] ?? '';
    return this.withProfile(lib.profile, () => {
      const loss = lossFunctionFor(lib.profile, lib.path);
      if (loss) return callLoss(this, loss, lib.profile, args, call, undefined);
      const lossModule = lossModuleFor(lib.profile, lib.path);
      if (lossModule) return lossModule(this, args, call);
      if (name === 'tidy' || name === 'no_grad' || name === 'noGrad' || name === 'keep') {
        const fnArg = args.find(a => a.value.kind === 'function');
        if (fnArg && fnArg.value.kind === 'function') {
          const f = fnArg.value.fn as IrFunction;
          if (this.suppress === 0 && !this.analysed.has(f)) {
            // Run the callback in place (it executes right here) and skip its standalone analysis.
            this.analysed.add(f);
            return this.invoke(f, fnArg.value.closure as FnClosure, [], [], fnArg.value.self, call, false);
          }
          return this.callUser(fnArg.value, [], call);
        }
        return args[args.length - 1]?.value ?? UNKNOWN_VALUE;
      }
      const found = lookupLibraryCall(lib.profile, lib.path);
      if (!found) {
        const first = args[0]?.value;
        if (first?.kind === 'tensor' && first.shape && !QUIET_LIBRARY_FUNCTIONS.has(name) && !/^[A-Z]/.test(name)) {
          this.emit(SHAPE_UNKNOWN_FROM_HERE, [lib.path.join('.')], nameRangeOf(call));
        }
        return UNKNOWN_VALUE;
      }
      const { entry } = found;
      if (found.isModule || entry.ctor) {
        return entry.fn(this, this.opCall(found.name, undefined, args, call.range, lib.profile, lib.profile === 'torch'));
      }
      if (entry.selfFirst) {
        const [first, ...rest] = args;
        return entry.fn(this, this.opCall(found.name, first, rest, call.range, lib.profile));
      }
      return entry.fn(this, this.opCall(found.name, undefined, args, call.range, lib.profile));
    });
  }

  private construct(e: Extract<Expr, { kind: 'new' }>, env: Env): Value {
    const callee = this.eval(e.callee, env);
    const args = this.args(e.args, env);
    const call: CallArg = { value: UNKNOWN_VALUE, range: e.range, text: this.text.slice(e.range.start, e.range.end), expr: e };
    if (callee.kind === 'lib') return this.callLibrary(callee, args, call);
    if (callee.kind === 'class') return this.instantiateClass(callee, args.map(a => a.value));
    return UNKNOWN_VALUE;
  }

  private byLastName?: Map<string, FunctionValue>;
  private userFunctionsByLastName(): Map<string, FunctionValue> {
    if (!this.byLastName) {
      this.byLastName = new Map();
      const seen = new Map<string, number>();
      for (const [k, v] of this.resolver.userFunctions) {
        const last = k.slice(k.lastIndexOf('.') + 1);
        seen.set(last, (seen.get(last) ?? 0) + 1);
        this.byLastName.set(last, v);
      }
      // An ambiguous last name matches nothing.
      for (const [n, c] of seen) if (c > 1) this.byLastName.delete(n);
    }
    return this.byLastName;
  }

  /** Internal: record a loss call (used by lossWiring). */
  recordLossCall(c: LossCall): void {
    if (this.suppress === 0) this.lossCalls.push(c);
  }

  get fileName(): string {
    return this.ir.fileName;
  }

  textOf(range: TextRange): string {
    return this.text.slice(range.start, range.end);
  }

  /** Known sizes of symbolic dims in scope, for `LossCall.knownDims`. */
  knownDims(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let s: DimScope | undefined = this.frame.dims; s; s = s.parent) {
      for (const [n, b] of s.names) if (b.dim.kind === 'const' && !(n in out)) out[n] = b.dim.value;
    }
    return out;
  }

  /** Elementwise operators written as calls elsewhere share the broadcasting rule. */
  broadcast(a: CallArg, b: CallArg, call: OpCall): Value {
    return broadcastValues(this, call, a, b, 'arith');
  }
}

/** An evaluated argument with where it came from. */
export interface CallArg extends OpArg {
  readonly expr?: Expr;
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function profileOfModule(module: string, torchModules: readonly string[]): Profile | undefined {
  if (module === 'js-pytorch' || module.startsWith('js-pytorch/') || torchModules.includes(module)) return 'torch';
  if (module.startsWith('@tensorflow/tfjs')) return 'tfjs';
  return undefined;
}

export function detectProfile(ir: IrModule, torchModules: readonly string[]): Profile | null {
  for (const imp of ir.imports) {
    const p = profileOfModule(imp.module, torchModules);
    if (p) return p;
  }
  return null;
}

function subjectRange(subject: Finding['subject'] | 'self', call: OpCall): TextRange {
  if (subject === 'self') return call.self?.range ?? call.range;
  const m = /^arg(\d)$/.exec(subject);
  if (m) return call.args[Number(m[1])]?.range ?? call.self?.range ?? call.range;
  return call.range;
}

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Join at a control-flow merge: equal stays, differing widens to unknown (per dim where ranks agree). */
export function joinValues(a: Value, b: Value): Value {
  if (a === b) return a;
  if (a.kind === 'tensor' && b.kind === 'tensor') {
    let shape: Shape | undefined;
    if (a.shape && b.shape && a.shape.dims.length === b.shape.dims.length) {
      shape = { dims: a.shape.dims.map((d, i) => (compareDims(d, b.shape!.dims[i]) === 'equal' ? d : UNKNOWN_DIM)) };
    }
    const sameValues = a.values && b.values && a.values.length === b.values.length && a.values.every((x, i) => x === b.values![i]);
    const valueRange = a.valueRange && b.valueRange ? { min: Math.min(a.valueRange.min, b.valueRange.min), max: Math.max(a.valueRange.max, b.valueRange.max) } : undefined;
    return { kind: 'tensor', shape, dtype: a.dtype === b.dtype ? a.dtype : undefined, values: sameValues ? a.values : undefined, valueRange, producer: a.producer?.op === b.producer?.op ? a.producer : undefined };
  }
  if (a.kind === 'number' && b.kind === 'number') return numberValue(compareDims(a.dim, b.dim) === 'equal' ? a.dim : UNKNOWN_DIM);
  if (a.kind === 'array' && b.kind === 'array' && a.elements.length === b.elements.length) {
    return { kind: 'array', elements: a.elements.map((x, i) => joinValues(x, b.elements[i])) };
  }
  if (a.kind === 'string' && b.kind === 'string') return { kind: 'string', value: a.value === b.value ? a.value : undefined };
  if (a.kind === 'bool' && b.kind === 'bool') return { kind: 'bool', value: a.value === b.value ? a.value : undefined };
  if (a.kind === 'null') return b.kind === 'tensor' ? { ...b, values: undefined } : b;
  if (b.kind === 'null') return a;
  if (a.kind === 'tensor' || b.kind === 'tensor') {
    const t = (a.kind === 'tensor' ? a : b) as TensorValue;
    return a.kind === 'unknown' || b.kind === 'unknown' ? { kind: 'tensor', shape: undefined, dtype: undefined } : { kind: 'tensor', shape: undefined, dtype: t.dtype };
  }
  return UNKNOWN_VALUE;
}

const printedShapes = new WeakMap<Shape, { text: string; json: DimJson[]; names: string[] }>();

/** A shape's text, JSON dims and symbol names, computed once per (immutable) shape object. */
function printedShape(shape: Shape): { text: string; json: DimJson[]; names: string[] } {
  let p = printedShapes.get(shape);
  if (!p) {
    p = { text: formatShape(shape), json: shape.dims.map(dimToJson), names: shape.dims.some(d => d.kind === 'sym') ? symNames(shape.dims) : [] };
    printedShapes.set(shape, p);
  }
  return p;
}

/** A plain-words description of the first provable difference, or undefined when none is provable. */
function shapeContradiction(annotated: Shape, inferred: Shape): string | undefined {
  const a = annotated.dims, b = inferred.dims;
  const va = a.findIndex(d => d.kind === 'variadic');
  if (b.some(d => d.kind === 'variadic')) return undefined;
  if (va < 0) {
    if (a.length !== b.length) return `the annotation has ${a.length} dims, the value has ${b.length}`;
    for (let i = 0; i < a.length; i++) if (compareDims(a[i], b[i]) === 'different') return `dim ${i} is ${formatDim(b[i])}, not ${formatDim(a[i])}`;
    return undefined;
  }
  const tail = a.length - va - 1;
  if (b.length < a.length - 1) return `the annotation has at least ${a.length - 1} dims, the value has ${b.length}`;
  for (let i = 0; i < va; i++) if (compareDims(a[i], b[i]) === 'different') return `dim ${i} is ${formatDim(b[i])}, not ${formatDim(a[i])}`;
  for (let k = 0; k < tail; k++) {
    const ai = a[va + 1 + k], bi = b[b.length - tail + k];
    if (compareDims(ai, bi) === 'different') return `dim ${b.length - tail + k} is ${formatDim(bi)}, not ${formatDim(ai)}`;
  }
  return undefined;
}

function hasUnknownOnly(s: Shape): boolean {
  return s.dims.every(d => d.kind === 'unknown');
}

/** The annotated shape, with unknown (`_`) dims filled from the inferred one where ranks agree. */
function mergeShapes(annotated: Shape, inferred: Shape | undefined): Shape {
  if (!inferred || inferred.dims.length !== annotated.dims.length || annotated.dims.some(d => d.kind === 'variadic')) return annotated;
  return { dims: annotated.dims.map((d, i) => (d.kind === 'unknown' ? inferred.dims[i] : d)) };
}

function patternText(d: DimPattern, subst: Map<string, Dim>): string {
  switch (d.kind) {
    case 'wild': return '_';
    case 'ellipsis': return '...';
    case 'variadic': return `*${d.name}`;
    case 'expr': return exprText(d.expr, subst);
  }
}

function exprText(e: DimExpr, subst: Map<string, Dim>): string {
  switch (e.kind) {
    case 'int': return String(e.value);
    case 'name': return e.name;
    case 'binary': return `${exprText(e.left, subst)}${e.op === '+' || e.op === '-' ? ` ${e.op} ` : e.op}${exprText(e.right, subst)}`;
  }
}

export { snakeCase, type LayerValue };

/**
 * Appends every range into `fileName` in recorded results to `out` (ranges are the `{ start, end }`
 * objects; a `fileName` property says which file the ranges below it are in).
 */
function collectRanges(x: unknown, fileName: string, inFile: boolean, out: TextRange[]): void {
  if (x === null || typeof x !== 'object') return;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) collectRanges(x[i], fileName, inFile, out);
    return;
  }
  const o = x as Record<string, unknown>;
  if (typeof o.start === 'number' && typeof o.end === 'number' && isExactRange(o)) {
    if (inFile) out.push(o as unknown as TextRange);
    return;
  }
  const here = typeof o.fileName === 'string' ? o.fileName === fileName : inFile;
  for (const k in o) collectRanges(o[k], fileName, here, out);
}

/** `{ start, end }` and nothing else. */
function isExactRange(o: object): boolean {
  let n = 0;
  for (const _ in o) n++;
  return n === 2;
}
