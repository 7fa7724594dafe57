// The benchmark's generated training file: large, deterministic, and clean (so the benchmark times
// a realistic full analysis, not an early exit).

import { describe, expect, it } from 'vitest';
import { analyzeText } from '../../server/analysis';
import { generateProgram } from '../helpers/generateProgram';

describe('generateProgram', () => {
  it('is deterministic and at least as long as asked', () => {
    const a = generateProgram({ lines: 4000 });
    expect(a).toBe(generateProgram({ lines: 4000 }));
    expect(a.split('\n').length).toBeGreaterThanOrEqual(4000);
    expect(generateProgram({ seed: 2 })).not.toBe(a);
  });

  it('checks clean, with every declaration inferred', () => {
    const text = generateProgram({ lines: 600 });
    const r = analyzeText('/gen.ts', text);
    expect(r.diagnostics).toEqual([]);
    const logits = r.shapes.filter(s => s.kind === 'declaration' && s.name === 'logits');
    expect(logits.length).toBeGreaterThan(3);
    for (const l of logits) expect(l.shapeText).toMatch(/^\[8, (2|10|21)\]$/);
    expect(r.lossCalls.length).toBeGreaterThan(3);
  });
});
