// Extension-host tests: run INSIDE code-server's Node extension host (extensionTestsPath), against the
// installed Tensor Lens package, through the `vscode` API only (no DOM): for every example file the
// diagnostics the analysis must report (examples/expected.json), hover, inlay hints, quick fixes and
// the `Evaluate loss…` CodeLens.
//
// Each check prints one `TL_E2E_RESULT {json}` line, which test/e2e/extensionTests.mjs collects; run()
// rejects when any check failed, so the workbench exits 1.
'use strict';
const vscode = require('vscode');

const MARK = 'TL_E2E_RESULT ';
const ANALYSIS_TIMEOUT = 45_000;
/** Debounce (~150 ms) plus analysis on a busy 2-core machine: how long a clean file stays clean before we believe it. */
const SETTLE_MS = 2_000;
/** Function-style loss calls the CodeLens must sit above (DESIGN §3), outside comments. */
const LOSS_CALL = /\b(?:cross_entropy|crossEntropy|nll_loss|nllLoss|binary_cross_entropy_with_logits|binaryCrossEntropyWithLogits|binary_cross_entropy|binaryCrossEntropy|mse_loss|mseLoss|l1_loss|l1Loss|softmaxCrossEntropy|sigmoidCrossEntropy|meanSquaredError|categoricalCrossentropy|binaryCrossentropy|sparseCategoricalCrossentropy)\s*\(/;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    let v = null;
    try { v = await fn(); } catch { v = null; }
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(200);
  }
}

const results = [];
async function check(id, title, fn) {
  const t0 = Date.now();
  let r;
  try {
    const detail = await fn();
    r = { id, title, ok: true, detail: detail || '', ms: Date.now() - t0 };
  } catch (e) {
    r = { id, title, ok: false, detail: e && e.message ? e.message : String(e), ms: Date.now() - t0 };
  }
  results.push(r);
  console.log(MARK + JSON.stringify(r));
  return r.ok;
}

function fail(msg) { throw new Error(msg); }

