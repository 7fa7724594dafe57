// AnalysisProject: imports across files through the host, caching, importers, cancellation, and
// containment of internal failures (TL9001) and syntax errors (TL9003).

import { describe, expect, it, vi } from 'vitest';
import { AnalysisCancelled, AnalysisProject, analyzeText, type AnalysisHost } from '../../server/analysis';

vi.mock('../../server/analysis/losses', async importOriginal => {
  const real = await importOriginal<typeof import('../../server/analysis/losses')>();
  return {
    ...real,
    // A deliberately broken rule for one function name, to prove one failure stays contained.
    checkLoss: (call: Parameters<typeof real.checkLoss>[0]) => {
      if (call.fn === 'l1_loss') throw new Error('boom in a loss rule');
      return real.checkLoss(call);
    },
  };
});

function memoryHost(files: Record<string, string>): AnalysisHost & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile: f => {
      reads.push(f);
      return files[f];
    },
    fileExists: f => f in files,
  };
}

const LOSSES = `import * as F from 'js-pytorch/functional';
/**
 * @shape logits [N, C, H, W]
 * @shape target [N, H, W] int64
 * @shape returns []
 */
export function segLoss(logits: any, target: any) {
  return F.cross_entropy(logits, target);
}
export const NUM_CLASSES = 21;
`;

const TRAIN = `import { torch } from 'js-pytorch';
import { segLoss, NUM_CLASSES } from './losses';
const logits = torch.randn([4, NUM_CLASSES, 32, 32]);
const good = segLoss(logits, torch.randint(0, 21, [4, 32, 32]));
const bad = segLoss(logits, torch.randint(0, 21, [4, 16, 16]));
`;

