// Hover, inlay hints, code actions and CodeLens: presentation of one file's analysis in LSP terms.

import {
  CodeActionKind,
  InlayHintKind,
  MarkupKind,
  type CodeAction,
  type CodeActionParams,
  type CodeLens,
  type Diagnostic as LspDiagnostic,
  type Hover,
  type InlayHint,
  type Position,
  type Range,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic, DimBinding, DimJson, FileAnalysis, LossCall, ShapeFact, TensorSummary } from '../analysis/api';
import { ClientCommands, type EvaluateLossArgs } from '../../protocol/server';
import { rangesEqual, rangesOverlap, toRange, toWorkspaceEdit, type DiagnosticData } from './convert';
import type { FileView } from './files';

// ---- hover --------------------------------------------------------------------------------------

export function hover(doc: TextDocument, analysis: FileAnalysis, position: Position, files: FileView): Hover | null {
  const offset = doc.offsetAt(position);
  // A name's type annotation (`logits: Tensor`) answers for the name: the inlay hint sits after it.
  const fact = innermost(analysis.shapes, offset) ?? typedNameAt(doc.getText(), analysis.shapes, offset);
  const call = innermost(analysis.lossCalls, offset);
  if (!fact && !call) return null;
  const parts: string[] = [];
  let range: Range | undefined;
  if (fact) {
    range = toRange(doc, fact.range);
    parts.push(shapeHover(fact, files));
  }
  // The loss call explains itself when the cursor is on the call but not on a tensor argument inside it.
  if (call && (!fact || (fact.range.start <= call.range.start && fact.range.end >= call.range.end) || !within(call, fact))) {
    parts.push(lossHover(call));
    range ??= toRange(doc, call.range);
  }
  return { contents: { kind: MarkupKind.Markdown, value: parts.join('\n\n---\n\n') }, range };
}

/** The declaration or parameter whose type annotation (between its name and the annotation's end) holds `offset`. */
function typedNameAt(text: string, facts: readonly ShapeFact[], offset: number): ShapeFact | undefined {
  for (const f of facts) {
    if ((f.kind !== 'declaration' && f.kind !== 'parameter') || offset < f.range.end) continue;
    const { offset: end, typed } = afterTypeAnnotation(text, f.range.end);
    if (typed && offset <= end) return f;
  }
  return undefined;
}

function within(outer: { range: { start: number; end: number } }, inner: { range: { start: number; end: number } }): boolean {
  return inner.range.start >= outer.range.start && inner.range.end <= outer.range.end;
}

/** The item with the smallest range containing `offset` (an inner expression beats its enclosing call). */
function innermost<T extends { range: { start: number; end: number } }>(items: readonly T[], offset: number): T | undefined {
  let best: T | undefined;
  for (const it of items) {
    if (it.range.start <= offset && offset <= it.range.end) {
      if (!best || it.range.end - it.range.start < best.range.end - best.range.start) best = it;
    }
  }
  return best;
}

export function shapeLabel(fact: { shapeText: string; dtype: string | null }): string {
  return fact.dtype ? `${fact.shapeText} ${fact.dtype}` : fact.shapeText;
}

function shapeHover(fact: ShapeFact, files: FileView): string {
  const head = fact.name ? `${code(fact.name)}: ${code(shapeLabel(fact))}` : code(shapeLabel(fact));
  const lines = [head];
  if (fact.annotated) lines.push('_from its `@shape` annotation_');
  const seen = new Set<string>();
  const bindings = fact.bindings.filter(b => !seen.has(b.name) && seen.add(b.name)).map(b => `- ${bindingText(b, files, fact.fileName)}`);
  if (bindings.length > 0) lines.push('', ...bindings);
  return lines.join('\n');
}

function bindingText(b: DimBinding, files: FileView, here: string): string {
  let s = code(b.name);
  if (b.value !== undefined) s += ` = ${b.value}`;
  if (!b.location) return s;
  const doc = files.snapshot(b.location.fileName);
  if (!doc) return s;
  const r = toRange(doc, b.location.range);
  const where = b.location.fileName === here ? '' : ` in ${baseName(b.location.fileName)}`;
  const snippet = bindingSnippet(doc, r);
  return `${s} — bound at line ${r.start.line + 1}${where}${snippet ? ` ${code(snippet)}` : ''}`;
}

