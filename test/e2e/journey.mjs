// The user's journey through the packaged extension in a real workbench, one step at a time, as a
// person would do it: open the segmentation example, see the error, hover, apply the quick fix,
// evaluate the loss, switch to the sample batch. Each step records pass/fail and a screenshot.
//
// Steps run in order and share the page; a failed step is recorded with its reason and screenshot,
// and later steps still run where they can (a missing hover must not hide a working loss panel).
// Nothing is inferred from what the extension says about itself: every check reads the workbench
// DOM (squiggles, Problems rows, hover widget, inlay text, CodeLens, webview content).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FEATURE_TIMEOUT, WORKBENCH_TIMEOUT, normaliseRendered, recordPage, workbenchUrl } from './lib/browser.mjs';

export const SEGMENTATION_FILE = 'segmentation/unetTrainStep.ts';
export const SPATIAL_TARGET_MESSAGE = 'only batches of spatial targets supported (3D tensors) but got targets of dimension: 4';

/**
 * @param {object} o
 * @param {import('playwright-core').BrowserContext} o.context
 * @param {string} o.baseUrl        code-server's URL
 * @param {string} o.workspace      the examples/ copy to open
 * @param {string} o.artifacts      where screenshots go
 * @param {{ expectedValue: number, files: { input: string, target: string }, caseName: string }} o.sample
 * @param {(msg: string) => void} o.log
 * @param {string} [o.devPath]    load the extension from this folder instead of the installed package
 * @returns {Promise<{ id: string, title: string, ok: boolean, detail: string, ms: number, screenshot?: string }[]>}
 */
