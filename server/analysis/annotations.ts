// The shape-annotation language (DESIGN §2): `@shape [name|returns] [dims] [dtype]` in comments and
// `(a: [N, C], b: [N]) -> []` signatures from tensorlens.json. Language-neutral: it sees comment text
// and the offset where that text starts, never a syntax tree, so any front end can use it.
//
// A malformed annotation becomes an `AnnotationError` with the exact range of the offending token;
// the parser never throws and never silently drops an annotation it could not read.

import type { TextRange } from './api';
import { parseDtype, type Dtype } from './dims';

export type DimExpr =
  | { readonly kind: 'int'; readonly value: number; readonly range: TextRange }
  | { readonly kind: 'name'; readonly name: string; readonly range: TextRange }
  | { readonly kind: 'binary'; readonly op: '+' | '-' | '*' | '/' | '//'; readonly left: DimExpr; readonly right: DimExpr; readonly range: TextRange };

export type DimPattern =
  | { readonly kind: 'expr'; readonly expr: DimExpr; readonly range: TextRange }
  /** `_`: one dim of any size. */
  | { readonly kind: 'wild'; readonly range: TextRange }
  /** `*batch`: zero or more dims, named. */
  | { readonly kind: 'variadic'; readonly name: string; readonly range: TextRange }
  /** `...`: zero or more dims, anonymous. */
  | { readonly kind: 'ellipsis'; readonly range: TextRange };

export interface ShapePattern {
  readonly dims: readonly DimPattern[];
  readonly range: TextRange;
}

export interface ShapeAnnotation {
  /** A parameter name, `returns`, or absent for the declaration the comment belongs to. */
  readonly target?: { readonly name: string; readonly range: TextRange } | 'returns';
  readonly shape: ShapePattern;
  readonly dtype?: Dtype;
  /** The whole annotation, from `@shape` to its end. */
  readonly range: TextRange;
}

/** A malformed annotation. `code` is a TL1xxx code from the diagnostic table; `args` fill its template. */
export interface AnnotationError {
  readonly code: string;
  readonly args: readonly string[];
  readonly range: TextRange;
}

export interface ParsedComment {
  readonly annotations: readonly ShapeAnnotation[];
  readonly errors: readonly AnnotationError[];
}

/** Codes the parser emits; their text is in diagnosticTable.ts. */
export const ANNOTATION_SYNTAX = 'TL1001';
export const ANNOTATION_UNKNOWN_DTYPE = 'TL1002';
export const ANNOTATION_TWO_VARIADICS = 'TL1006';

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = 'ident' | 'int' | 'punct' | 'eof';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const PUNCT = ['...', '->', '//', '[', ']', ',', '(', ')', '+', '-', '*', '/', ':'];

function tokenize(text: string, base: number, errors: AnnotationError[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  outer: while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[\w$.]/.test(text[j])) j++;
      // A trailing dot is sentence punctuation, not part of the name.
      while (text[j - 1] === '.' && j > i + 1) j--;
      tokens.push({ kind: 'ident', text: text.slice(i, j), start: base + i, end: base + j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j])) j++;
      tokens.push({ kind: 'int', text: text.slice(i, j), start: base + i, end: base + j });
      i = j;
      continue;
    }
    for (const p of PUNCT) {
      if (text.startsWith(p, i)) {
        tokens.push({ kind: 'punct', text: p, start: base + i, end: base + i + p.length });
        i += p.length;
        continue outer;
      }
    }
    // Anything else is kept as a one-character token so the parser can point at it.
    tokens.push({ kind: 'punct', text: c, start: base + i, end: base + i + 1 });
    i++;
  }
  void errors;
  tokens.push({ kind: 'eof', text: '', start: base + text.length, end: base + text.length });
  return tokens;
}

class ParseError {
  constructor(readonly error: AnnotationError) {}
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  at(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }
  fail(token: Token, what: string): never {
    const found = token.kind === 'eof' ? 'the end of the annotation' : `'${token.text}'`;
    throw new ParseError({ code: ANNOTATION_SYNTAX, args: [`expected ${what} but found ${found}`], range: rangeOf(token) });
  }
  expect(text: string, what = `'${text}'`): Token {
    if (!this.at(text)) this.fail(this.peek(), what);
    return this.next();
  }

  shape(): ShapePattern {
    const open = this.expect('[', "a shape such as '[N, C, H, W]'");
    const dims: DimPattern[] = [];
    let variadics = 0;
    if (!this.at(']')) {
      for (;;) {
        const d = this.dim();
        if (d.kind === 'variadic' || d.kind === 'ellipsis') {
          variadics++;
          if (variadics > 1) {
            throw new ParseError({ code: ANNOTATION_TWO_VARIADICS, args: [], range: d.range });
          }
        }
        dims.push(d);
        if (this.at(',')) { this.next(); continue; }
        if (this.at(']')) break;
        this.fail(this.peek(), "',' or ']'");
      }
    }
    const close = this.next();
    return { dims, range: { start: open.start, end: close.end } };
  }

