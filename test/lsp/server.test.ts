// The language server over a real stdio connection to the built bundle, driven as an editor drives it.

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressType } from 'vscode-jsonrpc';
import type { CodeAction, Diagnostic } from 'vscode-languageserver-protocol';
import { LossCallAtRequest } from '../../protocol/server';
import { ensureServerBuilt, fileUri, hoverText, inlayLabel, LspTestClient, ROOT } from './harness';

const FIXTURES = join(__dirname, 'fixtures');
const SPATIAL = 'only batches of spatial targets supported (3D tensors) but got targets of dimension: 4';

let ws: string;

beforeAll(() => {
  ensureServerBuilt();
  ws = mkdtempSync(join(tmpdir(), 'tl-lsp-'));
  cpSync(FIXTURES, ws, { recursive: true });
});

afterAll(() => {
  rmSync(ws, { recursive: true, force: true });
});

function byCode(diagnostics: Diagnostic[], code: string): Diagnostic[] {
  return diagnostics.filter(d => d.code === code);
}

/** The actions' edits for one document, applied in reverse order to its text (what an editor does). */
function editsOf(action: CodeAction, uri: string) {
  return action.edit?.changes?.[uri] ?? [];
}

describe('a segmentation file with a [N, 1, H, W] mask', () => {
  let client: LspTestClient;
  let uri: string;
  let text: string;

  beforeAll(async () => {
    client = await LspTestClient.start({ root: ws, initializationOptions: { debounceMs: 50 } });
    uri = fileUri(join(ws, 'mask-with-channel-dim.ts'));
    text = readFileSync(join(ws, 'mask-with-channel-dim.ts'), 'utf8');
    await client.open(uri, text);
  });

  afterAll(async () => {
    await client.shutdown();
  });

  it('advertises the features it serves', () => {
    const caps = client.initializeResult.capabilities;
    expect(caps.hoverProvider).toBe(true);
    expect(caps.inlayHintProvider).toBeTruthy();
    expect(caps.codeActionProvider).toBeTruthy();
    expect(caps.codeLensProvider).toBeTruthy();
    expect(client.initializeResult.serverInfo?.name).toBe('tensor-lens');
    expect(client.initializeResult.serverInfo?.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('publishes PyTorch\'s exact message with its code, source, link and related locations', async () => {
    const diags = await client.diagnostics(uri);
    const [d] = byCode(diags, 'TL2001');
    expect(d, JSON.stringify(diags, null, 2)).toBeDefined();
    const lines = String(d!.message).split('\n');
    expect(lines[0]).toBe(SPATIAL);
    expect(lines.length).toBeGreaterThan(1); // the plain-words reason on the next line
    expect(d!.source).toBe('tensor-lens');
    expect(d!.severity).toBe(1);
    // The link opens the bundled reference (docs/diagnostics.md) at the code's heading.
    if (existsSync(join(ROOT, 'docs', 'diagnostics.md'))) expect(d!.codeDescription?.href).toMatch(/\/docs\/diagnostics\.md#TL2001$/);
    else expect(d!.codeDescription).toBeUndefined();
    // The primary range is the target argument of the call.
    const doc = client.docs.get(uri)!;
    expect(doc.getText(d!.range)).toBe('masks');
    for (const r of d!.relatedInformation ?? []) {
      expect(r.location.uri).toBe(uri);
      expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it('hovers a tensor with its shape, dtype and where each dim was bound', async () => {
    const h = hoverText(await client.hover(uri, client.positionOf(uri, 'const images', 7)));
    expect(h).toContain('[N, 3, H, W] float32');
    const annotationLine = client.positionOf(uri, '@shape [N, 3, H, W] float32').line + 1;
    expect(h).toContain(`\`N\` — bound at line ${annotationLine} \`@shape [N, 3, H, W] float32\``);
    const logits = hoverText(await client.hover(uri, client.positionOf(uri, 'const logits', 7)));
    expect(logits).toMatch(/\[N, (21|NUM_CLASSES), H, W\]/);
  });

  it('hovers a loss call with what it expects of its target', async () => {
    const h = hoverText(await client.hover(uri, client.positionOf(uri, 'F.crossEntropy', 4)));
    expect(h).toContain('cross_entropy');
    expect(h).toMatch(/Expects target: class indices `\[N, H, W\]` int64/);
  });

  it('answers a hover away from any tensor with nothing', async () => {
    expect(await client.hover(uri, { line: 0, character: 1 })).toBeNull();
  });

  it('shows shapes as inlay hints after declarations and parameters', async () => {
    const hints = (await client.inlayHints(uri)) ?? [];
    const doc = client.docs.get(uri)!;
    const labelAt = (needle: string) => {
      const end = doc.positionAt(doc.getText().indexOf(needle) + needle.length);
      return hints.filter(h => h.position.line === end.line && h.position.character === end.character).map(inlayLabel);
    };
    expect(labelAt('const logits')).toEqual([expect.stringMatching(/^: \[N, (21|NUM_CLASSES), H, W\]$/)]);
    expect(labelAt('const probs')).toHaveLength(1);
    expect(labelAt('const images')).toEqual([': [N, 3, H, W]']); // annotated lines above: the shape still reads at the name
    expect(labelAt('forward(x: Tensor')).toEqual(['[N, 3, H, W]']); // after the parameter's type, not between name and type
    // Hovering the type the hint follows shows the same shape.
    expect(hoverText(await client.hover(uri, client.positionOf(uri, 'forward(x: Tensor', 'forward(x: Tens'.length)))).toContain('[N, 3, H, W]');
    // Only inside the requested range.
    const line = client.positionOf(uri, 'const logits').line;
    const some = (await client.inlayHints(uri, { start: { line, character: 0 }, end: { line: line + 1, character: 0 } })) ?? [];
    expect(some.map(inlayLabel)).toEqual([expect.stringMatching(/^: \[N, (21|NUM_CLASSES), H, W\]$/)]);
  });

  it('answers inlay hints for the version just typed, after the burst settles', async () => {
    const line = client.positionOf(uri, 'const logits').line;
    // Three quick edits, each followed at once by a request (as an editor sends them while typing).
    const pending = [];
    for (let i = 0; i < 3; i++) {
      await client.edit(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: '\n' }]);
      pending.push(client.inlayHints(uri));
    }
    const last = (await Promise.all(pending)).at(-1) ?? [];
    const logitsHint = last.find(h => /\[N, (21|NUM_CLASSES), H, W\]/.test(inlayLabel(h)) && h.position.line === line + 3);
    expect(logitsHint, JSON.stringify(last.map(h => [h.position.line, inlayLabel(h)]))).toBeDefined();
    await client.replaceAll(uri, text);
    await client.diagnostics(uri);
  });

  it('offers to write an inferred shape down as an annotation', async () => {
    const at = client.positionOf(uri, 'const probs', 7);
    const actions = (await client.codeActions(uri, { start: at, end: at }, [])) ?? [];
    const annotate = actions.find(a => a.kind === 'refactor.rewrite');
    expect(annotate, JSON.stringify(actions)).toBeDefined();
    const [edit] = editsOf(annotate!, uri);
    expect(edit!.newText).toMatch(/@shape \[N, (21|NUM_CLASSES), H, W\]/);
    // Nothing is wrong there: no quick fixes.
    expect(actions.filter(a => a.kind === 'quickfix')).toEqual([]);
  });

  it('offers a CodeLens "Evaluate loss…" carrying the call for the loss panel', async () => {
    const lenses = (await client.codeLenses(uri)) ?? [];
    expect(lenses).toHaveLength(1);
    const lens = lenses[0]!;
    expect(lens.command?.title).toBe('Evaluate loss…');
    expect(lens.command?.command).toBe('tensorLens.openLossPanel');
    expect(lens.command?.arguments).toHaveLength(1);
    const arg = lens.command!.arguments![0];
    expect(arg.uri).toBe(uri);
    expect(arg.call.function).toBe('cross_entropy');
    expect(arg.call.profile).toBe('torch');
    expect(arg.call.input.shapeText).toMatch(/\[N, (21|NUM_CLASSES), H, W\]/);
    expect(arg.call.target.shapeText).toBe('[N, 1, H, W]');
    expect(arg.range.start.line).toBe(client.positionOf(uri, 'F.crossEntropy').line);
  });

  it('quick-fixes with .squeeze(1), and the diagnostic disappears once applied', async () => {
    const diags = await client.diagnostics(uri);
    const d = byCode(diags, 'TL2001')[0]!;
    const actions = (await client.codeActions(uri, d.range, [d])) ?? [];
    const squeeze = actions.find(a => editsOf(a, uri).some(e => e.newText.includes('.squeeze(1)')));
    expect(squeeze, JSON.stringify(actions, null, 2)).toBeDefined();
    expect(squeeze!.kind).toBe('quickfix');
    expect(squeeze!.isPreferred).toBe(true);
    expect(squeeze!.diagnostics?.[0]?.code).toBe('TL2001');
    const ignore = actions.find(a => a.title.includes('tensor-lens-ignore'));
    expect(ignore).toBeDefined();

    await client.applyWorkspaceEdit(squeeze!.edit!);
    expect(client.docs.get(uri)!.getText()).toContain('F.crossEntropy(logits, masks.squeeze(1))');
    const after = await client.diagnostics(uri);
    expect(byCode(after, 'TL2001')).toEqual([]);
    expect(after.filter(x => x.severity === 1)).toEqual([]);
  });

  it('answers the loss panel with the call as it is now, not as an older CodeLens carried it', async () => {
    // After the quick fix above, VS Code may still show (and run) the lens made before it: the panel
    // asks the server for the call at the lens's position.
    const now = await client.connection.sendRequest(LossCallAtRequest, { uri, position: client.positionOf(uri, 'F.crossEntropy') });
    expect(now?.call.function).toBe('cross_entropy');
    expect(now?.call.target.shapeText).toBe('[N, H, W]');
    expect(now?.call.target.text).toBe('masks.squeeze(1)');
    expect(now?.range.start).toEqual(client.positionOf(uri, 'F.crossEntropy'));
    // Inside the call (the lens's start may have moved a little): the same call.
    const inside = await client.connection.sendRequest(LossCallAtRequest, { uri, position: client.positionOf(uri, 'masks.squeeze(1)') });
    expect(inside?.call.target.shapeText).toBe('[N, H, W]');
    expect(await client.connection.sendRequest(LossCallAtRequest, { uri, position: { line: 0, character: 0 } })).toBeNull();
  });

  it('re-breaks and fixes as the user types', async () => {
    const doc = client.docs.get(uri)!;
    const at = doc.getText().indexOf('masks.squeeze(1)') + 'masks'.length;
    await client.edit(uri, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at + '.squeeze(1)'.length) }, newText: '' }]);
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toHaveLength(1);
    // Typed one character at a time: only the final state's diagnostics matter.
    for (const ch of '.squeeze(1)') {
      const cur = client.docs.get(uri)!;
      const pos = cur.positionAt(cur.getText().indexOf('crossEntropy(logits, masks') + 'crossEntropy(logits, masks'.length + countTyped(cur.getText()));
      await client.edit(uri, [{ range: { start: pos, end: pos }, newText: ch }]);
    }
    expect(client.docs.get(uri)!.getText()).toContain('F.crossEntropy(logits, masks.squeeze(1))');
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toEqual([]);
  });

  it('silences a diagnostic with the tensor-lens-ignore action', async () => {
    await client.replaceAll(uri, text);
    const d = byCode(await client.diagnostics(uri), 'TL2001')[0]!;
    const actions = (await client.codeActions(uri, d.range, [d])) ?? [];
    const ignore = actions.find(a => a.title.includes('tensor-lens-ignore'))!;
    const [edit] = editsOf(ignore, uri);
    expect(edit!.newText).toBe('  // tensor-lens-ignore TL2001\n');
    expect(edit!.range.start.line).toBe(d.range.start.line);
    await client.applyWorkspaceEdit(ignore.edit!);
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toEqual([]);
    await client.replaceAll(uri, text);
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toHaveLength(1);
  });

  it('adds the code to an ignore comment already on the line above', async () => {
    await client.replaceAll(uri, text.replace('  const loss = F.crossEntropy', '  // tensor-lens-ignore TL4004\n  const loss = F.crossEntropy'));
    const d = byCode(await client.diagnostics(uri), 'TL2001')[0]!;
    const actions = (await client.codeActions(uri, d.range, [d])) ?? [];
    const ignore = actions.find(a => a.title.includes('tensor-lens-ignore'))!;
    const [edit] = editsOf(ignore, uri);
    expect(edit!.newText).toBe(' TL2001');
    expect(edit!.range.start.line).toBe(d.range.start.line - 1);
    await client.applyWorkspaceEdit(ignore.edit!);
    expect(client.docs.get(uri)!.getText()).toContain('  // tensor-lens-ignore TL4004 TL2001\n  const loss = F.crossEntropy');
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toEqual([]);
    await client.replaceAll(uri, text);
    expect(byCode(await client.diagnostics(uri), 'TL2001')).toHaveLength(1);
  });

  it('turns inlay hints off and on with tensorLens.inlayHints.enabled, asking the editor to refresh', async () => {
    const before = client.refreshes.inlayHint;
    await client.changeSettings({ inlayHints: { enabled: false } });
    await client.waitFor(() => client.refreshes.inlayHint > before, 'an inlay hint refresh');
    expect(await client.inlayHints(uri)).toEqual([]);
    await client.changeSettings({ inlayHints: { enabled: true } });
    await client.waitFor(() => client.refreshes.inlayHint > before + 1, 'a second inlay hint refresh');
    expect(((await client.inlayHints(uri)) ?? []).length).toBeGreaterThan(0);
  });

  it('traces analysis timings while the client traces (tensorLens.trace.server)', async () => {
    await client.connection.sendNotification('$/setTrace', { value: 'messages' });
    await client.replaceAll(uri, text + '\n');
    const version = client.docs.get(uri)!.version;
    await client.waitFor(() => client.traces.some(t => t.includes(`v${version} in `)), 'an analysis trace');
    expect(client.traces.find(t => t.includes(`v${version} in `))).toMatch(/^analysed .*mask-with-channel-dim\.ts v\d+ in [\d.]+ ms: \d+ diagnostics/);
    await client.connection.sendNotification('$/setTrace', { value: 'off' });
    const before = client.traces.length;
    await client.replaceAll(uri, text);
    await client.diagnostics(uri);
    expect(client.traces.length).toBe(before);
  });

  it('reports the analyzer state for the status bar', async () => {
    const status = client.notifications.filter(n => n.method === 'tensorLens/serverStatus').map(n => n.params as { state: string; errors: number });
    expect(status.length).toBeGreaterThan(0);
    await client.waitFor(
      () => (client.notifications.filter(n => n.method === 'tensorLens/serverStatus').at(-1)?.params as { state: string }).state === 'ready',
      'a ready status',
    );
  });

  it('stayed alive and silent about internal errors', () => {
    expect(client.alive).toBe(true);
    expect(client.messages.filter(m => m.message.includes('internal error'))).toEqual([]);
  });
});

/** How much of `.squeeze(1)` has been typed after `masks` in the cross-entropy call. */
function countTyped(text: string): number {
  const at = text.indexOf('crossEntropy(logits, masks') + 'crossEntropy(logits, masks'.length;
  const rest = text.slice(at);
  let n = 0;
  while (n < '.squeeze(1)'.length && rest[n] === '.squeeze(1)'[n]) n++;
  return n;
}

describe('several files', () => {
  let client: LspTestClient;

  beforeAll(async () => {
    client = await LspTestClient.start({ root: join(ws, 'multi-file'), initializationOptions: { debounceMs: 30 } });
  });

  afterAll(async () => {
    await client.shutdown();
  });

  it('re-analyses an open importer when the annotated function it calls changes', async () => {
    const lossesUri = fileUri(join(ws, 'multi-file', 'losses.ts'));
    const trainUri = fileUri(join(ws, 'multi-file', 'train.ts'));
    const lossesText = readFileSync(join(ws, 'multi-file', 'losses.ts'), 'utf8');
    await client.open(trainUri, readFileSync(join(ws, 'multi-file', 'train.ts'), 'utf8'));
    const before = (await client.diagnostics(trainUri)).filter(d => d.severity === 1);
    expect(before.length, 'the [4, 1, 64, 64] mask contradicts segLoss\'s [N, H, W] target').toBeGreaterThan(0);

    await client.open(lossesUri, lossesText);
    const published = client.publishedCount(trainUri);
    // Widen the helper's target annotation to accept the mask as it is: train.ts becomes clean.
    await client.replaceAll(lossesUri, lossesText.replace('@shape target [N, H, W] int64', '@shape target [N, 1, H, W] int64').replace('F.crossEntropy(logits, target)', 'F.crossEntropy(logits, target.squeeze(1))'));
    const after = await client.nextDiagnostics(trainUri, published);
    expect(after.filter(d => d.severity === 1)).toEqual([]);
  });

  it('checks the whole workspace on request, publishing for files not open, with progress', async () => {
    const dir = join(ws, 'multi-file');
    const notOpen = fileUri(join(dir, 'elsewhere.ts'));
    writeFileSync(join(dir, 'elsewhere.ts'), readFileSync(join(FIXTURES, 'mask-with-channel-dim.ts'), 'utf8'));
    const progress: unknown[] = [];
    client.connection.onProgress(new ProgressType<unknown>(), 'check-1', v => {
      progress.push(v);
    });
    const result = await client.connection.sendRequest('tensorLens/checkWorkspace', { workDoneToken: 'check-1' });
    expect(result).toMatchObject({ files: 3, cancelled: false });
    expect((result as { errors: number }).errors).toBeGreaterThan(0);
    expect(byCode(await client.diagnostics(notOpen), 'TL2001')).toHaveLength(1);
    expect(progress.map(p => (p as { kind: string }).kind)).toEqual(expect.arrayContaining(['begin', 'end']));
    // The same through workspace/executeCommand, as a generic LSP client would run it.
    const viaCommand = await client.connection.sendRequest('workspace/executeCommand', { command: 'tensorLens.server.checkWorkspace' });
    expect(viaCommand).toMatchObject({ files: 3, cancelled: false });
    expect(client.alive).toBe(true);
  });
});

describe('tensorlens.json', () => {
  it('reports a broken file on the file itself and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-cfg-'));
    try {
      writeFileSync(join(dir, 'tensorlens.json'), '{ "torchModules": ["./myTorch"], }');
      cpSync(join(FIXTURES, 'mask-with-channel-dim.ts'), join(dir, 'a.ts'));
      const client = await LspTestClient.start({ root: dir });
      try {
        const cfg = await client.diagnostics(fileUri(join(dir, 'tensorlens.json')));
        expect(cfg).toHaveLength(1);
        expect(cfg[0]!.message).toMatch(/tensorlens\.json is not valid JSON/);
        const uri = fileUri(join(dir, 'a.ts'));
        await client.open(uri, readFileSync(join(dir, 'a.ts'), 'utf8'));
        expect(byCode(await client.diagnostics(uri), 'TL2001')).toHaveLength(1);

        // Fixed on disk: the watcher's notification re-reads it and clears the problem.
        const n = client.publishedCount(fileUri(join(dir, 'tensorlens.json')));
        writeFileSync(join(dir, 'tensorlens.json'), '{ "torchModules": ["./myTorch"] }');
        await client.changeWatchedFiles([{ uri: fileUri(join(dir, 'tensorlens.json')), type: 2 }]);
        expect(await client.nextDiagnostics(fileUri(join(dir, 'tensorlens.json')), n)).toEqual([]);
        expect(client.alive).toBe(true);
      } finally {
        await client.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an internal error in the analysis', () => {
  it('is contained: one internal diagnostic, one message per distinct error, and the server keeps serving', async () => {
    const marker = 'TENSOR_LENS_INJECTED_FAULT';
    const client = await LspTestClient.start({ root: ws, initializationOptions: { faultInjectionMarker: marker, debounceMs: 20 } });
    try {
      const text = readFileSync(join(ws, 'mask-with-channel-dim.ts'), 'utf8');
      const bad1 = fileUri(join(ws, 'bad1.ts'));
      const bad2 = fileUri(join(ws, 'bad2.ts'));
      await client.open(bad1, `// ${marker}\n${text}`);
      await client.open(bad2, `// ${marker}\n${text}`);
      for (const uri of [bad1, bad2]) {
        const diags = await client.diagnostics(uri);
        expect(diags).toHaveLength(1);
        expect(diags[0]!.code).toMatch(/^TL9\d{3}$/);
        expect(diags[0]!.range.start).toEqual({ line: 0, character: 0 });
        expect(await client.hover(uri, { line: 3, character: 3 })).toBeNull();
        expect(await client.codeLenses(uri)).toEqual([]);
      }
      const shown = client.messages.filter(m => m.message.includes('internal error'));
      expect(shown).toHaveLength(1);
      expect(client.logs.some(l => l.includes('injected fault'))).toBe(true);
      // The same server still analyses a healthy file, and the broken one recovers once fixed.
      await client.replaceAll(bad1, text);
      expect(byCode(await client.diagnostics(bad1), 'TL2001')).toHaveLength(1);
      expect(client.alive).toBe(true);
    } finally {
      await client.shutdown();
    }
  });
});

describe('tensorLens.torchModules', () => {
  it('checks a wrapper module once the setting lists it, and again when tensorlens.json lists it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-mod-'));
    try {
      cpSync(join(FIXTURES, 'custom-torch-module.ts'), join(dir, 'train.ts'));
      const client = await LspTestClient.start({ root: dir, settings: {}, initializationOptions: { debounceMs: 20 } });
      try {
        const uri = fileUri(join(dir, 'train.ts'));
        await client.open(uri, readFileSync(join(dir, 'train.ts'), 'utf8'));
        expect(byCode(await client.diagnostics(uri), 'TL2001')).toEqual([]); // an unknown module: quiet

        let n = client.publishedCount(uri);
        await client.changeSettings({ torchModules: ['@acme/torch'] });
        expect(byCode(await client.nextDiagnostics(uri, n), 'TL2001')).toHaveLength(1);

        n = client.publishedCount(uri);
        await client.changeSettings({ torchModules: [] });
        expect(byCode(await client.nextDiagnostics(uri, n), 'TL2001')).toEqual([]);

        n = client.publishedCount(uri);
        writeFileSync(join(dir, 'tensorlens.json'), JSON.stringify({ torchModules: ['@acme/torch'] }));
        await client.changeWatchedFiles([{ uri: fileUri(join(dir, 'tensorlens.json')), type: 1 }]);
        expect(byCode(await client.nextDiagnostics(uri, n), 'TL2001')).toHaveLength(1);
      } finally {
        await client.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a file created on disk', () => {
  it('resolves an import that was dangling and re-analyses the importer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-new-'));
    try {
      cpSync(join(FIXTURES, 'multi-file', 'train.ts'), join(dir, 'train.ts'));
      const client = await LspTestClient.start({ root: dir, initializationOptions: { debounceMs: 20 } });
      try {
        const trainUri = fileUri(join(dir, 'train.ts'));
        await client.open(trainUri, readFileSync(join(dir, 'train.ts'), 'utf8'));
        expect((await client.diagnostics(trainUri)).filter(d => d.severity === 1)).toEqual([]); // ./losses does not exist yet
        const n = client.publishedCount(trainUri);
        cpSync(join(FIXTURES, 'multi-file', 'losses.ts'), join(dir, 'losses.ts'));
        await client.changeWatchedFiles([{ uri: fileUri(join(dir, 'losses.ts')), type: 1 }]);
        expect((await client.nextDiagnostics(trainUri, n)).filter(d => d.severity === 1).length).toBeGreaterThan(0);
      } finally {
        await client.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a change on disk', () => {
  it('re-analyses the open files importing the changed file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-disk-'));
    try {
      cpSync(join(FIXTURES, 'multi-file'), dir, { recursive: true });
      const client = await LspTestClient.start({ root: dir, initializationOptions: { debounceMs: 20 } });
      try {
        const trainUri = fileUri(join(dir, 'train.ts'));
        await client.open(trainUri, readFileSync(join(dir, 'train.ts'), 'utf8'));
        expect((await client.diagnostics(trainUri)).filter(d => d.severity === 1).length).toBeGreaterThan(0);
        const n = client.publishedCount(trainUri);
        const losses = readFileSync(join(dir, 'losses.ts'), 'utf8');
        writeFileSync(join(dir, 'losses.ts'), losses.replace('@shape target [N, H, W] int64', '@shape target [N, 1, H, W] int64').replace('(logits, target)', '(logits, target.squeeze(1))'));
        await client.changeWatchedFiles([{ uri: fileUri(join(dir, 'losses.ts')), type: 2 }]);
        expect((await client.nextDiagnostics(trainUri, n)).filter(d => d.severity === 1)).toEqual([]);
      } finally {
        await client.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a minimal LSP client', () => {
  it('works without configuration, registration, refresh or relatedInformation support', async () => {
    const client = await LspTestClient.start({ root: ws, richClient: false, initializationOptions: { settings: { inlayHints: { enabled: false } } } });
    try {
      const uri = fileUri(join(ws, 'mask-with-channel-dim.ts'));
      await client.open(uri, readFileSync(join(ws, 'mask-with-channel-dim.ts'), 'utf8'));
      const [d] = byCode(await client.diagnostics(uri), 'TL2001');
      expect(d).toBeDefined();
      expect(d!.relatedInformation).toBeUndefined(); // the client did not declare it
      expect(client.registrations).toEqual([]);
      expect(await client.inlayHints(uri)).toEqual([]); // settings from initializationOptions
      // Settings pushed with the notification (no workspace/configuration support).
      await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: { tensorLens: { inlayHints: { enabled: true } } } });
      // Documents in other languages are left alone.
      const json = fileUri(join(ws, 'data.json'));
      await client.open(json, '{ "a": [1, 2] }', 'json');
      expect(await client.hover(json, { line: 0, character: 3 })).toBeNull();
      expect(await client.codeLenses(json)).toEqual([]);
      // (Messages are handled in order: the request below sees the new settings.)
      expect(((await client.inlayHints(uri)) ?? []).length).toBeGreaterThan(0);
    } finally {
      await client.shutdown();
    }
  });
});

describe('workspace checks', () => {
  it('a new check supersedes the one running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-many-'));
    try {
      const text = readFileSync(join(FIXTURES, 'mask-with-channel-dim.ts'), 'utf8');
      // Enough uncached files that the first check is still running when the second request arrives.
      for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}.ts`), text.replace('NUM_CLASSES = 21', `NUM_CLASSES = ${21 + i}`));
      const client = await LspTestClient.start({ root: dir });
      try {
        let begun!: () => void;
        const began = new Promise<void>(r => (begun = r));
        client.connection.onProgress(new ProgressType<{ kind: string }>(), 'first', v => {
          if (v.kind === 'begin') begun();
        });
        const first = client.connection.sendRequest('tensorLens/checkWorkspace', { workDoneToken: 'first' });
        await began;
        const second = await client.connection.sendRequest('tensorLens/checkWorkspace', {});
        expect(await first).toMatchObject({ cancelled: true });
        expect(((await first) as { files: number }).files).toBeLessThan(30);
        expect(second).toMatchObject({ files: 30, errors: 30, cancelled: false });
      } finally {
        await client.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