/**
 * What bound the dim, as the user wrote it: the `@shape [...]` annotation on that line when there is
 * one (`@shape [N, 3, H, W] float32`), else the line itself (`const NUM_CLASSES = 21`).
 */
function bindingSnippet(doc: TextDocument, r: Range): string {
  const line = doc.getText({ start: { line: r.start.line, character: 0 }, end: { line: r.start.line + 1, character: 0 } });
  const col = r.start.character;
  // The annotation that contains the binding: the last `@shape` before it on the line.
  const at = line.lastIndexOf('@shape', col);
  if (at >= 0) {
    const m = /^@shape\s+(?:[A-Za-z_$][\w$]*\s+)?\[[^\]\n]*\](?:\s+[a-z]+[0-9]*)?/.exec(line.slice(at));
    if (m) return oneLine(m[0]);
  }
  return oneLine(line.replace(/^\s*(\/\/|\/\*\*?|\*)\s*/, '').replace(/\*\/\s*$/, ''));
}

function baseName(fileName: string): string {
  const i = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  return fileName.slice(i + 1);
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 77)}…` : t;
}

/** Inline code that survives backticks in the content. */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ` ${text} ` : text}${fence}`;
}

function lossHover(call: LossCall): string {
  const lines = [`**${call.function}** (${call.profile === 'tfjs' ? 'TF.js' : 'PyTorch'})`, ''];
  lines.push(`- input ${summary(call.input)}`);
  lines.push(`- target ${summary(call.target)}`);
  if (call.weight) lines.push(`- weight ${summary(call.weight)}`);
  const opts: string[] = [];
  if (call.reduction !== undefined) opts.push(`reduction ${code(call.reduction)}`);
  if (call.ignoreIndex !== undefined) opts.push(`ignore index ${call.ignoreIndex}`);
  if (call.labelSmoothing !== undefined) opts.push(`label smoothing ${call.labelSmoothing}`);
  if (opts.length > 0) lines.push(`- ${opts.join(', ')}`);
  const known = Object.entries(call.knownDims);
  if (known.length > 0) lines.push(`- known sizes: ${known.map(([name, value]) => `${code(name)} = ${value}`).join(', ')}`);
  const expected = expectedTarget(call);
  if (expected) lines.push('', `Expects target: ${expected}`);
  return lines.join('\n');
}

function summary(t: TensorSummary): string {
  return `${code(t.text)}: ${code(shapeLabel(t))}`;
}

/** What the call requires of its target, derived from the input's inferred shape (PyTorch's and TF.js's rules). */
export function expectedTarget(call: LossCall): string | undefined {
  const s = call.input.shape;
  const fmt = (dims: readonly DimJson[]) => code(`[${dims.join(', ')}]`);
  switch (call.function) {
    case 'cross_entropy': {
      if (!s) return 'class indices (int64) with the input\'s class dim removed, or class probabilities of the input\'s shape';
      const idx = s.length <= 1 ? [] : [s[0]!, ...s.slice(2)];
      return `class indices ${fmt(idx)} int64 in [0, ${s.length === 1 ? s[0] : s[1]}), or class probabilities ${fmt(s)} float`;
    }
    case 'nll_loss': {
      if (!s) return 'class indices (int64) with the input\'s class dim removed';
      const idx = s.length <= 1 ? [] : [s[0]!, ...s.slice(2)];
      return `class indices ${fmt(idx)} int64 in [0, ${s.length === 1 ? s[0] : s[1]})`;
    }
    case 'binary_cross_entropy':
    case 'binary_cross_entropy_with_logits':
      return s ? `probabilities in [0, 1] of the input's shape ${fmt(s)}, floating point` : 'probabilities in [0, 1] of the input\'s shape, floating point';
    case 'mse_loss':
    case 'l1_loss':
      return s ? `the input's shape ${fmt(s)} (other shapes broadcast, usually by mistake)` : 'the input\'s shape';
    case 'tfjs.softmaxCrossEntropy':
    case 'tfjs.categoricalCrossentropy':
      return s ? `one-hot labels ${fmt(s)} (classes on the last axis)` : 'one-hot labels of the logits\' shape (classes on the last axis)';
    case 'tfjs.sparseCategoricalCrossentropy':
      return s ? `class indices ${fmt(s.slice(0, -1))} (the last axis removed)` : 'class indices with the last axis removed';
    case 'tfjs.sigmoidCrossEntropy':
    case 'tfjs.binaryCrossentropy':
    case 'tfjs.meanSquaredError':
      return s ? `the predictions' shape ${fmt(s)}` : 'the predictions\' shape';
  }
  return undefined;
}

