// Runs every fixture under test/fixtures/** (any `.ts` file): each one's inline expectations must
// hold exactly — no missing diagnostics, no unexpected ones, every `^?` shape as written.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFixture } from '../helpers/fixtures';

const root = join(__dirname, '..', 'fixtures');

function walk(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.tsx?$/.test(e)) out.push(p);
  }
  return out;
}

const files = walk(root);

describe('fixtures', () => {
  it('finds fixture files', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    const name = relative(root, file);
    it(name, () => {
      const text = readFileSync(file, 'utf8');
      const r = checkFixture(name, text);
      expect(r.expectations.length, `${name} has no expectations`).toBeGreaterThan(0);
      expect({ missing: r.missing, unexpected: r.unexpected, wrongShapes: r.wrongShapes }).toEqual({ missing: [], unexpected: [], wrongShapes: [] });
    });
  }
});