function codeOf(d) {
  if (d.code === undefined || d.code === null) return '';
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

function ours(uri) {
  return vscode.languages.getDiagnostics(uri).filter((d) => /^TL\d{4}$/.test(codeOf(d)) || /tensor.?lens/i.test(d.source || ''));
}

function describe(d) {
  return `${d.range.start.line + 1}:${d.range.start.character + 1} ${codeOf(d)} ${d.message.split('\n')[0]}`;
}

function hoverText(hovers) {
  return (hovers || []).flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

/** Number of dims in a shape text (`[N, C, H, W]` → 4, `[]` → 0), splitting on top-level commas. */
function rankOf(shape) {
  const body = shape.trim().slice(1, -1).trim();
  if (!body) return 0;
  let depth = 0;
  let n = 1;
  for (const ch of body) {
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) n++;
  }
  return n;
}

/**
 * Names the file annotates, with where to hover: `const x = …; // @shape [..]`, `/** @shape [..] *\/`
 * on the line above a declaration, and `@shape param [..]` in a doc comment (the parameter in the
 * signature that follows).
 */
function annotatedNames(doc) {
  const lines = doc.getText().split(/\r?\n/);
  const out = [];
  const at = (line, name) => {
    const i = lines[line].search(new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`));
    return i < 0 ? null : new vscode.Position(line, i);
  };
  for (let l = 0; l < lines.length; l++) {
    const t = lines[l];
    let m = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=.*\/\/\s*@shape\s+(\[[^\]]*\])/.exec(t);
    if (m) { out.push({ name: m[1], shape: m[2], rank: rankOf(m[2]), pos: at(l, m[1]) }); continue; }
    m = /^\s*\/\*\*\s*@shape\s+(\[[^\]]*\])[^*]*\*\/\s*$/.exec(t);
    const next = lines[l + 1] || '';
    const decl = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/.exec(next);
    if (m && decl) { out.push({ name: decl[1], shape: m[1], rank: rankOf(m[1]), pos: at(l + 1, decl[1]) }); continue; }
    for (const p of t.matchAll(/@shape\s+([A-Za-z_$][\w$]*)\s+(\[[^\]]*\])/g)) {
      if (p[1] === 'returns') continue;
      // The signature: the first line after the doc comment that mentions `name:` or `name,`/`name)`.
      for (let k = l + 1; k < Math.min(lines.length, l + 12); k++) {
        if (new RegExp(`\\b${p[1]}\\s*[:,)]`).test(lines[k]) && /\(/.test(lines[k])) {
          out.push({ name: p[1], shape: p[2], rank: rankOf(p[2]), pos: at(k, p[1]) });
          break;
        }
      }
    }
  }
  return out.filter((a) => a.pos);
}

function labelText(hint) {
  return typeof hint.label === 'string' ? hint.label : hint.label.map((p) => p.value).join('');
}

/**
 * examples/expected.json, normalised to [{ file, diagnostics: [{ line, code, message? }] }].
 * Accepts `{ "file.ts": [...] }`, `{ examples: { "file.ts": [...] } }` and `{ examples: [{ file, diagnostics }] }`.
 */
function normaliseExpected(json) {
  const body = json && json.examples !== undefined ? json.examples : json;
  const list = Array.isArray(body)
    ? body.map((e) => ({ file: e.file, diagnostics: e.diagnostics || e.expected || [] }))
    : Object.entries(body || {}).filter(([k]) => !k.startsWith('$')).map(([file, v]) => ({ file, diagnostics: Array.isArray(v) ? v : (v.diagnostics || []) }));
  for (const e of list) {
    if (typeof e.file !== 'string') fail(`expected.json: an entry without a file name: ${JSON.stringify(e).slice(0, 200)}`);
    for (const d of e.diagnostics) {
      if (typeof d.line !== 'number' || typeof d.code !== 'string') fail(`expected.json: ${e.file}: each diagnostic needs a line and a code: ${JSON.stringify(d)}`);
    }
  }
  return list;
}

exports.run = async function run() {
  const ws = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (!ws) throw new Error('no workspace folder open');
  const ext = vscode.extensions.all.find((e) => e.packageJSON && e.packageJSON.name === 'tensor-lens');
  let expected = [];
  const ready = await check('activate', 'the Tensor Lens extension is present and activates', async () => {
    if (!ext) fail(`no tensor-lens extension among ${vscode.extensions.all.filter((e) => !e.id.startsWith('vscode.')).map((e) => e.id).join(', ') || 'the installed ones'}`);
    await ext.activate();
    return `${ext.id} ${ext.packageJSON.version} from ${ext.extensionPath}`;
  });
  const haveList = await check('expected-json', 'examples/expected.json lists the expected diagnostics of every example', async () => {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(ws.uri, 'expected.json'));
    expected = normaliseExpected(JSON.parse(Buffer.from(bytes).toString('utf8')));
    const onDisk = (await vscode.workspace.findFiles('**/*.ts', '**/node_modules/**')).map((u) => vscode.workspace.asRelativePath(u, false)).sort();
    const missing = onDisk.filter((f) => !expected.some((e) => e.file === f));
    if (!expected.length) fail('expected.json lists no example');
    if (missing.length) fail(`example files missing from expected.json: ${missing.join(', ')}`);
    return `${expected.length} examples, ${expected.reduce((n, e) => n + e.diagnostics.length, 0)} expected diagnostics`;
  });
  if (ready && haveList) {
    for (const example of expected) await testExample(ws, example);
    await testStatusAndRestart(ws, ext.exports, expected);
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`[tests] ${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length) throw new Error(`${failed.length} extension-host check(s) failed: ${failed.map((f) => f.id).join(', ')}`);
};

/**
 * The status bar counts the problems of the open files; `Tensor Lens: Restart Server` stops and
 * starts the server, the status bar says so, and the new server analyses the open file again.
 */
async function testStatusAndRestart(ws, api, expected) {
  const broken = expected.find((e) => e.diagnostics.some((d) => d.code.startsWith('TL2')));
  if (!broken) return;
  const uri = vscode.Uri.joinPath(ws.uri, broken.file);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: false });
  const problemsText = () => api && api.ctx && api.ctx.statusBar ? api.ctx.statusBar.text : '';
  await check('status-bar', `the status bar counts the problems with ${broken.file} open`, async () => {
    const text = await waitFor(() => (/Tensor Lens: \d+ problems?/.test(problemsText()) ? problemsText() : null), ANALYSIS_TIMEOUT);
    if (!text) fail(`status bar shows ${JSON.stringify(problemsText())}`);
    return text;
  });
  await check('restart', 'Tensor Lens: Restart Server restarts the server, which analyses the open file again', async () => {
    const seen = [];
    const poll = setInterval(() => { const t = problemsText(); if (seen[seen.length - 1] !== t) seen.push(t); }, 20);
    try {
      await vscode.commands.executeCommand('tensorLens.restartServer');
      const back = await waitFor(() => (/Tensor Lens: \d+ problems?/.test(problemsText()) ? problemsText() : null), ANALYSIS_TIMEOUT);
      if (!back) fail(`after the restart the status bar shows ${JSON.stringify(problemsText())}; it went through ${JSON.stringify(seen)}`);
      if (!seen.some((t) => /starting|analysing/.test(t))) fail(`the status bar never showed the restart: ${JSON.stringify(seen)}`);
      // The new server answers requests: a hover-independent probe is the CodeLens of the open file.
      const lenses = await waitFor(async () => {
        const ls = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 50)) || [];
        return ls.length ? ls : null;
      }, ANALYSIS_TIMEOUT);
      if (!lenses) fail('no CodeLens from the restarted server');
      const diags = ours(uri);
      if (!diags.length) fail('no diagnostics for the open file after the restart');
      return `status went ${seen.map((t) => JSON.stringify(t)).join(' → ')}; ${diags.length} diagnostic(s) and ${lenses.length} lens(es) from the new server`;
    } finally {
      clearInterval(poll);
    }
  });
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