  dim(): DimPattern {
    const t = this.peek();
    if (t.kind === 'ident' && t.text === '_' && this.isDimEnd(this.peek(1))) {
      this.next();
      return { kind: 'wild', range: rangeOf(t) };
    }
    if (t.kind === 'punct' && t.text === '...') {
      this.next();
      return { kind: 'ellipsis', range: rangeOf(t) };
    }
    if (t.kind === 'punct' && t.text === '*') {
      this.next();
      const name = this.peek();
      if (name.kind !== 'ident') this.fail(name, "a name after '*' (as in '*batch')");
      this.next();
      return { kind: 'variadic', name: name.text, range: { start: t.start, end: name.end } };
    }
    if (t.kind === 'punct' && t.text === '-') {
      this.fail(t, 'a dim (sizes are never negative; use _ for an unknown dim)');
    }
    const expr = this.expr();
    return { kind: 'expr', expr, range: expr.range };
  }

  private isDimEnd(t: Token): boolean {
    return t.kind === 'punct' && (t.text === ',' || t.text === ']');
  }

  expr(): DimExpr {
    let left = this.term();
    while (this.at('+') || this.at('-')) {
      const op = this.next().text as '+' | '-';
      const right = this.term();
      left = { kind: 'binary', op, left, right, range: { start: left.range.start, end: right.range.end } };
    }
    return left;
  }

  term(): DimExpr {
    let left = this.atom();
    while (this.at('*') || this.at('/') || this.at('//')) {
      const op = this.next().text as '*' | '/' | '//';
      const right = this.atom();
      left = { kind: 'binary', op, left, right, range: { start: left.range.start, end: right.range.end } };
    }
    return left;
  }

  atom(): DimExpr {
    const t = this.peek();
    if (t.kind === 'int') {
      this.next();
      return { kind: 'int', value: Number(t.text), range: rangeOf(t) };
    }
    if (t.kind === 'ident') {
      this.next();
      return { kind: 'name', name: t.text, range: rangeOf(t) };
    }
    if (this.at('(')) {
      const open = this.next();
      const inner = this.expr();
      const close = this.expect(')');
      return { ...inner, range: { start: open.start, end: close.end } };
    }
    return this.fail(t, 'a dim (a number, a name, _, *name or ...)');
  }

  /** An optional dtype after a shape: an identifier that must name a dtype. */
  dtype(errors: AnnotationError[]): Dtype | undefined {
    const t = this.peek();
    if (t.kind !== 'ident') return undefined;
    this.next();
    const d = parseDtype(t.text);
    if (!d) errors.push({ code: ANNOTATION_UNKNOWN_DTYPE, args: [t.text], range: rangeOf(t) });
    return d;
  }
}

function rangeOf(t: Token): TextRange {
  // Point at something visible even at the end of the text.
  return t.start === t.end ? { start: Math.max(0, t.start - 1), end: t.end } : { start: t.start, end: t.end };
}

// ---------------------------------------------------------------------------------------------
// Comments

/**
 * Blanks out comment delimiters (`/**`, `*\/`, `//`, `#`) and JSDoc's leading `*` on each line,
 * keeping every other character at its offset so token ranges stay exact.
 */
function blankCommentDecoration(text: string): string {
  let t = text;
  if (t.startsWith('/*')) {
    t = '  ' + t.slice(2);
    t = t.replace(/^(\s*)\*(?!\w)/, (_m, s: string) => s + ' ');
    if (t.endsWith('*/')) t = t.slice(0, -2) + '  ';
    // A `*` that opens a continuation line is decoration; `*batch` inside a shape never starts a line.
    t = t.replace(/(\n[ \t]*)\*/g, (_m, s: string) => s + ' ');
  } else if (t.startsWith('//')) {
    t = '  ' + t.slice(2);
  } else if (t.startsWith('#')) {
    t = ' ' + t.slice(1);
  }
  return t;
}

/**
 * Reads every `@shape` annotation in one comment. `commentText` is the comment as written (with its
 * delimiters) and `start` its offset in the file.
 */
export function parseShapeComment(commentText: string, start: number): ParsedComment {
  const annotations: ShapeAnnotation[] = [];
  const errors: AnnotationError[] = [];
  if (!commentText.includes('@shape')) return { annotations, errors };
  const text = blankCommentDecoration(commentText);
  const tagRe = /@shape\b/g;
  const tags: number[] = [];
  for (let m = tagRe.exec(text); m; m = tagRe.exec(text)) tags.push(m.index);
  for (let k = 0; k < tags.length; k++) {
    const bodyStart = tags[k] + '@shape'.length;
    // The annotation runs to the next JSDoc tag (`@param`, another `@shape`) or the end of the comment.
    const nextTag = /(^|\s)@\w/g;
    nextTag.lastIndex = bodyStart;
    const m = nextTag.exec(text);
    const bodyEnd = k + 1 < tags.length ? Math.min(tags[k + 1], m ? m.index : text.length) : m ? m.index : text.length;
    const body = text.slice(bodyStart, bodyEnd);
    const tagRange = { start: start + tags[k], end: start + bodyStart };
    const parsed = parseAnnotationBody(body, start + bodyStart, tagRange, errors);
    if (parsed) annotations.push(parsed);
  }
  return { annotations, errors };
}