export async function runJourney({ context, baseUrl, workspace, artifacts, sample, log, devPath }) {
  const page = context.pages()[0] ?? await context.newPage();
  recordPage(page, log);
  // Clicks and key presses wait for the renderer, which a loaded 2-core machine starves for seconds.
  page.setDefaultTimeout(FEATURE_TIMEOUT);
  const results = [];
  const state = { page, log, workspace, sample, artifacts, opened: false, lossLine: 0, fixed: false, panel: null };
  const sourcePath = path.join(workspace, SEGMENTATION_FILE);
  const source = fs.existsSync(sourcePath) ? fs.readFileSync(sourcePath, 'utf8') : null;
  state.source = source;

  const steps = [
    ['1-open', 'Open examples/ in VS Code with the packaged extension', () => stepOpenWorkspace(state, baseUrl, devPath)],
    ['2-diagnostic', 'Cross-entropy line squiggled; Problems lists the spatial-target error with its TL code', () => stepDiagnostic(state)],
    ['3-hover', 'Hover on the logits shows [N, C, H, W] (C as the code names it); inlay hints show shapes', () => stepHover(state)],
    ['4-quickfix', 'The .squeeze(1) quick fix removes the squiggle; the file is clean', () => stepQuickFix(state)],
    ['5-loss-random', 'Evaluate loss… opens the panel; random inputs give a finite loss close to ln(C)', () => stepLossRandom(state)],
    ['5-loss-sample', 'The sample .npy batch gives the value PyTorch gives', () => stepLossSample(state)],
  ];
  for (const [id, title, run] of steps) {
    const t0 = Date.now();
    let ok = false;
    let detail = '';
    try {
      detail = (await run()) ?? '';
      ok = true;
    } catch (e) {
      detail = e instanceof Error ? e.message.split('\n').slice(0, 12).join('\n') : String(e);
    }
    const ms = Date.now() - t0;
    const screenshot = path.join(artifacts, `journey-${id}${ok ? '' : '-FAILED'}.png`);
    await page.screenshot({ path: screenshot }).catch((e) => log(`screenshot ${screenshot} failed: ${e.message}`));
    results.push({ id, title, ok, detail, ms, screenshot });
    log(`${ok ? 'PASS' : 'FAIL'} ${id} (${(ms / 1000).toFixed(1)} s): ${title}${detail ? `\n    ${detail.replace(/\n/g, '\n    ')}` : ''}`);
    if (id === '1-open' && !state.opened) {
      // Without a workbench there is nothing to look at: record the rest as not run.
      for (const [rid, rtitle] of steps.slice(1)) results.push({ id: rid, title: rtitle, ok: false, detail: 'not run: the workbench did not open', ms: 0 });
      break;
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Steps

async function stepOpenWorkspace(state, baseUrl, devPath) {
  const { page } = state;
  if (state.source === null) throw new Error(`${SEGMENTATION_FILE} does not exist in examples/`);
  await page.goto(workbenchUrl(baseUrl, state.workspace, { devPath }), { timeout: WORKBENCH_TIMEOUT });
  await page.waitForSelector('.monaco-workbench', { timeout: WORKBENCH_TIMEOUT });
  const folderRow = explorerRow(page, path.dirname(SEGMENTATION_FILE));
  await folderRow.waitFor({ timeout: WORKBENCH_TIMEOUT });
  await folderRow.click();
  const fileRow = explorerRow(page, path.basename(SEGMENTATION_FILE));
  await fileRow.waitFor({ timeout: FEATURE_TIMEOUT });
  await fileRow.click();
  await page.locator('.tabs-container .tab', { hasText: path.basename(SEGMENTATION_FILE) }).first().waitFor({ timeout: FEATURE_TIMEOUT });
  await editor(page).locator('.view-lines').waitFor({ timeout: FEATURE_TIMEOUT });
  state.opened = true;
  // The step is about the package: with the development copy the rest of the journey still runs,
  // but this step does not pass.
  if (devPath) throw new Error(`opened ${SEGMENTATION_FILE} with the development copy ${devPath}, not the package (step 0 failed)`);
  return `opened ${SEGMENTATION_FILE} with the installed package`;
}

async function stepDiagnostic(state) {
  const { page } = state;
  // The Problems panel row is the user-visible proof of message and code; its [Ln x, Col y] says where.
  await focusEditor(page);
  await page.keyboard.press('Control+Shift+M');
  const row = page.locator('.markers-panel .monaco-list-row', { hasText: SPATIAL_TARGET_MESSAGE }).first();
  try {
    await row.waitFor({ timeout: FEATURE_TIMEOUT });
  } catch {
    const rows = await page.locator('.markers-panel .monaco-list-row').allInnerTexts().catch(() => []);
    throw new Error(`no Problems row with "${SPATIAL_TARGET_MESSAGE}" within ${FEATURE_TIMEOUT / 1000} s; rows: ${JSON.stringify(rows.map(oneLine))}`);
  }
  const rowText = oneLine(await row.innerText());
  const code = /\bTL\d{4}\b/.exec(rowText)?.[0];
  if (!code) throw new Error(`the Problems row has no TL code: "${rowText}"`);
  const ln = /\[Ln (\d+), Col (\d+)\]/.exec(rowText);
  if (!ln) throw new Error(`the Problems row has no [Ln, Col]: "${rowText}"`);
  state.lossLine = Number(ln[1]);
  state.diagnosticCol = Number(ln[2]);
  state.code = code;
  const lineText = state.source.split(/\r?\n/)[state.lossLine - 1] ?? '';
  if (!/cross_?entropy|crossEntropy|criterion|CrossEntropyLoss/i.test(lineText)) {
    throw new Error(`the diagnostic is on line ${state.lossLine} ("${lineText.trim()}"), which is not the cross-entropy call`);
  }
  // The squiggle itself, on that line of the editor.
  await revealLine(page, state.lossLine);
  const squiggled = await waitForLine(page, state.lossLine, (l) => l.squiggles.some((c) => c.includes('squiggly-error')), FEATURE_TIMEOUT);
  if (!squiggled) throw new Error(`no error squiggle on line ${state.lossLine} of the editor`);
  return `Problems: "${rowText}"; error squiggle on line ${state.lossLine}: ${lineText.trim()}`;
}

async function stepHover(state) {
  const { page } = state;
  const line = state.lossLine || findLossLine(state.source);
  if (!line) throw new Error('no cross-entropy call found to hover');
  const lineText = state.source.split(/\r?\n/)[line - 1];
  const logitsName = lossArguments(lineText)?.[0];
  if (!logitsName) throw new Error(`cannot find the logits argument in line ${line}: ${lineText.trim()}`);
  await page.keyboard.press('Escape');
  await revealLine(page, line);
  // Lines move while the editor settles (a CodeLens row appears above the call), so the token is found
  // and hovered in one step, by its on-screen box, and retried until the hover shows.
  const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: /\[N, \w+, H, W\]/ }).first();
  const shown = await waitFor(async () => {
    const box = await tokenBox(page, line, logitsName);
    if (!box) return null;
    await page.mouse.move(5, 5);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    return (await hover.waitFor({ timeout: 5_000 }).then(() => true).catch(() => null));
  }, FEATURE_TIMEOUT, 500);
  if (!shown) {
    const seen = await page.locator('.monaco-hover:not(.hidden)').allInnerTexts().catch(() => []);
    throw new Error(`hovering "${logitsName}" on line ${line} did not show [N, <classes>, H, W] within ${FEATURE_TIMEOUT / 1000} s; hover: ${JSON.stringify(seen.map(oneLine))}`);
  }
  const hoverText = oneLine(await hover.innerText());
  await page.screenshot({ path: path.join(state.artifacts, 'journey-3-hover-widget.png') }).catch(() => {});
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');

  // Inlay hints: text the editor renders that the file does not contain, and that is a shape.
  const hinted = await waitForInlayShapes(page, state.source, 30_000);
  if (!hinted.length) throw new Error(`hover OK ("${hoverText}") but no inlay hint with a shape is rendered in the visible lines`);
  return `hover: "${hoverText}"; inlay hints on ${hinted.length} line(s), e.g. line ${hinted[0].line}: "${hinted[0].extra}"`;
}

async function stepQuickFix(state) {
  const { page } = state;
  if (!state.lossLine) throw new Error('no diagnostic to fix (step 2 failed)');
  await page.keyboard.press('Escape');
  await focusEditor(page);
  // Put the cursor on the diagnostic the way a user does: Ctrl+G to the line, then F8 (next problem).
  await gotoLine(page, state.lossLine);
  await page.keyboard.press('F8');
  await page.waitForTimeout(500);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+.');
  const action = page.locator('.action-widget .monaco-list-row', { hasText: 'squeeze(1)' }).first();
  try {
    await action.waitFor({ timeout: 30_000 });
  } catch {
    const rows = await page.locator('.action-widget .monaco-list-row').allInnerTexts().catch(() => []);
    throw new Error(`Ctrl+. on line ${state.lossLine} offered no .squeeze(1) fix within 30 s; offered: ${JSON.stringify(rows.map(oneLine))}`);
  }
  const title = oneLine(await action.innerText());
  await page.screenshot({ path: path.join(state.artifacts, 'journey-4-quickfix-menu.png') }).catch(() => {});
  // Choose it with the keyboard, as from Ctrl+.: move the focus to the row, then Enter. (A mouse
  // click on the action widget's rows is ignored while the widget settles under load.)
  const focused = page.locator('.action-widget .monaco-list-row.focused');
  for (let i = 0; i < 12 && !/squeeze\(1\)/.test(await focused.innerText({ timeout: 2_000 }).catch(() => '')); i++) {
    await page.keyboard.press('ArrowDown');
  }
  if (!/squeeze\(1\)/.test(await focused.innerText({ timeout: 2_000 }).catch(() => ''))) throw new Error(`could not move the focus to "${title}" in the quick fix menu`);
  // The lens above the call as it is now: after the fix VS Code must render a new one for the fixed call.
  state.lensBeforeFix = await editor(page).locator('.codelens-decoration a', { hasText: /Evaluate loss/ }).first()
    .elementHandle({ timeout: 5_000 }).catch(() => null);
  await page.keyboard.press('Enter');
  // The edit lands in the editor, then the server re-analyses: the squiggle and the Problems row go.
  const applied = await waitForLine(page, state.lossLine, (l) => /squeeze\(1\)/.test(l.text), 15_000);
  if (!applied) throw new Error(`"${title}" chosen, but line ${state.lossLine} does not contain squeeze(1)`);
  const clean = await waitFor(async () => {
    const lines = await scanEditor(page);
    const squiggles = (lines ?? []).filter((l) => l.squiggles.length);
    const rows = await page.locator('.markers-panel .monaco-list-row', { hasText: /TL\d{4}/ }).count();
    return squiggles.length === 0 && rows === 0 ? { ok: true } : null;
  }, FEATURE_TIMEOUT);
  if (!clean) {
    const lines = (await scanEditor(page)) ?? [];
    const rows = await page.locator('.markers-panel .monaco-list-row').allInnerTexts().catch(() => []);
    throw new Error(`after "${title}" the file is not clean: squiggles on lines ${JSON.stringify(lines.filter((l) => l.squiggles.length).map((l) => l.line))}; Problems: ${JSON.stringify(rows.map(oneLine))}`);
  }
  state.fixed = true;
  const fixedLine = normaliseRendered(((await scanEditor(page)) ?? []).find((l) => l.line === state.lossLine)?.text ?? '').trim();
  return `applied "${title}"; line ${state.lossLine} now reads: ${fixedLine}; no squiggles, no TL rows in Problems`;
}

async function stepLossRandom(state) {
  const { page } = state;
  const line = state.lossLine || findLossLine(state.source);
  await page.keyboard.press('Escape');
  if (line) await revealLine(page, line);
  const lens = editor(page).locator('.codelens-decoration a', { hasText: /Evaluate loss/ }).first();
  try {
    await lens.waitFor({ timeout: FEATURE_TIMEOUT });
  } catch {
    const all = await editor(page).locator('.codelens-decoration').allInnerTexts().catch(() => []);
    throw new Error(`no "Evaluate loss…" CodeLens within ${FEATURE_TIMEOUT / 1000} s; CodeLenses: ${JSON.stringify(all)}`);
  }
  if (state.fixed && state.lensBeforeFix) {
    // VS Code re-requests CodeLenses some time after an edit (longer under load: 8 s was not enough at
    // load 20); until then the old lens, with the pre-fix call as its argument, is what a click runs.
    // A person waits until the editor has caught up: so does the test, up to the feature timeout.
    const refreshed = await waitFor(() => state.lensBeforeFix.evaluate((e) => !e.isConnected), FEATURE_TIMEOUT);
    if (!refreshed) throw new Error(`the Evaluate loss… CodeLens was not re-rendered within ${FEATURE_TIMEOUT / 1000} s of the fix: it still carries the pre-fix call`);
  }
  await lens.click();
  const panel = webviewContent(page);
  state.panel = panel;
  // The panel evaluates on open with random inputs of the call's inferred shape.
  const result = await waitForPanelResult(panel, FEATURE_TIMEOUT);
  if (!result) throw new Error(`the loss panel showed no result within ${FEATURE_TIMEOUT / 1000} s; panel text: ${oneLine(await panelText(panel)).slice(0, 600)}`);
  const header = oneLine(await panel.locator('header').first().innerText({ timeout: 2_000 }).catch(() => ''));
  if (result.error) {
    // Name the call the panel was opened for: after the quick fix it must be the fixed one.
    throw new Error(`the panel shows an error instead of a loss: ${result.error}\n(panel opened for: ${header})`);
  }
  const { loss, lnC, classes, text } = result;
  if (!Number.isFinite(loss)) throw new Error(`the panel's loss is not finite: ${text}`);
  if (!Number.isFinite(lnC)) throw new Error(`the panel shows no ln(C) next to the random-input loss: ${text}`);
  if (Math.abs(Math.log(classes) - lnC) > 1e-3) throw new Error(`"${result.lnText}" but ln(${classes}) = ${Math.log(classes).toFixed(4)}`);
  // An untrained classifier's cross-entropy is near ln(C); the panel's small-scale random logits make it close.
  if (Math.abs(loss - lnC) > 0.25 * lnC + 0.1) throw new Error(`loss ${loss} is not close to ln(C) = ${lnC}: ${text}`);
  return `panel opened for ${header}; shows ${result.shown} for random inputs, "${result.lnText}"; ${result.meta}`;
}

async function stepLossSample(state) {
  const { panel, sample } = state;
  if (!panel) throw new Error('the loss panel is not open (previous step failed)');
  const before = (await readPanelResult(panel))?.outcomes ?? 0;
  await chooseSampleFiles(panel, sample);
  const expected = sample.expectedValue;
  const got = await waitFor(async () => {
    const r = await readPanelResult(panel);
    return r && r.outcomes > before && (r.error || Number.isFinite(r.loss)) ? r : null;
  }, FEATURE_TIMEOUT);
  if (!got) throw new Error(`no new result within ${FEATURE_TIMEOUT / 1000} s after choosing ${sample.files.input} and ${sample.files.target}; panel: ${oneLine(await panelText(panel)).slice(0, 600)}`);
  if (got.error) throw new Error(`with ${sample.files.input} / ${sample.files.target} the panel shows an error: ${got.error}`);
  // float32 logits, float64 accumulation on both sides: agreement to ~1e-6 relative; 1e-5 leaves room.
  if (!(Math.abs(got.loss - expected) <= 1e-5 * Math.max(1, Math.abs(expected)))) {
    throw new Error(`with ${sample.files.input} / ${sample.files.target} the panel shows ${got.loss}, PyTorch gives ${expected} (${sample.caseName}); ${got.meta}`);
  }
  return `${sample.files.input} + ${sample.files.target}: panel shows ${got.shown} (${got.loss}), PyTorch ${expected} (conformance case ${sample.caseName}); ${got.meta}`;
}

// ---------------------------------------------------------------------------------------------
// The loss panel (a webview: an outer iframe hosting our page in #active-frame)

function webviewContent(page) {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

async function panelText(panel) {
  return panel.locator('body').innerText({ timeout: 2_000 }).catch(() => '');
}

/**
 * Reads the result the panel shows: `#loss-value` (its `data-value` is the unrounded number), `#ln-c`
 * ("untrained classifier: ln 21 = 3.0445"), `#error` when the evaluation failed, and the count of
 * results shown so far (`data-outcomes` on <body>).
 */
async function readPanelResult(panel) {
  const body = panel.locator('body');
  const outcomes = Number((await body.getAttribute('data-outcomes', { timeout: 1_000 }).catch(() => null)) ?? 0);
  const error = panel.locator('#error');
  if (await error.count().catch(() => 0)) {
    return { outcomes, error: oneLine(await error.innerText({ timeout: 1_000 }).catch(() => '?')) };
  }
  const value = panel.locator('#loss-value');
  if (!(await value.count().catch(() => 0))) return null;
  const loss = Number(await value.getAttribute('data-value', { timeout: 1_000 }).catch(() => 'NaN'));
  const shown = oneLine(await value.innerText({ timeout: 1_000 }).catch(() => ''));
  const lnText = (await panel.locator('#ln-c').count()) ? oneLine(await panel.locator('#ln-c').innerText({ timeout: 1_000 })) : '';
  const ln = /ln (\d+) = (-?[\d.]+(?:e[-+]?\d+)?)/.exec(lnText);
  const meta = (await panel.locator('#result-meta').count()) ? oneLine(await panel.locator('#result-meta').innerText({ timeout: 1_000 })) : '';
  return { outcomes, loss, shown, lnC: ln ? Number(ln[2]) : NaN, classes: ln ? Number(ln[1]) : NaN, lnText, meta, text: `${shown} ${lnText} ${meta}` };
}

async function waitForPanelResult(panel, ms) {
  return waitFor(async () => {
    const r = await readPanelResult(panel);
    return r && (r.error || Number.isFinite(r.loss) || r.shown) ? r : null;
  }, ms);
}

/**
 * Switches the logits and the target to the sample files the way a user does in the panel: each
 * role's source dropdown to "Workspace file", then the file dropdown to the file; then Evaluate.
 */
async function chooseSampleFiles(panel, sample) {
  for (const [role, file] of [['input', sample.files.input], ['target', sample.files.target]]) {
    await chooseOption(panel, `#${role}-source`, /^Workspace file$/);
    await chooseOption(panel, `#${role}-file`, new RegExp(`(^|/)${escapeRe(file)}\\b`));
  }
  await panel.locator('#run').click();
}

/** Opens a toolkit dropdown (`<vscode-dropdown>`) and clicks the option whose text matches. */
async function chooseOption(panel, selector, label) {
  const dd = panel.locator(selector).first();
  try {
    await dd.waitFor({ timeout: 15_000 });
  } catch {
    throw new Error(`the panel has no ${selector} dropdown; panel: ${oneLine(await panelText(panel)).slice(0, 400)}`);
  }
  const options = panel.locator(`${selector} vscode-option`);
  const texts = (await options.allInnerTexts()).map(oneLine);
  const index = texts.findIndex((t) => label.test(t));
  if (index < 0) throw new Error(`no option matching ${label} in ${selector}; options: ${JSON.stringify(texts)}`);
  const current = await dd.evaluate((e) => e.value);
  const wanted = await options.nth(index).getAttribute('value');
  if (current === wanted) return;
  await dd.click();
  await options.nth(index).click();
  // The panel re-renders its source rows after a change: wait for the new control to show the choice.
  await waitFor(async () => (await panel.locator(selector).first().evaluate((e) => e.value).catch(() => null)) === wanted, 10_000);
}

// ---------------------------------------------------------------------------------------------
// Editor helpers

function editor(page) {
  return page.locator('.editor-instance .monaco-editor').first();
}

function explorerRow(page, name) {
  return page.locator('.explorer-folders-view .monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(name)}$`) }),
  }).first();
}

async function focusEditor(page) {
  await editor(page).locator('.view-lines').click({ position: { x: 5, y: 5 } }).catch(() => {});
}

async function gotoLine(page, line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
}

/** Scrolls `line` into view (centred) without moving the focus elsewhere for long. */
async function revealLine(page, line) {
  const visible = ((await scanEditor(page)) ?? []).some((l) => l.line === line);
  if (visible) return;
  await focusEditor(page);
  await gotoLine(page, line);
  await page.waitForTimeout(300);
}

/** The on-screen box of the token `name` on line `line` of the editor, or null when it is not rendered. */
async function tokenBox(page, line, name) {
  return page.evaluate(([line, name]) => {
    const ed = document.querySelector('.editor-instance .monaco-editor');
    if (!ed) return null;
    const num = [...ed.querySelectorAll('.margin-view-overlays > div')].find((d) => d.querySelector('.line-numbers')?.textContent.trim() === String(line));
    if (!num) return null;
    const view = [...ed.querySelectorAll('.view-lines > .view-line')].find((v) => v.style.top === num.style.top);
    const span = view && [...view.querySelectorAll('span > span')].find((t) => t.textContent === name);
    if (!span) return null;
    const r = span.getBoundingClientRect();
    return r.width > 0 ? { x: r.x, y: r.y, width: r.width, height: r.height } : null;
  }, [line, name]);
}

/**
 * The rendered editor lines: number, top, text (with inlay hints and other injected text) and the
 * decoration classes on that line. Monaco renders line numbers, overlays and text in three layers
 * aligned by `style.top`, which is how they are matched up.
 */
async function scanEditor(page) {
  return page.evaluate(() => {
    const ed = document.querySelector('.editor-instance .monaco-editor');
    if (!ed) return null;
    const byTop = new Map();
    for (const d of ed.querySelectorAll('.margin-view-overlays > div')) {
      const n = d.querySelector('.line-numbers');
      if (!n) continue;
      byTop.set(d.style.top, { line: Number(n.textContent.trim()), top: d.style.top.replace(/\s/g, ''), squiggles: [], text: '' });
    }
    for (const d of ed.querySelectorAll('.view-overlays > div')) {
      const e = byTop.get(d.style.top);
      if (!e) continue;
      for (const c of d.querySelectorAll('[class*="squiggly-"]')) e.squiggles.push(c.className);
    }
    for (const d of ed.querySelectorAll('.view-lines > .view-line')) {
      const e = byTop.get(d.style.top);
      if (e) e.text = d.textContent;
    }
    return [...byTop.values()].sort((a, b) => a.line - b.line);
  });
}

async function waitForLine(page, line, pred, ms) {
  return waitFor(async () => {
    const l = ((await scanEditor(page)) ?? []).find((x) => x.line === line);
    return l && pred(l) ? l : null;
  }, ms);
}

/** Lines whose rendering carries a shape (`[N, C, H, W]`) the source line does not contain. */
async function waitForInlayShapes(page, source, ms) {
  const src = source.split(/\r?\n/);
  return (await waitFor(async () => {
    const found = [];
    for (const l of (await scanEditor(page)) ?? []) {
      const rendered = normaliseRendered(l.text);
      const original = src[l.line - 1] ?? '';
      if (rendered.length <= original.length) continue;
      const extra = extraText(original, rendered);
      if (/\[[^\]]*\]/.test(extra)) found.push({ line: l.line, extra: extra.trim() });
    }
    return found.length ? found : null;
  }, ms)) ?? [];
}

