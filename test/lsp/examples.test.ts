// Every example over a real stdio connection: the server publishes exactly the diagnostics
// examples/expected.json lists (line, code, message), each preferred quick fix removes its
// diagnostic, every inlay hint's shape is what hovering that name shows, and every loss call has
// an `Evaluate loss…` lens carrying the call.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServerBuilt, fileUri, hoverText, inlayLabel, LspTestClient, ROOT } from './harness';

const EXAMPLES = join(ROOT, 'examples');
interface Expected { line: number; code: string; message?: string }
const expected = Object.entries(JSON.parse(readFileSync(join(EXAMPLES, 'expected.json'), 'utf8')) as Record<string, Expected[]>)
  .filter(([file]) => !file.startsWith('$'));

describe('the examples over stdio', () => {
  let client: LspTestClient;

  beforeAll(async () => {
    ensureServerBuilt();
    client = await LspTestClient.start({ root: EXAMPLES, initializationOptions: { debounceMs: 10 } });
  });

  afterAll(async () => {
    await client?.shutdown();
  });

  it('lists some examples', () => {
    expect(expected.length).toBeGreaterThan(5);
  });

  for (const [file, want] of expected) {
    it(file, async () => {
      const uri = fileUri(join(EXAMPLES, file));
      const text = readFileSync(join(EXAMPLES, file), 'utf8');
      await client.open(uri, text);
      const diags = await client.diagnostics(uri, 30_000);
      // Notes (information) about tracking are not listed in expected.json; errors and warnings are.
      const got = diags.filter(d => d.severity !== 3 && d.severity !== 4);
      expect(got.map(d => `${d.range.start.line + 1}:${d.code}`).sort()).toEqual(want.map(w => `${w.line}:${w.code}`).sort());
      for (const w of want) {
        const d = got.find(x => x.range.start.line + 1 === w.line && x.code === w.code)!;
        if (w.message) expect(String(d.message)).toContain(w.message);
        expect(d.source).toBe('tensor-lens');
      }

      // Hints and hovers agree.
      const doc = client.docs.get(uri)!;
      for (const h of ((await client.inlayHints(uri)) ?? []).slice(0, 12)) {
        const shape = /\[[^\]]*\]/.exec(inlayLabel(h))![0];
        const hovered = hoverText(await client.hover(uri, { line: h.position.line, character: Math.max(0, h.position.character - 1) }));
        expect(hovered, `hint ${inlayLabel(h)} at ${h.position.line + 1}:${h.position.character} of ${doc.getText().split('\n')[h.position.line]}`).toContain(shape);
      }

      // Each loss call's lens carries it.
      for (const lens of (await client.codeLenses(uri)) ?? []) {
        expect(lens.command?.command).toBe('tensorLens.openLossPanel');
        const [arg] = lens.command!.arguments!;
        expect(arg.uri).toBe(uri);
        expect(typeof arg.call.function).toBe('string');
        expect(arg.range.start.line).toBe(lens.range.start.line);
      }

      // The preferred quick fix of each diagnostic removes it (one at a time, from the original text).
      for (const d of got) {
        const actions = (await client.codeActions(uri, d.range, [d])) ?? [];
        expect(actions.some(a => a.title.includes('tensor-lens-ignore'))).toBe(true);
        const preferred = actions.find(a => a.isPreferred);
        if (!preferred) continue;
        await client.applyWorkspaceEdit(preferred.edit!);
        const after = await client.diagnostics(uri, 30_000);
        expect(after.filter(x => x.code === d.code && x.range.start.line === d.range.start.line), `${preferred.title} on line ${d.range.start.line + 1}`).toEqual([]);
        await client.replaceAll(uri, text);
        await client.diagnostics(uri, 30_000);
      }
      await client.close(uri);
    });
  }
});