function parseAnnotationBody(body: string, base: number, tagRange: TextRange, errors: AnnotationError[]): ShapeAnnotation | undefined {
  const tokens = tokenize(body, base, errors);
  const p = new Parser(tokens);
  try {
    let target: ShapeAnnotation['target'];
    const first = p.peek();
    if (first.kind === 'eof') {
      errors.push({ code: ANNOTATION_SYNTAX, args: ["expected a shape such as '[N, C, H, W]' after the tag"], range: tagRange });
      return undefined;
    }
    if (first.kind === 'ident') {
      p.next();
      target = first.text === 'returns' ? 'returns' : { name: first.text, range: rangeOf(first) };
    }
    const shape = p.shape();
    const dtypeErrors: AnnotationError[] = [];
    const dtype = p.dtype(dtypeErrors);
    errors.push(...dtypeErrors);
    // Free text may follow after a dash: `@shape x [N, 3] float32 - the input images`.
    const rest = p.peek();
    if (rest.kind !== 'eof' && !(rest.kind === 'punct' && (rest.text === '-' || rest.text === '—'))) {
      p.fail(rest, dtype === undefined && dtypeErrors.length === 0 ? 'a dtype or the end of the annotation' : 'the end of the annotation');
    }
    const end = dtype !== undefined || dtypeErrors.length ? tokens[tokens.indexOf(rest) - 1].end : shape.range.end;
    return { target, shape, dtype, range: { start: tagRange.start, end } };
  } catch (e) {
    if (e instanceof ParseError) {
      errors.push(e.error);
      return undefined;
    }
    throw e;
  }
}

/** Reads one shape with an optional dtype, e.g. from a `tensorlens.json` entry or a test. */
export function parseShapeText(text: string, base = 0): { shape?: ShapePattern; dtype?: Dtype; errors: AnnotationError[] } {
  const errors: AnnotationError[] = [];
  const p = new Parser(tokenize(text, base, errors));
  try {
    const shape = p.shape();
    const dtype = p.dtype(errors);
    if (p.peek().kind !== 'eof') p.fail(p.peek(), 'the end of the shape');
    return { shape, dtype, errors };
  } catch (e) {
    if (e instanceof ParseError) return { errors: [...errors, e.error] };
    throw e;
  }
}

export interface SignatureParam {
  readonly name: string;
  readonly shape?: ShapePattern;
  readonly dtype?: Dtype;
}

export interface Signature {
  readonly params: readonly SignatureParam[];
  readonly returns?: { readonly shape: ShapePattern; readonly dtype?: Dtype };
}

/**
 * Reads a user function description from tensorlens.json:
 * `(pred: [N, C, *s], target: [N, C, *s] int64) -> []`. A parameter without a shape (`(x, dim)`)
 * is not a tensor the checker follows.
 */
export function parseSignature(text: string): { signature?: Signature; errors: AnnotationError[] } {
  const errors: AnnotationError[] = [];
  const p = new Parser(tokenize(text, 0, errors));
  try {
    p.expect('(', "'(' opening the parameter list");
    const params: SignatureParam[] = [];
    if (!p.at(')')) {
      for (;;) {
        const name = p.peek();
        if (name.kind !== 'ident') p.fail(name, 'a parameter name');
        p.next();
        let shape: ShapePattern | undefined;
        let dtype: Dtype | undefined;
        if (p.at(':')) {
          p.next();
          shape = p.shape();
          dtype = p.dtype(errors);
        }
        params.push({ name: name.text, shape, dtype });
        if (p.at(',')) { p.next(); continue; }
        if (p.at(')')) break;
        p.fail(p.peek(), "',' or ')'");
      }
    }
    p.expect(')');
    let returns: Signature['returns'];
    if (p.at('->')) {
      p.next();
      const shape = p.shape();
      returns = { shape, dtype: p.dtype(errors) };
    }
    if (p.peek().kind !== 'eof') p.fail(p.peek(), "'->' and a return shape, or the end");
    return { signature: { params, returns }, errors };
  } catch (e) {
    if (e instanceof ParseError) return { errors: [...errors, e.error] };
    throw e;
  }
}

/** Names used in a pattern (symbolic dims and variadic groups), in order of first use. */
export function patternNames(shape: ShapePattern): { name: string; range: TextRange }[] {
  const out: { name: string; range: TextRange }[] = [];
  const visit = (e: DimExpr) => {
    if (e.kind === 'name') out.push({ name: e.name, range: e.range });
    else if (e.kind === 'binary') { visit(e.left); visit(e.right); }
  };
  for (const d of shape.dims) {
    if (d.kind === 'expr') visit(d.expr);
    else if (d.kind === 'variadic') out.push({ name: d.name, range: d.range });
  }
  return out;
}