// ---- inlay hints --------------------------------------------------------------------------------

/**
 * The shape after each tensor-valued declaration and parameter (DESIGN §5: every declaration, the
 * annotated ones too, so a shape written lines above still reads at the name). An unknown shape
 * says nothing. Where the name has a type (`logits: Tensor`), the shape follows the type
 * (`logits: Tensor [N, C, H, W]`) rather than splitting name and type.
 */
export function inlayHints(doc: TextDocument, analysis: FileAnalysis, range: Range): InlayHint[] {
  const text = doc.getText();
  const from = doc.offsetAt(range.start);
  const to = doc.offsetAt(range.end);
  const hints: InlayHint[] = [];
  const seen = new Set<number>();
  for (const f of analysis.shapes) {
    if ((f.kind !== 'declaration' && f.kind !== 'parameter') || f.shape === null || f.shapeText.includes('?')) continue;
    const { offset, typed } = afterTypeAnnotation(text, f.range.end);
    if (offset < from || offset > to || seen.has(offset)) continue;
    seen.add(offset);
    hints.push({
      position: doc.positionAt(offset),
      label: typed ? f.shapeText : `: ${f.shapeText}`,
      kind: InlayHintKind.Type,
      tooltip: `${shapeLabel(f)}${f.annotated ? ' (from its @shape annotation)' : ' (inferred by Tensor Lens)'}`,
      paddingLeft: typed,
    });
  }
  return hints;
}

/**
 * Where a hint after the name at `nameEnd` goes: straight after the name, or after its type
 * annotation when it has one (`: Tensor`, `?: Tensor<Rank.R4>`), found by scanning to the `=`, `,`,
 * `)` or `;` that ends it at bracket depth 0. Bounded, so a half-typed line cannot make it wander.
 */
function afterTypeAnnotation(text: string, nameEnd: number): { offset: number; typed: boolean } {
  let i = nameEnd;
  if (text[i] === '?') i++;
  while (text[i] === ' ' || text[i] === '\t') i++;
  if (text[i] !== ':') return { offset: nameEnd, typed: false };
  let depth = 0;
  let last = i;
  for (let j = i + 1; j < text.length && j < nameEnd + 200; j++) {
    const c = text[j]!;
    if (c === '(' || c === '[' || c === '{' || c === '<') depth++;
    else if (c === ')' || c === ']' || c === '}' || (c === '>' && text[j - 1] !== '=')) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && (c === '=' || c === ',' || c === ';' || c === '\n')) break;
    if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') last = j;
  }
  return last > i ? { offset: last + 1, typed: true } : { offset: nameEnd, typed: false };
}

// ---- code actions -------------------------------------------------------------------------------

