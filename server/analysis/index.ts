// The analysis's entry point: a project of files (open texts over a host for the rest) analysed one
// file at a time, with per-file caching keyed on the texts the result depended on. The language
// server and the command line call exactly this.

import type { AnalysisHost, AnalysisOptions, CancellationToken, Diagnostic, FileAnalysis, TextRange } from './api';
import { AnalysisCancelled } from './api';
import { parseSignature } from './annotations';
import { diagnosticDefinition, formatTemplate } from './diagnosticTable';
import { IncrementalMismatch, Interpreter, unitFunctions, unitInfo, type IncrementalPlan, type InterpretResult, type ModuleResolver, type RunTrace, type SignatureFunction, type UnitInfo } from './interpreter';
import type { IrModule } from './ir';
import { textChange } from './textChange';
import { parseTypeScriptIncremental, prepareForEdits, type ParsedSource } from './typescript/frontend';
import type { FunctionValue, Value } from './values';

export type * from './api';
export { AnalysisCancelled } from './api';

const INTERNAL_ERROR = 'TL9001';
const SYNTAX_ERROR = 'TL9003';
const CONFIG_SIGNATURE = 'TL1009';

/** A problem in the options (a malformed `tensorlens.json` function description). */
export interface ConfigProblem {
  readonly code: string;
  readonly name: string;
  readonly message: string;
}

interface CacheEntry {
  readonly text: string;
  readonly result: FileAnalysis;
  /** Every other file whose text the result depended on (imports, transitively), with that text. */
  readonly deps: ReadonlyMap<string, string | undefined>;
  /**
   * The interpreter's record of the last run that can be replayed from (a run on a text without
   * syntax errors, or an incremental run whose syntax errors all lie inside the edited body; else an
   * earlier one), the text and the dependencies it was for. An incremental run moves the ranges of
   * the record it replays in place, so a record that was tried is never kept for later.
   */
  readonly base?: { readonly text: string; readonly trace: RunTrace; readonly deps: ReadonlyMap<string, string | undefined> };
}

interface ExportsEntry {
  readonly text: string;
  readonly exports: ReadonlyMap<string, Value>;
  readonly deps: ReadonlyMap<string, string | undefined>;
}

const EMPTY_HOST: AnalysisHost = { readFile: () => undefined, fileExists: () => false };

export class AnalysisProject {
  private readonly open = new Map<string, string>();
  private readonly results = new Map<string, CacheEntry>();
  private readonly exportsCache = new Map<string, ExportsEntry>();
  private readonly irCache = new Map<string, { text: string; ir: IrModule; parsed: ParsedSource }>();
  private userFunctions = new Map<string, FunctionValue>();
  private problems: ConfigProblem[] = [];
  /** How the last `analyze` got its result (tests and traces read it). */
  lastRun: 'cached' | 'incremental' | 'full' = 'full';

  constructor(private readonly host: AnalysisHost, private options: AnalysisOptions = {}) {
    this.setOptions(options);
  }

  setOptions(options: AnalysisOptions): void {
    this.options = options;
    this.results.clear();
    this.exportsCache.clear();
    this.userFunctions = new Map();
    this.problems = [];
    for (const [name, text] of Object.entries(options.functions ?? {})) {
      const { signature, errors } = parseSignature(String(text));
      if (!signature || errors.length) {
        const e = errors[0];
        const detail = e ? formatTemplate(diagnosticDefinition(e.code).message, e.args) : 'unreadable';
        this.problems.push({ code: CONFIG_SIGNATURE, name, message: formatTemplate(diagnosticDefinition(CONFIG_SIGNATURE).message, [name, detail]) });
        continue;
      }
      const sig: SignatureFunction = { params: signature.params.map(p => ({ name: p.name, shape: p.shape, dtype: p.dtype })), returns: signature.returns };
      this.userFunctions.set(name.replace(/\s+/g, ''), { kind: 'function', fn: sig, closure: undefined });
    }
  }

