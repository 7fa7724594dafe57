// The TypeScript front end: one `T.createSourceFile` per file (no Program, no type checker) turned
// into the language-neutral IR of ../ir.ts, with `@shape` comments parsed and attached to the
// declarations, parameters and functions they describe.

import ts from 'typescript';
import type { TextRange } from '../api';
import { parseShapeComment, type AnnotationError, type ShapeAnnotation } from '../annotations';
import type { Expr, IrClass, IrFunction, IrImport, IrModule, Param, Pattern, Stmt, TypeInfo } from '../ir';
import { textChange } from '../textChange';

/**
 * The compiler API with its exports read once: the bundled module exposes them as getters, and the
 * front end touches `SyntaxKind` and the `is*` guards for every node.
 */
const T: typeof ts = { ...ts };

/** Code for an annotation that is attached to nothing (or names no parameter); text in diagnosticTable.ts. */
export const ANNOTATION_STRAY = 'TL1005';

export function parseTypeScript(fileName: string, text: string): IrModule {
  return parseTypeScriptIncremental(fileName, text, undefined).ir;
}

/**
 * The syntax tree of the last parse of a file, for `parseTypeScriptIncremental`. Consumed by the next
 * incremental parse: TypeScript's incremental parser reuses (and re-positions) the old tree's nodes,
 * so a tree is passed on at most once.
 */
export interface ParsedSource {
  readonly text: string;
  readonly sourceFile: ts.SourceFile;
  /** What lowering each top-level statement produced, for reuse when the text before it is unchanged. */
  readonly statements: readonly StatementRecord[];
  /** The `@shape` comments found in each top-level statement (and the trivia after it), parsed. */
  readonly comments: readonly StatementComments[];
}

interface StatementComments {
  readonly pos: number;
  readonly end: number;
  readonly list: readonly { readonly pos: number; readonly end: number; readonly parsed: ReturnType<typeof parseShapeComment> }[];
}

/** One top-level statement's lowering: its IR and every effect on the module-wide lists. */
interface StatementRecord {
  readonly pos: number;
  readonly end: number;
  readonly stmts: readonly Stmt[];
  readonly errors: readonly AnnotationError[];
  readonly imports: readonly IrImport[];
  readonly exports: readonly (readonly [string, string])[];
  /** `@shape` comments marked used (or released) while lowering it, in order. */
  readonly commentFlags: readonly (readonly [number, boolean])[];
  /** Where its IR holds ranges (see `irRanges`), found the first time the statement is moved. */
  moves?: IrRanges;
}

/**
 * `parseTypeScript`, re-parsing from the previous tree of the same file when there is one: an edit
 * in one function of a 4,000-line file re-scans only the affected nodes (`ts.updateSourceFile`, what
 * tsserver does per keystroke) instead of the whole text. The tree is the same as a fresh parse's.
 */
export function parseTypeScriptIncremental(fileName: string, text: string, previous: ParsedSource | undefined): { ir: IrModule; parsed: ParsedSource } {
  const kind = /\.tsx$/i.test(fileName) ? T.ScriptKind.TSX : /\.m?jsx?$/i.test(fileName) ? T.ScriptKind.JS : T.ScriptKind.TS;
  let sf: ts.SourceFile | undefined;
  let reuse: Reuse | undefined;
  if (previous && previous.sourceFile.fileName === fileName && previous.sourceFile.text === previous.text) {
    const { start, oldEnd, newEnd } = textChange(previous.text, text);
    try {
      sf = T.updateSourceFile(previous.sourceFile, text, { span: { start, length: oldEnd - start }, newLength: newEnd - start });
    } catch {
      sf = undefined; // FIXME: never seen; a fresh parse below is always correct, only slower.
    }
    reuse = { records: previous.statements, comments: previous.comments, before: start, after: oldEnd, delta: newEnd - oldEnd, movedAnnotations: new Set() };
  }
  // Parent pointers now: the first incremental update sets them on the whole old tree otherwise,
  // which made the first edit after opening a 4,000-line file 100 ms slower than the ones after it.
  sf ??= T.createSourceFile(fileName, text, T.ScriptTarget.Latest, /*setParentNodes*/ true, kind);
  const front = new FrontEnd(sf, text, reuse);
  const ir = front.module();
  return { ir, parsed: { text, sourceFile: sf, statements: front.records, comments: front.commentRecords } };
}

/**
 * What a parse can take over from the previous one: the records, the edit's extent in the old text
 * ([before, after), replaced by text `delta` characters longer) and the objects already re-based.
 */
interface Reuse {
  readonly records: readonly StatementRecord[];
  readonly comments: readonly StatementComments[];
  readonly before: number;
  readonly after: number;
  readonly delta: number;
  /** Annotations moved by `delta` already: comments and the declarations they annotate share them. */
  readonly movedAnnotations: Set<object>;
}

/**
 * Finds, for every top-level statement of a parse, where its IR holds ranges, so that the next
 * edits move the statements after them without this walk. Optional (a move finds them itself when
 * missing); worth doing in idle time after a file opens: the first edits are otherwise the slowest.
 */
