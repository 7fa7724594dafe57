// Conversions from the analysis's plain data (file names, UTF-16 offsets) to LSP types.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DiagnosticSeverity,
  DiagnosticTag,
  type Diagnostic as LspDiagnostic,
  type DiagnosticRelatedInformation,
  type Range,
  type TextEdit as LspTextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic, Fix, Severity, TextRange } from '../analysis/api';
import type { FileView } from './files';

export const DIAGNOSTIC_SOURCE = 'tensor-lens';

export function toRange(doc: TextDocument, range: TextRange): Range {
  const len = doc.getText().length;
  const start = Math.max(0, Math.min(range.start, len));
  const end = Math.max(start, Math.min(range.end, len));
  return { start: doc.positionAt(start), end: doc.positionAt(end) };
}

export function toSeverity(s: Severity): DiagnosticSeverity {
  return s === 'error' ? DiagnosticSeverity.Error : s === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
}

export interface ConvertOptions {
  /** The client shows `relatedInformation` (`textDocument.publishDiagnostics.relatedInformation`). */
  readonly relatedInformation: boolean;
  /** Base of `codeDescription.href`; the code is appended as the anchor (`#TL2001`). Undefined: no link. */
  readonly docsUri: string | undefined;
}

/** What a published diagnostic remembers, so a code action request can find its fixes again. */
export interface DiagnosticData {
  readonly index: number;
  readonly version: number;
}

export function toLspDiagnostic(
  doc: TextDocument,
  d: Diagnostic,
  index: number,
  files: FileView,
  options: ConvertOptions,
): LspDiagnostic {
  const result: LspDiagnostic = {
    range: toRange(doc, d.range),
    severity: toSeverity(d.severity),
    code: d.code,
    source: DIAGNOSTIC_SOURCE,
    // The runtime's own words first (what the user would have seen in the traceback), then why.
    message: d.reason ? `${d.message}\n${d.reason}` : d.message,
    data: { index, version: doc.version } satisfies DiagnosticData,
  };
  // The anchor is the code as docs/diagnostics.md spells its ids (`<a id="TL2001">`).
  if (options.docsUri) result.codeDescription = { href: `${options.docsUri}#${d.code}` };
  if (d.tags?.length) {
    result.tags = d.tags.map(t => (t === 'unnecessary' ? DiagnosticTag.Unnecessary : DiagnosticTag.Deprecated));
  }
  if (options.relatedInformation && d.related.length > 0) {
    const related: DiagnosticRelatedInformation[] = [];
    for (const r of d.related) {
      const target = r.fileName === d.fileName ? doc : files.snapshot(r.fileName);
      if (!target) continue;
      related.push({ location: { uri: files.uriOf(r.fileName), range: toRange(target, r.range) }, message: r.message });
    }
    if (related.length > 0) result.relatedInformation = related;
  }
  return result;
}

/** A fix's edits as a workspace edit; edits into files that cannot be read are dropped with the whole fix. */
export function toWorkspaceEdit(fix: Fix, files: FileView): WorkspaceEdit | undefined {
  const changes: Record<string, LspTextEdit[]> = {};
  for (const e of fix.edits) {
    const doc = files.snapshot(e.fileName);
    if (!doc) return undefined;
    const uri = files.uriOf(e.fileName);
    (changes[uri] ??= []).push({ range: toRange(doc, e.range), newText: e.newText });
  }
  return { changes };
}

/**
 * Where `codeDescription` links: `docs/diagnostics.md` shipped with the extension (the .vsix holds
 * it), as a file URI, so the link works offline and always matches the installed version.
 * `serverDir` is the bundle's folder (`dist/server`).
 */
export function findDiagnosticsDoc(serverDir: string): string | undefined {
  for (const candidate of [join(serverDir, '..', '..', 'docs', 'diagnostics.md'), join(serverDir, '..', 'docs', 'diagnostics.md')]) {
    if (existsSync(candidate)) return pathToFileURL(candidate).href;
  }
  return undefined;
}

export function rangesEqual(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

export function rangesOverlap(a: Range, b: Range): boolean {
  const before = (p: { line: number; character: number }, q: { line: number; character: number }) =>
    p.line < q.line || (p.line === q.line && p.character <= q.character);
  return before(a.start, b.end) && before(b.start, a.end);
}
