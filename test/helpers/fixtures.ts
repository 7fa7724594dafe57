// The fixture harness: a fixture is a source file whose comments state what the analysis must find.
//
//   const loss = F.crossEntropy(logits, masks);
//   //                                  ^^^^^ TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4
//   const probs = F.softmax(logits, 1);
//   //    ^? [N, C, H, W] float32
//
// `^^^` marks a diagnostic's range on the nearest line above that is not itself an expectation
// (the message after the code is optional and compared exactly when present); `^?` asks for the
// inferred shape (and dtype) of the innermost tensor expression at the caret. Every diagnostic the
// analysis reports must be expected. A first-line `// fixture-options: {...}` passes AnalysisOptions.

import { analyzeText, type AnalysisOptions, type FileAnalysis } from '../../server/analysis';

export interface FixtureExpectation {
  readonly line: number;
  readonly column: number;
  readonly kind: 'diagnostic' | 'shape';
  readonly length: number;
  readonly code?: string;
  readonly message?: string;
  readonly shape?: string;
}

export interface FixtureReport {
  readonly analysis: FileAnalysis;
  /** Expected diagnostics the analysis did not report. */
  readonly missing: string[];
  /** Reported diagnostics no expectation asked for. */
  readonly unexpected: string[];
  /** `^?` queries whose answer differs. */
  readonly wrongShapes: string[];
  readonly expectations: readonly FixtureExpectation[];
}

const EXPECTATION = /^(\s*)\/\/(\s*)(\^\?|\^+)(.*)$/;

/** Reads the expectations of a fixture text. Lines and columns are 0-based. */
export function parseExpectations(text: string): FixtureExpectation[] {
  const lines = text.split('\n');
  const out: FixtureExpectation[] = [];
  let target = -1;
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const m = EXPECTATION.exec(line);
    if (!m || target < 0) {
      if (!m) target = i;
      return;
    }
    const column = m[1].length + 2 + m[2].length;
    const marker = m[3];
    const rest = m[4].trim();
    if (marker === '^?') {
      out.push({ line: target, column, kind: 'shape', length: 1, shape: rest });
      return;
    }
    const d = /^(TL\d{4})(?::\s?(.*))?$/.exec(rest);
    if (!d) throw new Error(`fixture line ${i + 1}: expected 'TLxxxx: message' after the carets, got '${rest}'`);
    out.push({ line: target, column, kind: 'diagnostic', length: marker.length, code: d[1], message: d[2] });
  });
  return out;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
  }
  return { line: lo, column: offset - starts[lo] };
}

/** Options from a `// fixture-options: {"torchModules": ["my-torch"]}` first line. */
export function fixtureOptions(text: string): AnalysisOptions | undefined {
  const m = /^\/\/ fixture-options: (.*)$/m.exec(text.split('\n')[0] ?? '');
  return m ? (JSON.parse(m[1]) as AnalysisOptions) : undefined;
}

/** Runs the analysis on a fixture and compares with its expectations. */
export function checkFixture(fileName: string, text: string, options?: AnalysisOptions): FixtureReport {
  const analysis = analyzeText(fileName, text, options ?? fixtureOptions(text));
  const expectations = parseExpectations(text);
  const starts = lineStarts(text);
  const missing: string[] = [];
  const unexpected: string[] = [];
  const wrongShapes: string[] = [];
  const remaining = [...analysis.diagnostics];
  const where = (l: number, c: number) => `${fileName}:${l + 1}:${c + 1}`;
  for (const e of expectations) {
    if (e.kind === 'shape') {
      const offset = starts[e.line] + e.column;
      const facts = analysis.shapes.filter(s => s.range.start <= offset && offset < s.range.end);
      facts.sort((a, b) => (a.range.end - a.range.start) - (b.range.end - b.range.start) || (a.kind === 'expression' ? 1 : -1));
      const f = facts[0];
      const got = f ? `${f.shapeText}${f.dtype ? ' ' + f.dtype : ''}` : '(no tensor here)';
      if (got !== e.shape) wrongShapes.push(`${where(e.line, e.column)}: expected ${e.shape}, got ${got}`);
      continue;
    }
    const i = remaining.findIndex(d => {
      const s = position(starts, d.range.start);
      const end = position(starts, d.range.end);
      const length = end.line === s.line ? end.column - s.column : e.length;
      return d.code === e.code && s.line === e.line && s.column === e.column && length === e.length && (e.message === undefined || d.message === e.message);
    });
    if (i >= 0) {
      remaining.splice(i, 1);
      continue;
    }
    const near = remaining.find(d => d.code === e.code && position(starts, d.range.start).line === e.line);
    const hint = near ? ` (reported at column ${position(starts, near.range.start).column + 1}, length ${near.range.end - near.range.start}: ${near.message})` : '';
    missing.push(`${where(e.line, e.column)}: expected ${e.code}${e.message !== undefined ? `: ${e.message}` : ''}${hint}`);
  }
  for (const d of remaining) {
    const s = position(starts, d.range.start);
    unexpected.push(`${where(s.line, s.column)}: unexpected ${d.code} (${d.severity}, length ${d.range.end - d.range.start}): ${d.message}`);
  }
  return { analysis, missing, unexpected, wrongShapes, expectations };
}