export function prepareForEdits(parsed: ParsedSource): void {
  // TypeScript works out per node, lazily, whether its subtree holds a parse error, and its
  // incremental parser asks for each node it considers reusing: the first edit after opening a file
  // paid for a walk of the whole tree. The function is internal (hence the guard); the flags it
  // caches are the ones the parser would compute, so the trees stay the same.
  const aggregate = (T as unknown as { containsParseError?: (n: ts.Node) => boolean }).containsParseError;
  if (typeof aggregate === 'function') aggregate(parsed.sourceFile);
  for (const r of parsed.statements) r.moves ??= irRanges([r.stmts, r.errors, r.imports]);
}

interface CommentInfo {
  readonly pos: number;
  readonly end: number;
  readonly annotations: readonly ShapeAnnotation[];
  used: boolean;
}

class FrontEnd {
  private readonly imports: IrImport[] = [];
  private readonly exports = new Map<string, string>();
  private readonly errors: AnnotationError[] = [];
  /** Every comment containing `@shape`, by start offset. */
  private readonly comments = new Map<number, CommentInfo>();
  /** Per top-level statement, for the next incremental parse; the logs fill while one is lowered. */
  readonly records: StatementRecord[] = [];
  readonly commentRecords: StatementComments[] = [];
  private exportLog: [string, string][] = [];
  private flagLog: [number, boolean][] = [];

  /**
   * `reuse`: the previous lowering's records and the offset where the text starts to differ. A prefix
   * of top-level statements that ends (with the next statement's leading comments) before that offset
   * is taken over as it was, effects included, instead of lowered again.
   */
  constructor(
    private readonly sf: ts.SourceFile, private readonly text: string,
    private readonly reuse?: Reuse,
  ) {}

  /**
   * The previous record for top-level statement `i` when it and the statement before it lie wholly
   * after the edit, unchanged and moved by the edit's length (`olds` is the previous records or
   * comment records, aligned from the end). Requiring the statement before it too keeps the
   * comments right after an edited statement (which it may take as trailing) out of the reuse.
   */
  private afterEdit<R extends { readonly pos: number; readonly end: number }>(list: readonly ts.Statement[], i: number, olds: readonly R[]): R | undefined {
    const r = this.reuse;
    if (!r || i === 0) return undefined;
    const j = i - list.length + olds.length;
    if (j < 1 || j >= olds.length) return undefined;
    const prev = olds[j - 1], old = olds[j];
    if (prev.pos < r.after || list[i - 1].pos !== prev.pos + r.delta || list[i - 1].end !== prev.end + r.delta) return undefined;
    if (list[i].pos !== old.pos + r.delta || list[i].end !== old.end + r.delta) return undefined;
    return old;
  }

  /** Whether top-level statement `i` and the trivia up to the next one lie wholly before the edit. */
  private beforeEdit(list: readonly ts.Statement[], i: number, old: { pos: number; end: number } | undefined): boolean {
    if (!this.reuse || !old) return false;
    const s = list[i];
    const nextStart = i + 1 < list.length ? list[i + 1].getStart(this.sf) : this.text.length;
    return old.pos === s.pos && old.end === s.end && s.end <= this.reuse.before && nextStart <= this.reuse.before;
  }

  /** Moves an annotation's ranges by `d` once, whether a comment or a declaration reaches it first. */
  private moveAnnotation(a: object, d: number): void {
    const done = this.reuse!.movedAnnotations;
    if (done.has(a)) return;
    done.add(a);
    moveHeldRanges(irRanges(a).holders, d);
  }

  private setExport(name: string, local: string): void {
    this.exportLog.push([name, local]);
    this.exports.set(name, local);
  }

