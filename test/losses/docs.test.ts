// The losses' diagnostic codes are complete and documented: every TL2xxx/TL4xxx code in the table
// has its page in docs/diagnostics.md (anchor, heading with the table's name, severity) and a
// fixture expecting it, TL2 codes are errors and TL4 codes warnings, and no code is defined twice.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnosticTable } from '../../server/analysis/diagnosticTable';

const root = path.resolve(__dirname, '..', '..');
const docs = readFileSync(path.join(root, 'docs', 'diagnostics.md'), 'utf8');
const ours = diagnosticTable.filter(d => /^TL[24]\d{3}$/.test(d.code));

describe('TL2xxx / TL4xxx diagnostics', () => {
  it('codes are unique in the table', () => {
    const codes = diagnosticTable.map(d => d.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });
  it('TL2 codes are errors and TL4 codes warnings', () => {
    for (const d of ours) expect(`${d.code} ${d.severity}`).toBe(`${d.code} ${d.code.startsWith('TL2') ? 'error' : 'warning'}`);
  });
  it('every code has a fixture under test/fixtures/losses that expects it', () => {
    const dir = path.join(root, 'test', 'fixtures', 'losses');
    const expected = new Set(readdirSync(dir).flatMap(f => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^\/\/\s*\^+ (TL\d{4}):/gm)].map(m => m[1])));
    expect(ours.map(d => d.code).filter(c => !expected.has(c))).toEqual([]);
  });
  for (const d of ours) {
    it(`${d.code} has a page in docs/diagnostics.md`, () => {
      expect(docs).toContain(`<a id="${d.code}"></a>\n### ${d.code} ${d.name}\n\n**${d.severity}** · `);
    });
  }
});