export function codeActions(
  doc: TextDocument,
  analysis: FileAnalysis,
  diagnostics: readonly Diagnostic[],
  published: readonly LspDiagnostic[],
  params: CodeActionParams,
  files: FileView,
): CodeAction[] {
  const only = params.context.only;
  const wants = (kind: string) => !only || only.some(k => k === '' || kind === k || kind.startsWith(`${k}.`));
  const actions: CodeAction[] = [];
  if (wants(CodeActionKind.RefactorRewrite)) actions.push(...annotateActions(doc, analysis, params.range, files));
  if (!wants(CodeActionKind.QuickFix)) return actions;
  const suppressed = new Set<string>();
  for (let i = 0; i < published.length; i++) {
    const lsp = published[i]!;
    if (!rangesOverlap(lsp.range, params.range)) continue;
    const d = diagnostics[(lsp.data as DiagnosticData | undefined)?.index ?? i];
    if (!d || d.code !== lsp.code) continue;
    // Link to the editor's own copy of the diagnostic when it sent one (same range, code and message).
    const clientCopy = params.context.diagnostics.find(c => c.code === lsp.code && rangesEqual(c.range, lsp.range) && c.message === lsp.message) ?? lsp;
    for (const fix of d.fixes) {
      const edit = toWorkspaceEdit(fix, files);
      if (!edit) continue;
      actions.push({ title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [clientCopy], isPreferred: fix.isPreferred === true, edit });
    }
    const line = lsp.range.start.line;
    const key = `${line}|${d.code}`;
    if (!suppressed.has(key)) {
      suppressed.add(key);
      actions.push(ignoreAction(doc, line, d.code, clientCopy));
    }
  }
  return actions;
}

/**
 * "Annotate the inferred shape": the analysis's own fix on an unannotated declaration whose shape is
 * fully inferred, offered as a refactoring where the cursor is (nothing is wrong, so no quick fix).
 */
function annotateActions(doc: TextDocument, analysis: FileAnalysis, range: Range, files: FileView): CodeAction[] {
  const from = doc.offsetAt(range.start);
  const to = doc.offsetAt(range.end);
  const out: CodeAction[] = [];
  for (const f of analysis.shapes) {
    if (!f.fixes?.length || f.range.end < from || f.range.start > to) continue;
    for (const fix of f.fixes) {
      const edit = toWorkspaceEdit(fix, files);
      if (edit) out.push({ title: fix.title, kind: CodeActionKind.RefactorRewrite, edit });
    }
  }
  return out;
}

/**
 * `// tensor-lens-ignore TL2001` on the line above, indented like the line it silences. When that
 * line already is an ignore comment (another code silenced there), the code joins it: only the line
 * directly above a diagnostic counts.
 */
function ignoreAction(doc: TextDocument, line: number, codeId: string, diagnostic: LspDiagnostic): CodeAction {
  const lineText = (n: number) => doc.getText({ start: { line: n, character: 0 }, end: { line: n + 1, character: 0 } }).replace(/\r?\n$/, '');
  const title = `Ignore ${codeId} on this line (tensor-lens-ignore)`;
  const above = line > 0 ? lineText(line - 1) : '';
  const existing = /^\s*\/\/\s*tensor-lens-ignore\b/.test(above);
  if (existing) {
    const end = { line: line - 1, character: above.replace(/\s+$/, '').length };
    return { title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], edit: { changes: { [doc.uri]: [{ range: { start: end, end }, newText: ` ${codeId}` }] } } };
  }
  const indent = /^[ \t]*/.exec(lineText(line))?.[0] ?? '';
  const eol = doc.getText().includes('\r\n') ? '\r\n' : '\n';
  return {
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    edit: { changes: { [doc.uri]: [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `${indent}// tensor-lens-ignore ${codeId}${eol}` }] } },
  };
}

// ---- CodeLens -----------------------------------------------------------------------------------

export const EVALUATE_LOSS_TITLE = 'Evaluate loss…';

/** The loss call starting at `position`, or else the innermost one containing it, as a CodeLens carries it. */
export function lossCallAt(doc: TextDocument, analysis: FileAnalysis, position: Position): EvaluateLossArgs | null {
  const offset = doc.offsetAt(position);
  const call = analysis.lossCalls.find(c => c.range.start === offset)
    ?? analysis.lossCalls
      .filter(c => c.range.start <= offset && offset < c.range.end)
      .sort((a, b) => (a.range.end - a.range.start) - (b.range.end - b.range.start))[0];
  return call ? { uri: doc.uri, call, range: toRange(doc, call.range) } : null;
}

export function codeLenses(doc: TextDocument, analysis: FileAnalysis): CodeLens[] {
  return analysis.lossCalls.map(call => {
    const range = toRange(doc, call.range);
    const args: EvaluateLossArgs = { uri: doc.uri, call, range };
    return { range, command: { title: EVALUATE_LOSS_TITLE, command: ClientCommands.openLossPanel, arguments: [args] } };
  });
}