describe('AnalysisProject', () => {
  it('follows imports of annotated functions and constants from other files', () => {
    const host = memoryHost({ '/p/src/losses.ts': LOSSES, '/p/src/train.ts': TRAIN });
    const project = new AnalysisProject(host);
    const r = project.analyze('/p/src/train.ts');
    expect(r.diagnostics.map(d => [d.code, TRAIN.slice(d.range.start, d.range.end)])).toEqual([['TL1004', 'torch.randint(0, 21, [4, 16, 16])']]);
    const good = r.shapes.find(s => s.name === 'good');
    expect(good?.shapeText).toBe('[]');
    expect(r.shapes.find(s => s.name === 'logits')?.shapeText).toBe('[4, 21, 32, 32]');
    expect(project.importersOf('/p/src/losses.ts')).toEqual(['/p/src/train.ts']);
  });

  it('caches results until the file or one of its imports changes', () => {
    const host = memoryHost({ '/p/src/losses.ts': LOSSES, '/p/src/train.ts': TRAIN });
    const project = new AnalysisProject(host);
    const first = project.analyze('/p/src/train.ts');
    expect(project.analyze('/p/src/train.ts')).toBe(first);
    project.updateFile('/p/src/losses.ts', LOSSES.replace('@shape target [N, H, W] int64', '@shape target [N, 1, H, W] int64'));
    const second = project.analyze('/p/src/train.ts');
    expect(second).not.toBe(first);
    expect(second.diagnostics.map(d => d.code)).toEqual(['TL1004', 'TL1004']);
    project.closeFile('/p/src/losses.ts');
    expect(project.analyze('/p/src/train.ts').diagnostics.map(d => d.code)).toEqual(['TL1004']);
  });

  it('prefers open texts over the host', () => {
    const project = new AnalysisProject(memoryHost({ '/a.ts': 'const x = 1;' }));
    project.updateFile('/a.ts', `import { torch } from 'js-pytorch';\nconst y = torch.zeros([2]).sum(3);\n`);
    expect(project.analyze('/a.ts').diagnostics.map(d => d.code)).toEqual(['TL3005']);
  });

  it('survives import cycles', () => {
    const host = memoryHost({
      '/a.ts': `import { b } from './b';\nexport function a(x: any) { return b(x); }\n`,
      '/b.ts': `import { a } from './a';\nexport function b(x: any) { return a(x); }\n`,
    });
    const r = new AnalysisProject(host).analyze('/a.ts');
    expect(r.diagnostics).toEqual([]);
  });

  it('stops when cancelled', () => {
    const body = Array.from({ length: 3000 }, (_, i) => `const x${i} = torch.zeros([2, 3]).sum(1);`).join('\n');
    const project = new AnalysisProject(memoryHost({}));
    project.updateFile('/big.ts', `import { torch } from 'js-pytorch';\n${body}\n`);
    expect(() => project.analyze('/big.ts', { isCancellationRequested: true })).toThrow(AnalysisCancelled);
    // Not cached as a result: the next request analyses normally.
    expect(project.analyze('/big.ts').diagnostics).toEqual([]);
  });

  it('contains an internal failure to one function (TL9001) and checks the rest', () => {
    const text = `import * as F from 'js-pytorch/functional';
import { torch } from 'js-pytorch';
function broken() {
  return F.l1_loss(torch.zeros([2]), torch.zeros([2]));
}
function fine() {
  return torch.zeros([2, 3]).sum(5);
}
const after = torch.zeros([4]).view(3);
`;
    const r = analyzeText('/f.ts', text);
    expect(r.diagnostics.map(d => d.code)).toEqual(['TL9001', 'TL3005', 'TL3006']);
    const internal = r.diagnostics[0];
    expect(internal.message).toBe('Internal error in the shape analysis of this function: boom in a loss rule');
    expect(text.slice(internal.range.start, internal.range.end)).toBe('broken');
    expect(internal.severity).toBe('warning');
  });

  it('reports a syntax error once (TL9003) and still analyses what parsed', () => {
    const text = `import { torch } from 'js-pytorch';\nconst a = torch.zeros([2, 3]).sum(4);\nconst b = torch.zeros([2, 3]\n`;
    const r = analyzeText('/s.ts', text);
    expect(r.diagnostics.map(d => d.code)).toEqual(['TL3005', 'TL9003']);
    expect(r.diagnostics[1].severity).toBe('information');
  });

  it('records loss calls for the CodeLens with their options and known dims', () => {
    const text = `import { torch } from 'js-pytorch';
const C = 21;
/** @shape logits [N, C, H, W] @shape masks [N, H, W] int64 */
function step(logits: any, masks: any) {
  const criterion = new torch.nn.CrossEntropyLoss({ ignore_index: 255, reduction: 'sum' });
  return criterion.forward(logits, masks);
}
`;
    const r = analyzeText('/l.ts', text);
    expect(r.diagnostics).toEqual([]);
    expect(r.lossCalls).toHaveLength(1);
    const call = r.lossCalls[0];
    expect(call.function).toBe('cross_entropy');
    expect(call.profile).toBe('torch');
    expect(call.input).toMatchObject({ shape: ['N', 21, 'H', 'W'], dtype: null, text: 'logits' });
    expect(call.target).toMatchObject({ shape: ['N', 'H', 'W'], dtype: 'int64', text: 'masks' });
    expect(call.ignoreIndex).toBe(255);
    expect(call.reduction).toBe('sum');
    expect(call.knownDims).toEqual({ C: 21 });
    expect(call.expectation).toMatch(/\[N, H, W\]/);
    expect(text.slice(call.range.start, call.range.end)).toBe('criterion.forward(logits, masks)');
  });

  it('turns loss fixes into text edits and binds related locations', () => {
    const text = `import * as F from 'js-pytorch/functional';
/** @shape logits [N, C, H, W] @shape masks [N, 1, H, W] int64 */
function step(logits: any, masks: any) {
  return F.cross_entropy(logits, masks);
}
`;
    const r = analyzeText('/fix.ts', text);
    const d = r.diagnostics[0];
    expect(d.code).toBe('TL2001');
    const fix = d.fixes.find(f => f.isPreferred)!;
    expect(fix.edits).toEqual([{ fileName: '/fix.ts', range: { start: d.range.end, end: d.range.end }, newText: '.squeeze(1)' }]);
    expect(d.related.map(x => [x.message, text.slice(x.range.start, x.range.end)])).toContainEqual(['`N` was bound here', 'N']);
  });

  it('offers to transpose the right operand of a matmul that needs it (attention without k.T)', () => {
    const text = `import { torch } from 'js-pytorch';
const q = torch.randn([2, 8, 16, 64]);
const k = torch.randn([2, 8, 16, 64]);
const s = q.matmul(k);
const w = torch.randn([10, 64]);
const y = torch.randn([4, 64]).matmul(w);
const z = torch.randn([4, 64]).matmul(torch.randn([32, 10]));
`;
    const r = analyzeText('/attn.ts', text);
    expect(r.diagnostics.map(d => d.code)).toEqual(['TL3026', 'TL3003', 'TL3003']);
    const [attn, weight, neither] = r.diagnostics;
    for (const d of [attn!, weight!]) {
      const fix = d.fixes.find(f => f.isPreferred)!;
      expect(fix.title).toBe('Transpose the right operand: .transpose(-2, -1)');
      expect(fix.edits).toEqual([{ fileName: '/attn.ts', range: { start: d.range.end, end: d.range.end }, newText: '.transpose(-2, -1)' }]);
    }
    expect(text.slice(attn!.range.start, attn!.range.end)).toBe('k');
    // [32, 10] transposed is [10, 32]: no better, so no fix
    expect(neither!.fixes).toEqual([]);
  });

  it('offers an annotation matching the inferred shape on unannotated declarations', () => {
    const text = `import { torch } from 'js-pytorch';\nconst x = torch.zeros([8, 3]);\nconst y = torch.zeros([8, 3]); // @shape [N, 3]\n`;
    const r = analyzeText('/a.ts', text);
    const x = r.shapes.find(s => s.name === 'x' && s.kind === 'declaration')!;
    expect(x.fixes?.[0].title).toBe('Annotate the inferred shape [8, 3] float32');
    expect(x.fixes?.[0].edits[0].newText).toBe('  // @shape [8, 3] float32');
    expect(r.shapes.find(s => s.name === 'y' && s.kind === 'declaration')!.fixes).toBeUndefined();
  });

  it('offers to change a contradicted annotation to the inferred shape', () => {
    const text = `import { torch } from 'js-pytorch';\nconst x = torch.zeros([8, 3]); // @shape [N, 4]\n`;
    const d = analyzeText('/a.ts', text).diagnostics[0];
    expect(d.code).toBe('TL1003');
    expect(d.reason).toBe('dim 1 is 3, not 4');
    const edit = d.fixes[0].edits[0];
    expect(text.slice(edit.range.start, edit.range.end)).toBe('[N, 4]');
    expect(edit.newText).toBe('[8, 3]');
  });

  it('matches tensorlens.json functions by their last name for imported functions', () => {
    const text = `import { torch } from 'js-pytorch';\nimport { diceLoss } from 'my-lib';\nconst l = diceLoss(torch.zeros([2, 3]), torch.zeros([2, 4]));\n`;
    const r = analyzeText('/a.ts', text, { functions: { 'myLib.diceLoss': '(p: [N, C], t: [N, C]) -> []' } });
    expect(r.diagnostics.map(d => d.code)).toEqual(['TL1004']);
    const ambiguous = analyzeText('/a.ts', text, { functions: { 'a.diceLoss': '(p: [N, C], t: [N, C]) -> []', 'b.diceLoss': '(p: [N, C], t: [N, C]) -> []' } });
    expect(ambiguous.diagnostics).toEqual([]);
  });
});