  /** Malformed entries of `options.functions`, each as a TL1009 message. */
  configProblems(): readonly ConfigProblem[] {
    return this.problems;
  }

  updateFile(fileName: string, text: string): void {
    this.open.set(fileName, text);
  }

  /**
   * Idle-time work that makes the next edit of an analysed file fast (see `prepareForEdits`). The
   * results do not depend on it.
   */
  prepareEdits(fileName: string): void {
    const c = this.irCache.get(fileName);
    if (c) prepareForEdits(c.parsed);
  }

  closeFile(fileName: string): void {
    this.open.delete(fileName);
  }

  /** Known files that import `fileName` (directly or through other files), from the last analyses. */
  importersOf(fileName: string): string[] {
    const out: string[] = [];
    for (const [f, e] of this.results) if (f !== fileName && e.deps.has(fileName)) out.push(f);
    return out;
  }

  private textOf(fileName: string): string | undefined {
    const t = this.open.get(fileName);
    if (t !== undefined) return t;
    try {
      return this.host.readFile(fileName);
    } catch {
      return undefined;
    }
  }

  private irOf(fileName: string, text: string): IrModule {
    const c = this.irCache.get(fileName);
    if (c && c.text === text) return c.ir;
    // The previous tree of this file is handed to the incremental parser (which consumes it).
    const { ir, parsed } = parseTypeScriptIncremental(fileName, text, c?.parsed);
    this.irCache.set(fileName, { text, ir, parsed });
    return ir;
  }

  private depsValid(deps: ReadonlyMap<string, string | undefined>): boolean {
    for (const [f, t] of deps) if (this.textOf(f) !== t) return false;
    return true;
  }

  analyze(fileName: string, token?: CancellationToken): FileAnalysis {
    const text = this.textOf(fileName) ?? '';
    const cached = this.results.get(fileName);
    if (cached && cached.text === text && this.depsValid(cached.deps)) {
      this.lastRun = 'cached';
      return cached.result;
    }
    const previous = cached?.base && this.depsValid(cached.base.deps) ? cached.base : undefined;
    const deps = new Map<string, string | undefined>();
    let result: FileAnalysis;
    let base: CacheEntry['base'];
    const tried = { previous: false };
    try {
      const out = this.run(fileName, text, deps, token, previous, tried);
      result = out.result;
      // While the file has a syntax error outside one body, keep replaying from the last good run.
      base = out.trace ? { text, trace: out.trace, deps } : tried.previous ? undefined : previous;
    } catch (e) {
      if (e instanceof AnalysisCancelled) {
        if (tried.previous && cached) this.results.set(fileName, { ...cached, base: undefined });
        throw e;
      }
      // Outside any one function (the front end itself failed): one internal diagnostic for the file.
      const def = diagnosticDefinition(INTERNAL_ERROR);
      const message = formatTemplate(def.message, ['file', e instanceof Error ? e.message : String(e)]);
      result = {
        fileName,
        profile: null,
        diagnostics: [{ fileName, range: { start: 0, end: Math.min(1, text.length) }, code: INTERNAL_ERROR, severity: def.severity, message, reason: def.reason, related: [], fixes: [] }],
        shapes: [],
        lossCalls: [],
      };
    }
    this.results.set(fileName, { text, result, deps, base });
    return result;
  }

