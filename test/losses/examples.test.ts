// Runs the real analysis over every file in examples/ (imports between examples followed, as the
// editor and `tensor-lens check` do) and compares with examples/expected.json exactly: the same
// lines and codes, each expected message contained in the reported one.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalysisProject } from '../../server/analysis';

const root = path.resolve(__dirname, '..', '..');
const examples = path.join(root, 'examples');

interface Expected { line: number; code: string; message?: string }
const expected: Record<string, Expected[]> = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(path.join(examples, 'expected.json'), 'utf8')) as Record<string, Expected[]>)
    .filter(([k]) => !k.startsWith('$')),
);

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap(e => {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) return e === 'node_modules' ? [] : walk(p);
    return /\.tsx?$/.test(e) ? [p] : [];
  });
}

const project = new AnalysisProject({
  readFile: f => (existsSync(f) ? readFileSync(f, 'utf8') : undefined),
  fileExists: f => existsSync(f),
});

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

describe('examples', () => {
  const files = walk(examples).map(f => path.relative(examples, f).split(path.sep).join('/'));

  it('expected.json lists every example file, and only those', () => {
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
  });

  for (const rel of files) {
    it(`${rel}: exactly the expected diagnostics`, () => {
      const file = path.join(examples, rel);
      const text = readFileSync(file, 'utf8');
      project.updateFile(file, text);
      const result = project.analyze(file);
      const got = result.diagnostics.map(d => ({ line: lineOf(text, d.range.start), code: d.code, message: d.message }));
      const want = expected[rel] ?? [];
      expect(got.map(d => `${d.line}:${d.code}`).sort(), got.map(d => `${d.line}:${d.code} ${d.message}`).join('\n'))
        .toEqual(want.map(d => `${d.line}:${d.code}`).sort());
      for (const w of want.filter(w => w.message)) {
        const d = got.find(g => g.line === w.line && g.code === w.code)!;
        expect(d.message).toContain(w.message);
      }
      // The analysis really ran: a clean example still has tracked shapes.
      expect(result.shapes.length, 'no tensor shapes were inferred').toBeGreaterThan(0);

      // Each diagnostic's preferred quick fix removes it and introduces nothing else.
      for (const d of result.diagnostics) {
        const fix = d.fixes.find(f => f.isPreferred) ?? d.fixes[0];
        if (!fix) continue;
        const edits = [...fix.edits].sort((a, b) => b.range.start - a.range.start);
        let fixed = text;
        for (const e of edits) fixed = fixed.slice(0, e.range.start) + e.newText + fixed.slice(e.range.end);
        project.updateFile(file, fixed);
        const after = project.analyze(file).diagnostics.map(x => `${lineOf(fixed, x.range.start)}:${x.code}`);
        const others = result.diagnostics.filter(x => x !== d).map(x => `${lineOf(text, x.range.start)}:${x.code}`);
        expect(after.sort(), `after "${fix.title}":\n${fixed.split('\n')[lineOf(text, d.range.start) - 1]}`).toEqual(others.sort());
        project.updateFile(file, text);
      }
    });
  }
});