  private topLevel(list: readonly ts.Statement[]): Stmt[] {
    const body: Stmt[] = [];
    let reusing = this.reuse !== undefined;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      const old = reusing ? this.reuse!.records[i] : undefined;
      if (old && this.beforeEdit(list, i, old) && old.commentFlags.every(([p]) => p < this.reuse!.before)) {
        body.push(...old.stmts);
        this.errors.push(...old.errors);
        this.imports.push(...old.imports);
        for (const [k, v] of old.exports) this.exports.set(k, v);
        for (const [p, used] of old.commentFlags) {
          const c = this.comments.get(p);
          if (c) c.used = used;
        }
        this.records.push(old);
        continue;
      }
      reusing = false;
      const moved = this.afterEdit(list, i, this.reuse?.records ?? []);
      if (moved && moved.commentFlags.every(([p]) => p >= this.reuse!.after)) {
        // Unchanged and after the edit: the same IR with its ranges moved, not lowered again.
        const d = this.reuse!.delta;
        const moves = moved.moves ?? irRanges([moved.stmts, moved.errors, moved.imports]);
        moveHeldRanges(moves.holders, d);
        for (const a of moves.annotations) this.moveAnnotation(a, d);
        const flags = moved.commentFlags.map(([p, used]) => [p + d, used] as const);
        body.push(...moved.stmts);
        this.errors.push(...moved.errors);
        this.imports.push(...moved.imports);
        for (const [k, v] of moved.exports) this.exports.set(k, v);
        for (const [p, used] of flags) {
          const c = this.comments.get(p);
          if (c) c.used = used;
        }
        this.records.push({ ...moved, pos: moved.pos + d, end: moved.end + d, commentFlags: flags, moves });
        continue;
      }
      const e0 = this.errors.length, i0 = this.imports.length;
      this.exportLog = [];
      this.flagLog = [];
      const out: Stmt[] = [];
      this.statement(s, out);
      body.push(...out);
      this.records.push({ pos: s.pos, end: s.end, stmts: out, errors: this.errors.slice(e0), imports: this.imports.slice(i0), exports: this.exportLog, commentFlags: this.flagLog });
    }
    return body;
  }

  module(): IrModule {
    this.collectComments();
    const body = this.topLevel(this.sf.statements);
    for (const c of this.comments.values()) {
      if (c.used) continue;
      for (const a of c.annotations) this.errors.push({ code: ANNOTATION_STRAY, args: ['is not attached to a declaration, parameter or function'], range: a.range });
    }
    const diags = (this.sf as unknown as { parseDiagnostics?: readonly ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
    return {
      fileName: this.sf.fileName,
      imports: this.imports,
      exports: this.exports,
      body,
      annotationErrors: this.errors,
      syntaxErrors: diags.map(d => ({ message: T.flattenDiagnosticMessageText(d.messageText, '\n'), range: { start: d.start, end: d.start + d.length } })),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Comments

  private collectComments(): void {
    if (!this.text.includes('@shape')) return;
    const seen = new Set<number>();
    let found: { pos: number; end: number; parsed: ReturnType<typeof parseShapeComment> }[] = [];
    const take = (pos: number, end: number, parsed: ReturnType<typeof parseShapeComment>) => {
      found.push({ pos, end, parsed });
      this.errors.push(...parsed.errors);
      this.comments.set(pos, { pos, end, annotations: parsed.annotations, used: parsed.annotations.length === 0 });
    };
    const add = (ranges: ts.CommentRange[] | undefined) => {
      for (const r of ranges ?? []) {
        if (seen.has(r.pos)) continue;
        seen.add(r.pos);
        const t = this.text.slice(r.pos, r.end);
        if (!t.includes('@shape')) continue;
        take(r.pos, r.end, parseShapeComment(t, r.pos));
      }
    };
    // Only subtrees that contain an `@shape` can hold (or end right before) such a comment.
    const marks: number[] = [];
    for (let i = this.text.indexOf('@shape'); i >= 0; i = this.text.indexOf('@shape', i + 1)) marks.push(i);
    const containsMark = (from: number, to: number) => {
      let lo = 0, hi = marks.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (marks[mid] < from) lo = mid + 1; else hi = mid;
      }
      return lo < marks.length && marks[lo] < to;
    };
    const visit = (n: ts.Node) => {
      add(T.getLeadingCommentRanges(this.text, n.pos));
      // Comments right after an opening bracket of an empty (or comment-first) block are trivia of
      // no child node: scan from just past the bracket too.
      if (n.kind !== T.SyntaxKind.SourceFile) {
        const start = n.getStart(this.sf);
        if ('{[('.includes(this.text[start] ?? '')) add(T.getLeadingCommentRanges(this.text, start + 1));
      }
      add(T.getTrailingCommentRanges(this.text, n.end));
      add(T.getLeadingCommentRanges(this.text, n.end));
      if (containsMark(n.pos, n.end)) T.forEachChild(n, visit);
    };
    // `visit(this.sf)`, one top-level statement at a time: a statement (with the trivia up to the next
    // one) wholly before the edit finds the same comments as last time, taken over without the walk.
    const sf = this.sf;
    add(T.getLeadingCommentRanges(this.text, sf.pos));
    add(T.getTrailingCommentRanges(this.text, sf.end));
    add(T.getLeadingCommentRanges(this.text, sf.end));
    const list = sf.statements;
    let reusing = this.reuse !== undefined;
    for (let i = 0; i < list.length; i++) {
      const old = reusing ? this.reuse!.comments[i] : undefined;
      found = [];
      // Last time the trivia after the statement may have run on past where the edit now is.
      if (old && this.beforeEdit(list, i, old) && old.list.every(c => c.end < this.reuse!.before)) {
        for (const c of old.list) {
          if (seen.has(c.pos)) continue;
          seen.add(c.pos);
          take(c.pos, c.end, c.parsed);
        }
      } else {
        reusing = false;
        const moved = this.afterEdit(list, i, this.reuse?.comments ?? []);
        if (moved && moved.list.every(c => c.pos >= this.reuse!.after)) {
          const d = this.reuse!.delta;
          for (const c of moved.list) {
            for (const a of c.parsed.annotations) this.moveAnnotation(a, d);
            moveHeldRanges(irRanges(c.parsed.errors).holders, d);
            if (seen.has(c.pos + d)) continue;
            seen.add(c.pos + d);
            take(c.pos + d, c.end + d, c.parsed);
          }
        } else {
          visit(list[i]);
        }
      }
      this.commentRecords.push({ pos: list[i].pos, end: list[i].end, list: found });
    }
    found = [];
    visit(sf.endOfFileToken);
    add(T.getLeadingCommentRanges(this.text, sf.endOfFileToken.pos));
  }

  /** Annotations in the comments before a node (JSDoc or `//`) and, if `trailing`, after it on the same line. */
  private annotationsOf(n: ts.Node, trailing: boolean): ShapeAnnotation[] {
    const out: ShapeAnnotation[] = [];
    if (this.comments.size === 0) return out;
    const take = (ranges: ts.CommentRange[] | undefined) => {
      for (const r of ranges ?? []) {
        const c = this.comments.get(r.pos);
        if (c && !c.used) {
          c.used = true;
          this.flagLog.push([r.pos, true]);
          out.push(...c.annotations);
        }
      }
    };
    take(T.getLeadingCommentRanges(this.text, n.pos));
    if (trailing) {
      take(T.getTrailingCommentRanges(this.text, n.end));
      // `const x = f();  // @shape [N]` where the statement has no semicolon: the comment trails the last token.
    }
    return out;
  }

  private range(n: ts.Node): TextRange {
    return { start: n.getStart(this.sf), end: n.end };
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  private statements(list: readonly ts.Statement[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of list) this.statement(s, out);
    return out;
  }

  private block(s: ts.Statement | undefined): Stmt[] {
    if (!s) return [];
    if (T.isBlock(s)) return this.statements(s.statements);
    const out: Stmt[] = [];
    this.statement(s, out);
    return out;
  }

  private isExported(n: ts.Node): boolean {
    return (T.canHaveModifiers(n) ? T.getModifiers(n) ?? [] : []).some(m => m.kind === T.SyntaxKind.ExportKeyword);
  }

  private statement(s: ts.Statement, out: Stmt[]): void {
    const range = this.range(s);
    if (T.isVariableStatement(s)) {
      const annotations = this.annotationsOf(s, true);
      const exported = this.isExported(s);
      const constant = (s.declarationList.flags & T.NodeFlags.Const) !== 0;
      for (const d of s.declarationList.declarations) {
        if (exported && T.isIdentifier(d.name)) this.setExport(d.name.text, d.name.text);
        if (this.requireImport(d)) continue;
        out.push(this.declaration(d, constant, s.declarationList.declarations.length === 1 ? annotations : [], range));
      }
      if (s.declarationList.declarations.length > 1) this.releaseUnused(annotations);
      return;
    }
    if (T.isExpressionStatement(s)) {
      const annotations = this.annotationsOf(s, true);
      const e = s.expression;
      if (T.isBinaryExpression(e) && isAssignmentOperator(e.operatorToken.kind)) {
        out.push(this.assignment(e, annotations[0], range));
        if (annotations.length > 1) this.releaseUnused(annotations.slice(1));
        return;
      }
      this.releaseUnused(annotations);
      out.push({ kind: 'expr', expr: this.expr(e), range });
      return;
    }
    if (T.isIfStatement(s)) {
      out.push({ kind: 'if', cond: this.expr(s.expression), then: this.block(s.thenStatement), else: this.block(s.elseStatement), range });
      return;
    }
    if (T.isForOfStatement(s) || T.isForInStatement(s)) {
      const init = s.initializer;
      let binding: Pattern | undefined;
      if (T.isVariableDeclarationList(init)) binding = init.declarations[0] ? this.pattern(init.declarations[0].name) : undefined;
      else binding = this.exprPattern(init);
      out.push({ kind: 'loop', init: [], binding, iterable: this.expr(s.expression), body: this.block(s.statement), range });
      return;
    }
    if (T.isForStatement(s)) {
      const init: Stmt[] = [];
      if (s.initializer) {
        if (T.isVariableDeclarationList(s.initializer)) {
          const constant = (s.initializer.flags & T.NodeFlags.Const) !== 0;
          for (const d of s.initializer.declarations) init.push(this.declaration(d, constant, [], this.range(d)));
        } else {
          init.push({ kind: 'expr', expr: this.expr(s.initializer), range: this.range(s.initializer) });
        }
      }
      const body = this.block(s.statement);
      if (s.incrementor) body.push({ kind: 'expr', expr: this.expr(s.incrementor), range: this.range(s.incrementor) });
      out.push({ kind: 'loop', init, cond: s.condition && this.expr(s.condition), body, range });
      return;
    }
    if (T.isWhileStatement(s) || T.isDoStatement(s)) {
      out.push({ kind: 'loop', init: [], cond: this.expr(s.expression), body: this.block(s.statement), range });
      return;
    }
    if (T.isReturnStatement(s)) {
      out.push({ kind: 'return', value: s.expression && this.expr(s.expression), range });
      return;
    }
    if (T.isThrowStatement(s)) {
      out.push({ kind: 'expr', expr: this.expr(s.expression), range });
      out.push({ kind: 'return', range });
      return;
    }
    if (T.isFunctionDeclaration(s)) {
      const fn = this.fn(s, this.annotationsOf(s, false));
      if (s.name && this.isExported(s)) this.setExport(isDefault(s) ? 'default' : s.name.text, s.name.text);
      out.push({ kind: 'function', fn, range });
      return;
    }
    if (T.isClassDeclaration(s)) {
      this.releaseUnused(this.annotationsOf(s, false));
      const cls = this.cls(s);
      if (s.name && this.isExported(s)) this.setExport(isDefault(s) ? 'default' : s.name.text, s.name.text);
      out.push({ kind: 'class', cls, range });
      return;
    }
    if (T.isBlock(s)) {
      out.push({ kind: 'block', body: this.statements(s.statements), range });
      return;
    }
    if (T.isTryStatement(s)) {
      const handler = s.catchClause ? this.statements(s.catchClause.block.statements) : [];
      out.push({ kind: 'try', body: this.statements(s.tryBlock.statements), handler, finalizer: s.finallyBlock ? this.statements(s.finallyBlock.statements) : [], range });
      return;
    }
    if (T.isSwitchStatement(s)) {
      // Cases are alternatives; model them as a chain of branches with unknown conditions.
      const cond = this.expr(s.expression);
      let chain: Stmt[] = [];
      for (const clause of [...s.caseBlock.clauses].reverse()) {
        const body = this.statements(clause.statements);
        chain = [{ kind: 'if', cond, then: body, else: chain, range: this.range(clause) }];
      }
      out.push({ kind: 'block', body: chain, range });
      return;
    }
    if (T.isLabeledStatement(s)) {
      this.statement(s.statement, out);
      return;
    }
    if (T.isImportDeclaration(s)) {
      this.importDeclaration(s);
      return;
    }
    if (T.isImportEqualsDeclaration(s)) {
      const ref = s.moduleReference;
      if (T.isExternalModuleReference(ref) && T.isStringLiteral(ref.expression)) {
        this.imports.push({ module: ref.expression.text, namespace: s.name.text, names: [], range });
      }
      return;
    }
    if (T.isExportDeclaration(s)) {
      if (s.exportClause && T.isNamedExports(s.exportClause) && !s.moduleSpecifier) {
        for (const e of s.exportClause.elements) this.setExport(e.name.text, (e.propertyName ?? e.name).getText(this.sf));
      }
      return;
    }
    if (T.isExportAssignment(s)) {
      if (T.isIdentifier(s.expression)) this.setExport('default', s.expression.text);
      return;
    }
    // Type declarations, empty statements, `debugger`, `break`/`continue`: nothing to follow.
  }

  /** Annotations that could not be attached stay unused so they are reported as stray. */
  private releaseUnused(annotations: readonly ShapeAnnotation[]): void {
    if (annotations.length === 0) return;
    for (const c of this.comments.values()) {
      if (c.annotations.some(a => annotations.includes(a))) {
        c.used = false;
        this.flagLog.push([c.pos, false]);
      }
    }
  }

  private declaration(d: ts.VariableDeclaration, constant: boolean, annotations: ShapeAnnotation[], range: TextRange): Stmt {
    const init = d.initializer;
    // JSDoc on `const f = (x) => …` describes the function's parameters and return.
    if (init && (T.isArrowFunction(init) || T.isFunctionExpression(init))) {
      const fn = this.fn(init, annotations, d.name);
      return { kind: 'declare', target: this.pattern(d.name), init: { kind: 'function', fn, range: this.range(init) }, constant, range };
    }
    let annotation: ShapeAnnotation | undefined;
    for (const a of annotations) {
      if (a.target === undefined && !annotation) annotation = a;
      else this.errors.push({ code: ANNOTATION_STRAY, args: [a.target === 'returns' ? 'describes a return value, but this is not a function' : a.target ? `names '${a.target.name}', but this is a variable declaration` : 'repeats an earlier annotation'], range: a.range });
    }
    return {
      kind: 'declare',
      target: this.pattern(d.name),
      init: init && this.expr(init),
      annotation,
      type: d.type && this.typeInfo(d.type),
      constant,
      range,
    };
  }

  private assignment(e: ts.BinaryExpression, annotation: ShapeAnnotation | undefined, range: TextRange): Stmt {
    const op = e.operatorToken.kind;
    let value = this.expr(e.right);
    if (op !== T.SyntaxKind.EqualsToken) {
      // `x += y` is `x = x + y` for shapes.
      const text = T.tokenToString(op) ?? '';
      value = { kind: 'binary', op: text.slice(0, -1), left: this.expr(e.left), right: value, range };
    }
    if (annotation && annotation.target !== undefined) {
      this.errors.push({ code: ANNOTATION_STRAY, args: ['names a parameter, but this is an assignment'], range: annotation.range });
      annotation = undefined;
    }
    return { kind: 'assign', target: this.expr(e.left), value, annotation, range };
  }

  private requireImport(d: ts.VariableDeclaration): boolean {
    let init = d.initializer;
    while (init && (T.isAwaitExpression(init) || T.isParenthesizedExpression(init))) init = init.expression;
    if (!init || !T.isCallExpression(init)) return false;
    const isRequire = T.isIdentifier(init.expression) && init.expression.text === 'require';
    const isDynamicImport = init.expression.kind === T.SyntaxKind.ImportKeyword;
    if (!(isRequire || isDynamicImport) || init.arguments.length !== 1 || !T.isStringLiteralLike(init.arguments[0])) return false;
    const module = init.arguments[0].text;
    if (T.isIdentifier(d.name)) {
      this.imports.push({ module, namespace: d.name.text, names: [], range: this.range(d) });
    } else if (T.isObjectBindingPattern(d.name)) {
      const names = d.name.elements.flatMap(el => {
        if (!T.isIdentifier(el.name)) return [];
        const imported = el.propertyName && T.isIdentifier(el.propertyName) ? el.propertyName.text : el.name.text;
        return [{ imported, local: el.name.text, range: this.range(el) }];
      });
      this.imports.push({ module, names, range: this.range(d) });
    } else {
      return false;
    }
    return true;
  }

  private importDeclaration(s: ts.ImportDeclaration): void {
    if (!T.isStringLiteral(s.moduleSpecifier)) return;
    const module = s.moduleSpecifier.text;
    const clause = s.importClause;
    const names: { imported: string; local: string; range: TextRange }[] = [];
    let namespace: string | undefined;
    if (clause?.name) names.push({ imported: 'default', local: clause.name.text, range: this.range(clause.name) });
    const nb = clause?.namedBindings;
    if (nb && T.isNamespaceImport(nb)) namespace = nb.name.text;
    if (nb && T.isNamedImports(nb)) {
      for (const el of nb.elements) names.push({ imported: (el.propertyName ?? el.name).getText(this.sf), local: el.name.text, range: this.range(el) });
    }
    this.imports.push({ module, namespace, names, range: this.range(s) });
  }

  // -------------------------------------------------------------------------------------------
  // Functions and classes

  private fn(n: ts.SignatureDeclarationBase & { body?: ts.Node }, annotations: ShapeAnnotation[], nameNode?: ts.BindingName): IrFunction {
    const byParam = new Map<string, ShapeAnnotation>();
    let returns: ShapeAnnotation | undefined;
    const stray: ShapeAnnotation[] = [];
    for (const a of annotations) {
      if (a.target === 'returns') returns = a;
      else if (a.target) byParam.set(a.target.name, a);
      else stray.push(a);
    }
    const params: Param[] = [];
    for (const p of n.parameters) {
      const name = T.isIdentifier(p.name) ? p.name.text : undefined;
      if (name === 'this') continue;
      let annotation = name !== undefined ? byParam.get(name) : undefined;
      if (name !== undefined) byParam.delete(name);
      // `function f(/** @shape [N] *\/ x)`: an annotation right before the parameter.
      const own = this.annotationsOf(p, false);
      if (own.length) annotation = own.find(a => a.target === undefined) ?? annotation;
      params.push({
        name,
        pattern: name === undefined ? this.pattern(p.name) : undefined,
        range: this.range(p.name),
        annotation,
        type: p.type && this.typeInfo(p.type),
        defaultValue: p.initializer && this.expr(p.initializer),
        rest: p.dotDotDotToken !== undefined,
      });
    }
    for (const a of byParam.values()) this.errors.push({ code: ANNOTATION_STRAY, args: [`names '${(a.target as { name: string }).name}', which is not a parameter of this function`], range: (a.target as { range: TextRange }).range });
    for (const a of stray) {
      this.errors.push({ code: ANNOTATION_STRAY, args: ["has no parameter name or 'returns' on a function (write '@shape x [N, C]' or '@shape returns [N]')"], range: a.range });
    }
    const name = n.name && (T.isIdentifier(n.name) || T.isPrivateIdentifier(n.name) || T.isStringLiteral(n.name)) ? n.name.text
      : nameNode && T.isIdentifier(nameNode) ? nameNode.text : undefined;
    const nameRange = n.name ? this.range(n.name) : nameNode ? this.range(nameNode) : undefined;
    const body = n.body;
    let stmts: Stmt[] = [];
    let bodyExpr: Expr | undefined;
    if (body && T.isBlock(body)) stmts = this.statements(body.statements);
    else if (body) bodyExpr = this.expr(body as ts.Expression);
    return {
      name,
      nameRange,
      params,
      returns,
      returnType: n.type && this.typeInfo(n.type),
      strayAnnotations: [],
      body: stmts,
      bodyExpr,
      bodyRange: body && T.isBlock(body) ? this.range(body) : undefined,
      range: this.range(n),
      isMethod: T.isMethodDeclaration(n) || T.isConstructorDeclaration(n),
    };
  }

  private cls(n: ts.ClassLikeDeclaration): IrClass {
    let ctor: IrFunction | undefined;
    const methods: IrFunction[] = [];
    const fields: { name: string; value?: Expr; range: TextRange; annotation?: ShapeAnnotation }[] = [];
    for (const m of n.members) {
      if (T.isConstructorDeclaration(m)) {
        ctor = this.fn(m, this.annotationsOf(m, false));
        // `constructor(private fc: nn.Linear)` parameter properties are fields with unknown values.
      } else if (T.isMethodDeclaration(m) || T.isGetAccessorDeclaration(m)) {
        methods.push(this.fn(m, this.annotationsOf(m, false)));
      } else if (T.isPropertyDeclaration(m) && (T.isIdentifier(m.name) || T.isPrivateIdentifier(m.name))) {
        const annotations = this.annotationsOf(m, true);
        if (m.initializer && (T.isArrowFunction(m.initializer) || T.isFunctionExpression(m.initializer))) {
          const fn = this.fn(m.initializer, annotations, undefined);
          methods.push({ ...fn, name: m.name.text, nameRange: this.range(m.name) });
          continue;
        }
        const annotation = annotations.find(a => a.target === undefined);
        this.releaseUnused(annotations.filter(a => a !== annotation));
        fields.push({ name: m.name.text, value: m.initializer && this.expr(m.initializer), range: this.range(m.name), annotation });
      }
    }
    const heritage = n.heritageClauses?.find(h => h.token === T.SyntaxKind.ExtendsKeyword)?.types[0];
    return {
      name: n.name?.text,
      nameRange: n.name ? this.range(n.name) : undefined,
      extendsExpr: heritage ? this.expr(heritage.expression) : undefined,
      ctor,
      methods,
      fields,
      range: this.range(n),
    };
  }

  /** Rank from TF.js's types: `Tensor4D`, `tf.Tensor3D`, `Tensor<Rank.R3>`, `Scalar`; `Tensor` is a tensor of unknown rank. */
  private typeInfo(t: ts.TypeNode): TypeInfo | undefined {
    if (!T.isTypeReferenceNode(t)) return undefined;
    const name = T.isIdentifier(t.typeName) ? t.typeName.text : t.typeName.right.text;
    const m = /^Tensor([1-6])D$/.exec(name);
    if (m) return { rank: Number(m[1]), isTensor: true };
    if (name === 'Scalar') return { rank: 0, isTensor: true };
    if (name === 'Tensor') {
      const arg = t.typeArguments?.[0];
      if (arg && T.isTypeReferenceNode(arg)) {
        const r = /^R([0-6])$/.exec(T.isIdentifier(arg.typeName) ? arg.typeName.text : arg.typeName.right.text);
        if (r) return { rank: Number(r[1]), isTensor: true };
      }
      return { isTensor: true };
    }
    // `model: LeNet`: a class of this program (resolved by the interpreter; unknown names stay unknown).
    if (T.isIdentifier(t.typeName) && /^[A-Z]/.test(name) && !t.typeArguments) return { className: name };
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Patterns and expressions

  private pattern(n: ts.BindingName): Pattern {
    const range = this.range(n);
    if (T.isIdentifier(n)) return { kind: 'name', name: n.text, range };
    if (T.isArrayBindingPattern(n)) {
      return { kind: 'array', elements: n.elements.map(e => (T.isOmittedExpression(e) || e.dotDotDotToken ? undefined : this.pattern(e.name))), range };
    }
    const props: { key: string; value: Pattern }[] = [];
    for (const el of n.elements) {
      if (el.dotDotDotToken) continue;
      const key = el.propertyName ? (T.isIdentifier(el.propertyName) || T.isStringLiteral(el.propertyName) ? el.propertyName.text : undefined) : T.isIdentifier(el.name) ? el.name.text : undefined;
      if (key !== undefined) props.push({ key, value: this.pattern(el.name) });
    }
    return { kind: 'object', props, range };
  }

  private exprPattern(e: ts.Expression): Pattern | undefined {
    if (T.isIdentifier(e)) return { kind: 'name', name: e.text, range: this.range(e) };
    return undefined;
  }

  private expr(e: ts.Expression): Expr {
    const range = this.range(e);
    switch (e.kind) {
      case T.SyntaxKind.Identifier: {
        const name = (e as ts.Identifier).text;
        return name === 'undefined' ? { kind: 'null', range } : { kind: 'name', name, range };
      }
      case T.SyntaxKind.NumericLiteral: {
        const t = (e as ts.NumericLiteral).text;
        return { kind: 'number', value: Number(t), range, float: /[.eE]/.test(t) && !/^0[xXbBoO]/.test(t) };
      }
      case T.SyntaxKind.StringLiteral:
      case T.SyntaxKind.NoSubstitutionTemplateLiteral: return { kind: 'string', value: (e as ts.StringLiteral).text, range };
      case T.SyntaxKind.TrueKeyword: return { kind: 'bool', value: true, range };
      case T.SyntaxKind.FalseKeyword: return { kind: 'bool', value: false, range };
      case T.SyntaxKind.NullKeyword: return { kind: 'null', range };
      case T.SyntaxKind.ThisKeyword: return { kind: 'this', range };
    }
    if (T.isArrayLiteralExpression(e)) {
      if (e.elements.some(el => T.isSpreadElement(el) || T.isOmittedExpression(el))) {
        return { kind: 'opaque', parts: e.elements.map(el => this.expr(T.isSpreadElement(el) ? el.expression : el)), range };
      }
      return { kind: 'array', elements: e.elements.map(el => this.expr(el)), range };
    }
    if (T.isObjectLiteralExpression(e)) {
      const props: { key: string; value: Expr; range: TextRange }[] = [];
      for (const p of e.properties) {
        if (T.isPropertyAssignment(p) && (T.isIdentifier(p.name) || T.isStringLiteral(p.name) || T.isNumericLiteral(p.name))) {
          props.push({ key: p.name.text, value: this.expr(p.initializer), range: this.range(p) });
        } else if (T.isShorthandPropertyAssignment(p)) {
          props.push({ key: p.name.text, value: { kind: 'name', name: p.name.text, range: this.range(p.name) }, range: this.range(p) });
        } else if (T.isMethodDeclaration(p) && T.isIdentifier(p.name)) {
          const fn = this.fn(p, this.annotationsOf(p, false));
          props.push({ key: p.name.text, value: { kind: 'function', fn, range: this.range(p) }, range: this.range(p) });
        }
      }
      return { kind: 'object', props, range };
    }
    if (T.isPropertyAccessExpression(e)) {
      return { kind: 'member', object: this.expr(e.expression), property: e.name.text, propertyRange: this.range(e.name), range };
    }
    if (T.isElementAccessExpression(e)) {
      const arg = e.argumentExpression;
      if (T.isStringLiteral(arg)) return { kind: 'member', object: this.expr(e.expression), property: arg.text, propertyRange: this.range(arg), range };
      return { kind: 'index', object: this.expr(e.expression), index: this.expr(arg), range };
    }
    if (T.isCallExpression(e)) {
      if (e.arguments.some(a => T.isSpreadElement(a))) {
        return { kind: 'opaque', parts: [this.expr(e.expression), ...e.arguments.map(a => this.expr(T.isSpreadElement(a) ? a.expression : a))], range };
      }
      return { kind: 'call', callee: this.expr(e.expression), args: e.arguments.map(a => this.expr(a)), range };
    }
    if (T.isNewExpression(e)) {
      return { kind: 'new', callee: this.expr(e.expression), args: (e.arguments ?? []).filter(a => !T.isSpreadElement(a)).map(a => this.expr(a)), range };
    }
    if (T.isPrefixUnaryExpression(e)) {
      if (e.operator === T.SyntaxKind.MinusToken && T.isNumericLiteral(e.operand)) return { kind: 'number', value: -Number(e.operand.text), range, float: /[.eE]/.test(e.operand.text) };
      return { kind: 'unary', op: T.tokenToString(e.operator) ?? '?', operand: this.expr(e.operand), range };
    }
    if (T.isPostfixUnaryExpression(e)) return { kind: 'unary', op: T.tokenToString(e.operator) ?? '?', operand: this.expr(e.operand), range };
    if (T.isBinaryExpression(e)) {
      if (isAssignmentOperator(e.operatorToken.kind)) {
        // An assignment inside an expression: keep the value, but the variable it writes becomes untracked.
        return { kind: 'opaque', parts: [this.expr(e.left), this.expr(e.right)], range };
      }
      return { kind: 'binary', op: e.operatorToken.getText(this.sf), left: this.expr(e.left), right: this.expr(e.right), range };
    }
    if (T.isConditionalExpression(e)) {
      return { kind: 'conditional', cond: this.expr(e.condition), whenTrue: this.expr(e.whenTrue), whenFalse: this.expr(e.whenFalse), range };
    }
    if (T.isArrowFunction(e) || T.isFunctionExpression(e)) {
      return { kind: 'function', fn: this.fn(e, this.annotationsOf(e, false)), range };
    }
    if (T.isClassExpression(e)) return { kind: 'class', cls: this.cls(e), range };
    if (T.isParenthesizedExpression(e) || T.isNonNullExpression(e) || T.isAwaitExpression(e)) {
      return { kind: 'wrapped', inner: this.expr(e.expression), range };
    }
    if (T.isAsExpression(e) || T.isTypeAssertionExpression(e) || T.isSatisfiesExpression(e)) {
      return { kind: 'wrapped', inner: this.expr(e.expression), type: this.typeInfo(e.type), range };
    }
    const parts: Expr[] = [];
    T.forEachChild(e, c => {
      if (T.isExpression(c)) parts.push(this.expr(c));
    });
    return { kind: 'opaque', parts, range };
  }
}

function isAssignmentOperator(k: ts.SyntaxKind): boolean {
  return k >= T.SyntaxKind.FirstAssignment && k <= T.SyntaxKind.LastAssignment;
}

function isDefault(n: ts.Node): boolean {
  return (T.canHaveModifiers(n) ? T.getModifiers(n) ?? [] : []).some(m => m.kind === T.SyntaxKind.DefaultKeyword);
}

/**
 * Where IR holds ranges: `holders` lists each object holding a range with the property's name
 * (`[node, 'range', dim, 'range', …]`, every object once, even one reached twice such as a shared
 * sub-expression); the `@shape` annotations it refers to are listed apart, because the comment
 * they were parsed from shares them and either may be moved first. In the IR every object with
 * numeric `start` and `end` is a range.
 */
interface IrRanges {
  readonly holders: readonly unknown[];
  readonly annotations: readonly object[];
}

function irRanges(x: unknown): IrRanges {
  const holders: unknown[] = [];
  const annotations: object[] = [];
  const seen = new Set<object>();
  const visit = (y: unknown): void => {
    if (y === null || typeof y !== 'object' || seen.has(y)) return;
    seen.add(y);
    if (Array.isArray(y)) {
      for (let i = 0; i < y.length; i++) visit(y[i]);
      return;
    }
    const o = y as Record<string, unknown>;
    for (const k in o) {
      const v = o[k] as { start?: unknown; end?: unknown } | null;
      if (v === null || typeof v !== 'object') continue;
      if (k === 'annotation' || k === 'returns') annotations.push(v);
      else if (k === 'strayAnnotations') annotations.push(...(v as unknown as object[]));
      else if (typeof v.start === 'number' && typeof v.end === 'number') holders.push(o, k);
      else visit(v);
    }
  };
  visit(x);
  return { holders, annotations };
}

/**
 * Moves the held ranges by `delta`. Each `{ start, end }` is replaced by a new object, never changed:
 * the previous run's results share those objects, and the interpreter moves them itself.
 */
function moveHeldRanges(holders: readonly unknown[], delta: number): void {
  for (let i = 0; i < holders.length; i += 2) {
    const o = holders[i] as Record<string, TextRange>;
    const k = holders[i + 1] as string;
    const v = o[k]!;
    o[k] = { start: v.start + delta, end: v.end + delta };
  }
}