  private resolver(deps: Map<string, string | undefined>, stack: Set<string>): ModuleResolver {
    return {
      torchModules: this.options.torchModules ?? [],
      userFunctions: this.userFunctions,
      exportsOf: (fromFile, specifier) => {
        const target = this.resolve(fromFile, specifier);
        if (!target) return undefined;
        const text = this.textOf(target);
        deps.set(target, text);
        if (text === undefined || stack.has(target)) return undefined;
        const cached = this.exportsCache.get(target);
        if (cached && cached.text === text && this.depsValid(cached.deps)) {
          for (const [f, t] of cached.deps) deps.set(f, t);
          return cached.exports;
        }
        const own = new Map<string, string | undefined>();
        stack.add(target);
        try {
          const ir = this.irOf(target, text);
          const interp = new Interpreter(ir, text, this.resolver(own, stack), undefined, true);
          const { exports } = interp.run();
          this.exportsCache.set(target, { text, exports, deps: own });
          for (const [f, t] of own) deps.set(f, t);
          return exports;
        } catch (e) {
          if (e instanceof AnalysisCancelled) throw e;
          return undefined;
        } finally {
          stack.delete(target);
        }
      },
    };
  }

  /** `./losses` from `/p/src/train.ts` → `/p/src/losses.ts` (or `.tsx`, `/index.ts`). */
  private resolve(fromFile: string, specifier: string): string | undefined {
    const sep = fromFile.includes('\\') && !fromFile.includes('/') ? '\\' : '/';
    const dir = fromFile.slice(0, Math.max(0, fromFile.lastIndexOf(sep)));
    const base = normalizePath(`${dir}${sep}${specifier.split('/').join(sep)}`, sep);
    const stem = base.replace(/\.(m?js|jsx)$/, '');
    const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}${sep}index.ts`, `${stem}${sep}index.tsx`];
    for (const c of candidates) {
      if (/\.tsx?$/.test(c) && (this.open.has(c) || this.safeExists(c))) return c;
    }
    return undefined;
  }

  private safeExists(f: string): boolean {
    try {
      return this.host.fileExists(f);
    } catch {
      return false;
    }
  }

  private run(
    fileName: string, text: string, deps: Map<string, string | undefined>, token: CancellationToken | undefined,
    previous: { text: string; trace: RunTrace } | undefined, tried: { previous: boolean },
  ): { result: FileAnalysis; trace: RunTrace | undefined } {
    const ir = this.irOf(fileName, text);
    const resolver = this.resolver(deps, new Set([fileName]));
    let interp: Interpreter | undefined;
    let out: InterpretResult | undefined;
    const plan = previous ? planIncremental(previous.text, text, previous.trace, unitFunctions(ir).map(unitInfo), ir.syntaxErrors) : undefined;
    let incremental = false;
    if (plan) {
      tried.previous = true;
      try {
        interp = new Interpreter(ir, text, resolver, token, false, plan);
        out = interp.run();
        this.lastRun = 'incremental';
        incremental = true;
      } catch (e) {
        if (e instanceof AnalysisCancelled) throw e;
        // IncrementalMismatch (or anything unexpected): the full run below is always right.
        out = undefined;
      }
    }
    if (!out) {
      interp = new Interpreter(ir, text, resolver, token);
      out = interp.run();
      this.lastRun = 'full';
    }
    const diagnostics: Diagnostic[] = [];
    for (const e of ir.annotationErrors) {
      const def = diagnosticDefinition(e.code);
      diagnostics.push({
        fileName, range: e.range, code: e.code, severity: def.severity,
        message: formatTemplate(def.message, e.args), reason: def.reason && !/\{r\d\}/.test(def.reason) ? def.reason : undefined,
        related: [], fixes: [],
      });
    }
    if (ir.syntaxErrors.length) {
      const first = ir.syntaxErrors[0];
      const def = diagnosticDefinition(SYNTAX_ERROR);
      diagnostics.push({ fileName, range: first.range, code: SYNTAX_ERROR, severity: def.severity, message: formatTemplate(def.message, [first.message]), reason: def.reason, related: [], fixes: [] });
    }
    diagnostics.push(...out.diagnostics);
    const result: FileAnalysis = {
      fileName,
      profile: interp!.fileProfile,
      diagnostics: applyIgnores(text, dedupe(diagnostics)).sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end),
      shapes: out.shapes,
      lossCalls: out.lossCalls,
    };
    // After a full run on a file with a syntax error, the next run is full too (error recovery may
    // have moved things anywhere); an incremental run already proved its errors stay in one body.
    return { result, trace: ir.syntaxErrors.length === 0 || incremental ? out.trace : undefined };
  }
}

/**
 * Whether the change from `oldText` to `newText` lies strictly inside one unit's body (a top-level
 * function or class member, braces untouched) with every unit where it was, shifted past the edit.
 * Then the previous run's results of every other unit can be replayed with offsets shifted.
 * `oldText` is the last text without syntax errors (its trace is the one kept); the new text may
 * have some, as most keystrokes leave one for a moment, when they all lie inside the edited body:
 * then error recovery changed nothing outside it (every other unit is where it was).
 */
function planIncremental(
  oldText: string, newText: string, previous: RunTrace, units: readonly UnitInfo[], syntaxErrors: readonly { readonly range: TextRange }[],
): IncrementalPlan | undefined {
  const { start, oldEnd, newEnd } = textChange(oldText, newText);
  const delta = newEnd - oldEnd;
  const old = previous.units;
  const unit = old.findIndex(u => u.body !== undefined && u.body.start < start && oldEnd < u.body.end);
  if (unit < 0 || old.length !== units.length) return undefined;
  const map = (p: number) => (p < start ? p : p >= oldEnd ? p + delta : NaN);
  for (let i = 0; i < old.length; i++) {
    const o = old[i], n = units[i];
    if (n.start !== map(o.start) || n.end !== map(o.end)) return undefined;
    if ((o.body === undefined) !== (n.body === undefined)) return undefined;
    if (o.body && n.body && (n.body.start !== map(o.body.start) || n.body.end !== map(o.body.end))) return undefined;
  }
  const body = old[unit].body!;
  const newBody = units[unit].body!;
  if (syntaxErrors.some(e => e.range.start <= newBody.start || e.range.end >= newBody.end)) return undefined;
  return {
    previous,
    unit,
    shift: p => {
      if (p <= body.start) return p;
      if (p >= body.end) return p + delta;
      throw new IncrementalMismatch('a replayed result points into the edited body');
    },
  };
}

/** Analyses one text on its own (imports of other project files are not followed). */
export function analyzeText(fileName: string, text: string, options?: AnalysisOptions): FileAnalysis {
  const p = new AnalysisProject(EMPTY_HOST, options);
  p.updateFile(fileName, text);
  return p.analyze(fileName);
}

function normalizePath(p: string, sep: string): string {
  const parts: string[] = [];
  for (const seg of p.split(sep)) {
    if (seg === '.' || (seg === '' && parts.length > 0)) continue;
    if (seg === '..' && parts.length > 1) parts.pop();
    else parts.push(seg);
  }
  return parts.join(sep);
}

/** The same code at the same range once (a function analysed twice through different paths). */
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter(d => {
    const k = `${d.code}:${d.range.start}:${d.range.end}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * `// tensor-lens-ignore TL2003` on the line above a diagnostic's start silences that code there;
 * a bare `// tensor-lens-ignore` silences every code on the next line. (`#` comments for Python.)
 */
export function applyIgnores(text: string, ds: Diagnostic[]): Diagnostic[] {
  if (!text.includes('tensor-lens-ignore')) return ds;
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (off: number) => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= off) lo = mid; else hi = mid - 1;
    }
    return lo;
  };
  const ignores = new Map<number, Set<string> | 'all'>();
  const re = /(?:\/\/|#)\s*tensor-lens-ignore\b([^\n]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const codes = m[1].match(/TL\d{4}/g);
    const line = lineOf(m.index) + 1;
    const prev = ignores.get(line);
    if (!codes) ignores.set(line, 'all');
    else if (prev !== 'all') ignores.set(line, new Set([...(prev ?? []), ...codes]));
  }
  return ds.filter(d => {
    const ig = ignores.get(lineOf(d.range.start));
    return !(ig === 'all' || ig?.has(d.code));
  });
}