/** What `rendered` has beyond `original` (injected text), by a common prefix/suffix split. */
function extraText(original, rendered) {
  let i = 0;
  while (i < original.length && original[i] === rendered[i]) i++;
  let j = 0;
  while (j < original.length - i && original[original.length - 1 - j] === rendered[rendered.length - 1 - j]) j++;
  return rendered.slice(i, rendered.length - j);
}

// ---------------------------------------------------------------------------------------------
// Source helpers

/** 1-based line of the first cross-entropy call in the file, 0 when there is none. */
export function findLossLine(source) {
  if (!source) return 0;
  const i = source.split(/\r?\n/).findIndex((l) => /cross_?[eE]ntropy\s*\(|crossEntropy\s*\(/.test(l) && !/^\s*(\/\/|\*)/.test(l));
  return i + 1;
}

/** The identifiers passed as the first arguments of the loss call on a line. */
export function lossArguments(lineText) {
  const m = /(?:cross_?[eE]ntropy|crossEntropy|criterion(?:\.forward)?)\s*\(\s*([A-Za-z_$][\w$]*)\s*,\s*([A-Za-z_$][\w$]*)/.exec(lineText);
  return m ? [m[1], m[2]] : null;
}

async function waitFor(fn, ms, every = 250) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(every);
  }
}

function oneLine(s) {
  return normaliseRendered(String(s)).replace(/\s+/g, ' ').trim();
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
