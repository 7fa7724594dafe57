// The one diagnostic table: unique well-formed codes, each documented in docs/diagnostics.md, and
// every analysis-core code (TL1xxx, TL3xxx, TL9xxx) exercised by at least one fixture or test.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnosticTable, formatTemplate } from '../../server/analysis/diagnosticTable';

const root = join(__dirname, '..', '..');

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe('diagnostic table', () => {
  it('has unique codes of the form TL + four digits, in their group', () => {
    const codes = diagnosticTable.map(d => d.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const d of diagnosticTable) {
      expect(d.code).toMatch(/^TL[12349]\d{3}$/);
      expect(d.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(['error', 'warning', 'information']).toContain(d.severity);
    }
  });

  it('has unique names', () => {
    const names = diagnosticTable.map(d => d.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('documents every code in docs/diagnostics.md under a heading with its name', () => {
    const doc = readFileSync(join(root, 'docs', 'diagnostics.md'), 'utf8');
    const missing = diagnosticTable.filter(d => !doc.includes(`### ${d.code} ${d.name}`)).map(d => d.code);
    expect(missing).toEqual([]);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(formatTemplate('a {0} b {1} {r0}', ['x', 2], ['why'])).toBe('a x b 2 why');
    expect(formatTemplate('a {3}', [])).toBe('a {3}');
  });

  it('has a fixture or test for every analysis-core code', () => {
    const texts = [...filesUnder(join(root, 'test', 'fixtures')), ...filesUnder(join(root, 'test', 'analysis')), ...filesUnder(join(root, 'test', 'cli'))]
      .filter(f => /\.ts$/.test(f) && !f.endsWith('diagnosticTable.test.ts'))
      .map(f => readFileSync(f, 'utf8'))
      .join('\n');
    const uncovered = diagnosticTable
      .filter(d => /^TL[139]/.test(d.code))
      .filter(d => !new RegExp(`\\b${d.code}\\b`).test(texts))
      .map(d => d.code);
    expect(uncovered).toEqual([]);
  });
});