async function testExample(ws, example) {
  const uri = vscode.Uri.joinPath(ws.uri, example.file);
  const name = example.file;
  let doc;
  try {
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: false });
  } catch (e) {
    await check(`${name}:open`, `${name} opens`, async () => fail(e.message));
    return;
  }
  const original = doc.getText();
  const want = example.diagnostics.map((d) => `${d.line}:${d.code}`).sort();

  // Hover and inlay hints first: they also prove the server has analysed the file, which is what
  // makes "no diagnostics" on a clean example mean something. Hover is checked on the names the
  // file annotates (the hover shows a shape of the annotated rank) and on every inlay hint (the
  // hover repeats the hint's shape); hints are optional per file (annotated-only files have none).
  await check(`${name}:hover-inlay`, `${name}: hover shows the shapes of annotated names; every inlay hint's shape is the hover's`, async () => {
    const full = new vscode.Range(0, 0, doc.lineCount, 0);
    const annotated = annotatedNames(doc).slice(0, 8);
    const hoverAt = async (pos) => hoverText(await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, pos));
    const shapedHints = async () => ((await vscode.commands.executeCommand('vscode.executeInlayHintProvider', uri, full)) || []).filter((x) => /\[.*\]/.test(labelText(x)));
    // Wait for the analysis: a shape in the first annotated name's hover, or shaped inlay hints.
    const ready = await waitFor(async () => {
      if (annotated.length && /\[[^\]]*\]/.test(await hoverAt(annotated[0].pos))) return true;
      return (await shapedHints()).length > 0;
    }, ANALYSIS_TIMEOUT);
    if (!ready) fail(`within ${ANALYSIS_TIMEOUT / 1000} s neither a hover with a shape on ${annotated.length ? `"${annotated[0].name}" (line ${annotated[0].pos.line + 1})` : 'any annotated name'} nor an inlay hint with a shape`);
    const problems = [];
    for (const a of annotated) {
      const text = await hoverAt(a.pos);
      const shapes = [...text.matchAll(/\[[^\]\n]*\]/g)].map((m) => m[0]);
      if (!shapes.some((sh) => rankOf(sh) === a.rank)) problems.push(`line ${a.pos.line + 1} "${a.name}" annotated ${a.shape}: hover ${JSON.stringify(text.slice(0, 160))}`);
    }
    const hints = await shapedHints();
    for (const h of hints.slice(0, 8)) {
      const shape = /\[[^\]]*\]/.exec(labelText(h))[0];
      // The hint follows the declared name, or its type annotation (`x: Tensor`): hover the name.
      const before = doc.lineAt(h.position.line).text.slice(0, h.position.character);
      const m = /([A-Za-z_$][\w$]*)\s*(?::[^:=(),]*)?$/.exec(before);
      const text = await hoverAt(m ? new vscode.Position(h.position.line, m.index) : h.position);
      if (!text.includes(shape)) problems.push(`line ${h.position.line + 1}: hint "${labelText(h).trim()}" but hover ${JSON.stringify(text.slice(0, 160))}`);
    }
    if (problems.length) fail(problems.join('\n'));
    if (!annotated.length && !hints.length) fail('no annotated name and no inlay hint to check');
    return `${annotated.length} annotated name(s) hovered${annotated.length ? ` (e.g. "${annotated[0].name}")` : ''}; ${hints.length} shape hint(s)${hints.length ? `, e.g. line ${hints[0].position.line + 1} "${labelText(hints[0]).trim()}"` : ''}`;
  });

  await check(`${name}:diagnostics`, `${name}: exactly the diagnostics examples/expected.json lists (line and code)`, async () => {
    const got = await waitFor(async () => {
      const g = ours(uri).map((d) => `${d.range.start.line + 1}:${codeOf(d)}`).sort();
      return JSON.stringify(g) === JSON.stringify(want) ? g : null;
    }, ANALYSIS_TIMEOUT);
    if (!got) {
      const g = ours(uri);
      const gotKeys = g.map((d) => `${d.range.start.line + 1}:${codeOf(d)}`);
      const missing = want.filter((w) => !gotKeys.includes(w));
      const extra = g.filter((d) => !want.includes(`${d.range.start.line + 1}:${codeOf(d)}`)).map(describe);
      fail(`missing: ${JSON.stringify(missing)}; unexpected: ${JSON.stringify(extra)}`);
    }
    // A clean file must stay clean past the debounce, not just look clean before the first publish.
    await sleep(want.length ? 0 : SETTLE_MS);
    const now = ours(uri);
    if (now.length !== want.length) fail(`diagnostics changed after settling: ${now.map(describe).join(' | ')}`);
    for (const d of example.diagnostics.filter((x) => x.message)) {
      const m = now.find((x) => x.range.start.line + 1 === d.line && codeOf(x) === d.code);
      if (!m || !m.message.includes(d.message)) fail(`line ${d.line} ${d.code}: message ${JSON.stringify(m && m.message)} does not contain ${JSON.stringify(d.message)}`);
    }
    return now.length ? now.map(describe).join(' | ') : 'clean';
  });

  await check(`${name}:codelens`, `${name}: an "Evaluate loss…" CodeLens above every loss call`, async () => {
    const lines = original.split(/\r?\n/);
    const callLines = lines.map((l, i) => (LOSS_CALL.test(l) && !/^\s*(\/\/|\*|\/\*)/.test(l) ? i : -1)).filter((i) => i >= 0);
    const lenses = (await waitFor(async () => {
      const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 50);
      const ev = (l || []).filter((x) => x.command && /Evaluate loss/.test(x.command.title));
      return ev.length >= callLines.length ? ev : null;
    }, callLines.length ? ANALYSIS_TIMEOUT : SETTLE_MS)) || [];
    if (!callLines.length) return `no function-style loss call; ${lenses.length} lens(es)`;
    const missing = callLines.filter((i) => !lenses.some((l) => l.range.start.line <= i && l.range.end.line >= i));
    if (missing.length) fail(`no Evaluate loss lens on line(s) ${missing.map((i) => i + 1).join(', ')}; lenses on ${lenses.map((l) => l.range.start.line + 1).join(', ') || 'none'}`);
    for (const l of lenses) {
      if (l.command.command !== 'tensorLens.openLossPanel') fail(`lens on line ${l.range.start.line + 1} runs ${l.command.command}, not tensorLens.openLossPanel`);
      const arg = (l.command.arguments || [])[0];
      if (!arg || !arg.call || !arg.call.function || !arg.uri) fail(`lens on line ${l.range.start.line + 1} has no { uri, call } argument: ${JSON.stringify(arg).slice(0, 200)}`);
    }
    return `${lenses.length} lens(es): ${lenses.map((l) => `line ${l.range.start.line + 1} ${l.command.arguments[0].call.function} ${l.command.arguments[0].call.input.shapeText}`).join('; ')}`;
  });

  // Quick fixes: each diagnostic with a fix (other than the suppression comment) is fixed by it.
  const diags = ours(uri);
  const keysNow = diags.map((d) => `${d.range.start.line + 1}:${codeOf(d)}`).sort();
  for (const d of diags) {
    const key = `${d.range.start.line + 1}:${codeOf(d)}`;
    await check(`${name}:fix:${key}`, `${name}: the quick fix for ${key} removes it, and a tensor-lens-ignore action is offered`, async () => {
      const actions = (await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, d.range, vscode.CodeActionKind.QuickFix.value)) || [];
      const forThis = actions.filter((a) => !a.diagnostics || a.diagnostics.some((x) => codeOf(x) === codeOf(d) && x.range.isEqual(d.range)));
      const ignore = forThis.find((a) => /tensor-lens-ignore/.test(a.title));
      const fixes = forThis.filter((a) => a !== ignore && a.edit && !/tensor-lens-ignore|ignore/i.test(a.title));
      if (!ignore) fail(`no tensor-lens-ignore action; actions: ${JSON.stringify(actions.map((a) => a.title))}`);
      if (!fixes.length) return `no quick fix besides suppression (actions: ${JSON.stringify(actions.map((a) => a.title))})`;
      const fix = fixes.find((a) => a.isPreferred) || fixes[0];
      try {
        if (!(await vscode.workspace.applyEdit(fix.edit))) fail(`applying "${fix.title}" failed`);
        const gone = await waitFor(() => !ours(uri).some((x) => `${x.range.start.line + 1}:${codeOf(x)}` === key), ANALYSIS_TIMEOUT);
        if (!gone) fail(`after "${fix.title}" the diagnostic is still there: ${ours(uri).map(describe).join(' | ')}`);
        const after = ours(uri).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
        const before = diags.filter((x) => x !== d && x.severity === vscode.DiagnosticSeverity.Error);
        if (after.length > before.length) fail(`"${fix.title}" introduced errors: ${after.map(describe).join(' | ')}`);
        return `"${fix.title}" removed it${after.length ? `; remaining: ${after.map(describe).join(' | ')}` : '; no errors left'}`;
      } finally {
        await restore(doc, original, keysNow);
      }
    });
  }
  if (name === 'segmentation/unetTrainStep.ts') {
    await check(`${name}:squeeze-fix`, `${name}: the spatial-target error offers ".squeeze(1)" as the preferred fix; applied, the file is clean and the CodeLens carries the fixed call`, async () => {
      const d = ours(uri).find((x) => /only batches of spatial targets supported/.test(x.message));
      if (!d) fail('no spatial-target diagnostic');
      const actions = (await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, d.range, vscode.CodeActionKind.QuickFix.value)) || [];
      const sq = actions.find((a) => /squeeze\(1\)/.test(a.title));
      if (!sq) fail(`no squeeze(1) action; actions: ${JSON.stringify(actions.map((a) => a.title))}`);
      if (!sq.isPreferred) fail(`"${sq.title}" is not marked preferred`);
      // Applied, the file is clean and the CodeLens carries the fixed call (what the panel opens with).
      const staleLenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 50)) || [];
      const stale = staleLenses.find((x) => x.command && x.command.command === 'tensorLens.openLossPanel');
      try {
        if (!(await vscode.workspace.applyEdit(sq.edit))) fail(`applying "${sq.title}" failed`);
        const clean = await waitFor(() => ours(uri).length === 0, ANALYSIS_TIMEOUT);
        if (!clean) fail(`after "${sq.title}" diagnostics remain: ${ours(uri).map(describe).join(' | ')}`);
        const lens = await waitFor(async () => {
          const ls = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 50)) || [];
          return ls.find((x) => x.command && x.command.command === 'tensorLens.openLossPanel');
        }, ANALYSIS_TIMEOUT);
        const call = lens && lens.command.arguments[0].call;
        if (!call || !/squeeze\(1\)/.test(call.target.text) || rankOf(call.target.shapeText) !== 3) {
          fail(`after the fix the lens carries target ${call ? `${call.target.text} ${call.target.shapeText}` : '(no lens)'}, not the squeezed [N, H, W] mask`);
        }
        // A lens made before the fix (VS Code can still show and run one) opens the panel with the
        // call as it is now: the panel asks the server.
        let staleNote = 'no lens before the fix';
        if (stale) {
          await vscode.commands.executeCommand(stale.command.command, ...(stale.command.arguments || []));
          const api = vscode.extensions.all.find((e) => e.packageJSON && e.packageJSON.name === 'tensor-lens').exports;
          const shown = await waitFor(() => api && api.lossPanelCall && api.lossPanelCall(), 20_000);
          await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
          if (!shown || !/squeeze\(1\)/.test(shown.call.target.text) || rankOf(shown.call.target.shapeText) !== 3) {
            fail(`the lens from before the fix opened the panel with target ${shown ? `${shown.call.target.text} ${shown.call.target.shapeText}` : '(nothing)'}, not the squeezed mask`);
          }
          staleNote = `the lens from before the fix (target ${stale.command.arguments[0].call.target.shapeText}) opened the panel with ${shown.call.target.text} ${shown.call.target.shapeText}`;
        }
        return `"${sq.title}" (preferred); after it the file is clean and the lens carries ${call.function}(${call.input.text} ${call.input.shapeText}, ${call.target.text} ${call.target.shapeText}); ${staleNote}`;
      } finally {
        await restore(doc, original, keysNow);
      }
    });
    await check(`${name}:open-panel`, `${name}: running the Evaluate loss… lens opens the loss panel`, async () => {
      const lenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 50)) || [];
      const lens = lenses.find((x) => x.command && x.command.command === 'tensorLens.openLossPanel');
      if (!lens) fail('no Evaluate loss lens');
      await vscode.commands.executeCommand(lens.command.command, ...(lens.command.arguments || []));
      const tab = await waitFor(() => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview), 20_000);
      if (!tab) fail('no webview tab opened');
      const label = tab.label;
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      return `webview tab "${label}" (${tab.input.viewType})`;
    });
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/**
 * Puts the document back as it is on disk (it is never saved): revert, so the editor is not left
 * dirty (a dirty editor would ask "Save?" on close), then wait until the server has re-analysed it
 * and published the original diagnostics again, so the next check starts from the file as written.
 */
async function restore(doc, text, keys) {
  await vscode.window.showTextDocument(doc, { preview: false });
  await vscode.commands.executeCommand('workbench.action.files.revert');
  if (!(await waitFor(() => doc.getText() === text, 5_000))) {
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount + 1, 0), text);
    await vscode.workspace.applyEdit(edit);
  }
  await waitFor(() => JSON.stringify(ours(doc.uri).map((d) => `${d.range.start.line + 1}:${codeOf(d)}`).sort()) === JSON.stringify(keys), ANALYSIS_TIMEOUT);
}
