// The loss panel in real headless Chromium: the real page (same CSP), the real worker and wasm
// engine, a fake extension host sending tensor files as the extension does. Conformance values and
// error messages come from PyTorch (../shared/conformance/torch-ce).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { readNpy, writeNpy } from '../../compute/readers/index';
import type { LossCall } from '../../server/analysis/api';
import {
  conformance, conformanceCase, ensureBuilt, hostFile, launchBrowser, newPanelContext, npzOf, openPanel, root, screenshotPath,
  startServer, type HostFile, type PanelServer,
} from './harness';
import { darkModern, lightModern } from './themes';

let server: PanelServer;
let browser: Browser;
let disposeBrowser: () => Promise<void>;

beforeAll(async () => {
  ensureBuilt();
  server = await startServer();
  const b = await launchBrowser();
  browser = b.browser;
  disposeBrowser = b.dispose;
});

afterAll(async () => {
  await disposeBrowser?.();
  await server?.close();
});

function caseFiles(name: string): HostFile[] {
  const c = conformanceCase(name);
  return Object.entries(c.inputs).map(([role, rel]) => hostFile(join(conformance, 'torch-ce', rel), `${name}/${role}.npy`));
}

async function lossValue(page: Page): Promise<number> {
  const v = await page.locator('#loss-value').getAttribute('data-value');
  return Number(v);
}

/** Waits until the panel has shown more than `after` outcomes (results or errors) and is idle. */
async function idle(page: Page, after = 0): Promise<void> {
  await page.waitForFunction(n => document.body.dataset.busy === 'false' && Number(document.body.dataset.outcomes ?? 0) > n &&
    !!document.querySelector('#loss-value, #error'), after, { timeout: 30_000 });
}

async function outcomes(page: Page): Promise<number> {
  return Number(await page.evaluate(() => document.body.dataset.outcomes ?? 0));
}

async function violations(page: Page): Promise<unknown[]> {
  return page.evaluate(() => (window as unknown as { __violations: unknown[] }).__violations);
}

const segCall: LossCall = {
  fileName: '/workspace/train.ts',
  range: { start: 120, end: 162 },
  function: 'cross_entropy',
  profile: 'torch',
  input: { shape: ['N', 'C', 'H', 'W'], shapeText: '[N, C, H, W]', dtype: 'float32', text: 'logits' },
  target: { shape: ['N', 'H', 'W'], shapeText: '[N, H, W]', dtype: 'int64', text: 'masks.squeeze(1)' },
  knownDims: { C: 21 },
};

describe('loss panel in Chromium', () => {
  it('starts under the strict CSP and evaluates random logits near ln C', async () => {
    const context = await newPanelContext(browser, lightModern);
    const { page, host, log } = await openPanel(context, server.origin, [], { call: { uri: 'file:///workspace/train.ts', call: segCall } });
    await idle(page);
    expect(await page.evaluate(() => document.body.dataset.engine)).toMatch(/^wasm-(relaxed-)?simd$/);
    const loss = await lossValue(page);
    expect(Math.abs(loss - Math.log(21))).toBeLessThan(0.01);
    expect(await page.locator('#ln-c').textContent()).toBe('untrained classifier: ln 21 = 3.0445');
    const note = await host.waitFor(m => m.type === 'result');
    expect(note).toMatchObject({ type: 'result', uri: 'file:///workspace/train.ts', callStart: 120, callEnd: 162 });
    expect((note as { text: string }).text).toMatch(/^≈ 3\.04\d\d · random init, ln 21 = 3\.0445$/);
    expect(await violations(page)).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('evaluates a PyTorch conformance batch sent by the host in chunks (nchw_mean)', async () => {
    const c = conformanceCase('nchw_mean');
    const files = caseFiles('nchw_mean');
    const context = await newPanelContext(browser, lightModern);
    // Opened from the explorer on the logits file: the target beside it is paired by name.
    const { page, host, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
    await idle(page);
    const loss = await lossValue(page);
    expect(Math.abs(loss - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
    expect(host.received.filter(m => m.type === 'readFile').map(m => (m as { fileId: string }).fileId).sort())
      .toEqual(files.map(f => f.fileId).sort());
    expect(await page.locator('#result-meta').textContent()).toContain('input [2, 5, 6, 7] → target [2, 6, 7]');
    // The step view decomposes the fused loss and agrees with it.
    expect(await page.locator('#steps-verdict').textContent()).toContain('the same loss');
    expect(await page.locator('#accuracy').textContent()).toMatch(/^accuracy \d+\.\d% \(\d+ of 84 elements\)$/);
    expect(await violations(page)).toEqual([]);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('lists the arrays of an .npz and fills input, target and weight from their names', async () => {
    const c = conformanceCase('nchw_weight_ignore_255');
    const dir = mkdtempSync(join(tmpdir(), 'tl-panel-npz-'));
    const npzPath = join(dir, 'batch.npz');
    const read = (role: string) => readFileSync(join(conformance, 'torch-ce', c.inputs[role]));
    writeFileSync(npzPath, npzOf([
      { name: 'images_logits', bytes: read('input') }, { name: 'labels', bytes: read('target') }, { name: 'class_weight', bytes: read('weight') },
    ]));
    const files = [hostFile(npzPath, 'data/batch.npz')];
    const context = await newPanelContext(browser, lightModern);
    try {
      const { page, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
      await idle(page);
      expect(await page.locator('#input-array vscode-option').count()).toBe(3);
      const chosen = await page.evaluate(() => ['input', 'target', 'weight'].map(r => (document.querySelector(`#${r}-array`) as HTMLSelectElement).value));
      expect(chosen).toEqual(['images_logits', 'labels', 'class_weight']);
      const n = await outcomes(page);
      await page.locator('#ignore-index input').fill('255');
      await idle(page, n);
      expect(Math.abs((await lossValue(page)) - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
      expect(log.errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('converts index targets to one-hot probabilities and back (same loss without ignored targets)', async () => {
    const c = conformanceCase('nchw_mean');
    const files = caseFiles('nchw_mean');
    const context = await newPanelContext(browser, lightModern);
    const { page, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
    await idle(page);
    let n = await outcomes(page);
    await page.locator('#target-kind').click();
    await page.locator('#target-kind vscode-option[value="probability"]').click();
    await idle(page, n);
    expect(await page.locator('#result-meta').textContent()).toContain('input [2, 5, 6, 7] → target [2, 5, 6, 7]');
    expect(Math.abs((await lossValue(page)) - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
    n = await outcomes(page);
    await page.locator('#target-kind').click();
    await page.locator('#target-kind vscode-option[value="index"]').click();
    await idle(page, n);
    expect(await page.locator('#result-meta').textContent()).toContain('→ target [2, 6, 7]');
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('switches from random inputs to the sample files with the dropdowns and Evaluate (the editor journey)', async () => {
    const data = join(root, 'examples', 'data');
    const files = [
      hostFile(join(data, 'segLogits.npy'), 'examples/data/segLogits.npy'),
      hostFile(join(data, 'segTarget.npy'), 'examples/data/segTarget.npy'),
      hostFile(join(data, 'weighted', 'classWeight.npy'), 'examples/data/weighted/classWeight.npy'),
      hostFile(join(data, 'weighted', 'segLogits.npy'), 'examples/data/weighted/segLogits.npy'),
      hostFile(join(data, 'weighted', 'segTarget.npy'), 'examples/data/weighted/segTarget.npy'),
    ];
    const context = await newPanelContext(browser, lightModern);
    const { page, log } = await openPanel(context, server.origin, files, { call: { uri: 'file:///workspace/train.ts', call: segCall } });
    await idle(page);
    const before = await outcomes(page);
    const choose = async (selector: string, label: RegExp) => {
      const texts = await page.locator(`${selector} vscode-option`).allInnerTexts();
      const index = texts.findIndex(t => label.test(t));
      expect(index, `${selector} options ${JSON.stringify(texts)}`).toBeGreaterThanOrEqual(0);
      await page.locator(selector).click();
      await page.locator(`${selector} vscode-option`).nth(index).click();
    };
    for (const [role, file] of [['input', 'segLogits.npy'], ['target', 'segTarget.npy']] as const) {
      await choose(`#${role}-source`, /^Workspace file$/);
      await page.waitForSelector(`#${role}-file`);
      await choose(`#${role}-file`, new RegExp(`^examples/data/${file.replace('.', '\\.')}`));
    }
    // Assembling the batch ran nothing; Evaluate runs it once.
    expect(await outcomes(page)).toBe(before);
    await page.locator('#run').click();
    await idle(page, before);
    expect(await outcomes(page)).toBe(before + 1);
    const expected = conformanceCase('nchw_mean').expected_value!;
    expect(Math.abs((await lossValue(page)) - expected)).toBeLessThan(1e-5 * expected);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('re-reads a file that changed on disk and evaluates again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tl-panel-changed-'));
    const logits = join(dir, 'input.npy');
    copyFileSync(join(conformance, 'torch-ce', 'nchw_mean', 'input.npy'), logits);
    const files = [hostFile(logits, 'batch/input.npy'), hostFile(join(conformance, 'torch-ce', 'nchw_mean', 'target.npy'), 'batch/target.npy')];
    const context = await newPanelContext(browser, lightModern);
    try {
      const { page, host, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
      await idle(page);
      const first = await lossValue(page);
      expect(Math.abs(first - conformanceCase('nchw_mean').expected_value!)).toBeLessThan(1e-4);
      // Same shape, other values: what a training script saving a new batch does.
      copyFileSync(join(conformance, 'torch-ce', 'nchw_weight_ignore_255', 'input.npy'), logits);
      const reads = host.received.filter(m => m.type === 'readFile').length;
      const n = await outcomes(page);
      await host.post({ type: 'fileChanged', fileId: files[0].fileId });
      await idle(page, n);
      expect(host.received.filter(m => m.type === 'readFile').length).toBe(reads + 1);
      expect(await lossValue(page)).not.toBe(first);
      expect(log.errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('evaluates tensor literals from the code (nc_mean values as a call would carry them)', async () => {
    const c = conformanceCase('nc_mean');
    const read = (role: string) => readNpy(role, readFileSync(join(conformance, 'torch-ce', c.inputs[role])));
    const x = read('input'), t = read('target');
    const call: LossCall = {
      ...segCall,
      input: { shape: [...x.shape], shapeText: `[${x.shape.join(', ')}]`, dtype: 'float32', text: 'tensor([[…]])', values: Array.from(x.data as Float32Array) },
      target: { shape: [...t.shape], shapeText: `[${t.shape.join(', ')}]`, dtype: 'int64', text: 'tensor([…])', values: Array.from(t.data as BigInt64Array, Number) },
      knownDims: {},
    };
    const context = await newPanelContext(browser, lightModern);
    const { page, log } = await openPanel(context, server.origin, [], { call: { uri: 'file:///workspace/train.ts', call } });
    await idle(page);
    expect(await page.locator('#input-source').evaluate(e => (e as HTMLSelectElement).value)).toBe('literal');
    expect(Math.abs((await lossValue(page)) - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
    expect(await page.locator('#ln-c').count()).toBe(0); // not random logits: no ln C
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('evaluates TF.js-layout logits [N, H, W, C] with the class axis set to last', async () => {
    const c = conformanceCase('nchw_mean');
    const x = readNpy('input.npy', readFileSync(join(conformance, 'torch-ce', c.inputs.input)));
    const [n, ch, h, w] = x.shape;
    const nhwc = new Float32Array(x.data.length);
    for (let b = 0; b < n; b++) for (let k = 0; k < ch; k++) for (let i = 0; i < h * w; i++) {
      nhwc[(b * h * w + i) * ch + k] = (x.data as Float32Array)[(b * ch + k) * h * w + i];
    }
    const dir = mkdtempSync(join(tmpdir(), 'tl-panel-nhwc-'));
    writeFileSync(join(dir, 'logits.npy'), writeNpy({ dtype: 'float32', shape: [n, h, w, ch], data: nhwc }));
    const files = [hostFile(join(dir, 'logits.npy'), 'nhwc/logits.npy'), hostFile(join(conformance, 'torch-ce', c.inputs.target), 'nhwc/target.npy')];
    const context = await newPanelContext(browser, lightModern);
    try {
      const { page, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
      await idle(page);
      // Class dim 1 reads [2, 6, 7, 5] as 6 classes: PyTorch's size error.
      expect(await page.locator('#error .error-text').textContent()).toBe('RuntimeError: size mismatch (got input: [2, 6, 7, 5] , target: [2, 6, 7]');
      const k = await outcomes(page);
      await page.locator('#class-axis').click();
      await page.locator('#class-axis vscode-option[value="last"]').click();
      await idle(page, k);
      expect(Math.abs((await lossValue(page)) - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
      expect(await page.locator('#result-meta').textContent()).toContain('input [2, 5, 6, 7] → target [2, 6, 7]');
      expect(log.errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes weight and ignore_index from the panel (nchw_weight_ignore_255)', async () => {
    const c = conformanceCase('nchw_weight_ignore_255');
    const files = caseFiles('nchw_weight_ignore_255');
    const context = await newPanelContext(browser, lightModern);
    const { page, host, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
    await idle(page);
    const weight = files.find(f => f.label.endsWith('weight.npy'))!;
    await host.post({ type: 'useFile', file: { file: weight, role: 'weight' } });
    await page.waitForSelector('#weight-file');
    await idle(page, 1);
    const n = await outcomes(page);
    await page.locator('#ignore-index input').fill('255');
    await idle(page, n);
    expect(Math.abs((await lossValue(page)) - c.expected_value!) / c.expected_value!).toBeLessThan(1e-5);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it("shows PyTorch's exact error for a bad target, and clears the editor note", async () => {
    const c = conformanceCase('err_target_out_of_bounds');
    const files = caseFiles('err_target_out_of_bounds');
    const context = await newPanelContext(browser, lightModern);
    const { page, host, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
    await idle(page);
    expect(await page.locator('#error .error-text').textContent()).toBe(`${c.error!.type}: ${c.error!.message}`);
    expect(await page.locator('#error .error-text').textContent()).toBe('IndexError: Target 5 is out of bounds.');
    await host.waitFor(m => m.type === 'clearResult');
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('reproduces the [N, 1, H, W] mask error of a call from the CodeLens', async () => {
    const context = await newPanelContext(browser, lightModern);
    const bad: LossCall = { ...segCall, target: { shape: ['N', 1, 'H', 'W'], shapeText: '[N, 1, H, W]', dtype: 'int64', text: 'masks' } };
    const { page, log } = await openPanel(context, server.origin, [], { call: { uri: 'file:///workspace/train.ts', call: bad } });
    await idle(page);
    expect(await page.locator('#error .error-text').textContent())
      .toBe('RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4');
    expect(await page.locator('#error-fix').textContent()).toBe('The target [4, 1, 16, 16] has a channel dim of size 1: target.squeeze(1) gives [4, 16, 16].');
    await page.screenshot({ path: screenshotPath('loss-panel-error') });
    // Fixing the target shape in the panel (what .squeeze(1) does) evaluates.
    const n = await outcomes(page);
    await page.locator('#target-shape input').fill('[N, H, W]');
    await idle(page, n);
    expect(Math.abs((await lossValue(page)) - Math.log(21))).toBeLessThan(0.01);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('cancels a long evaluation, and a new evaluation replaces a running one', async () => {
    const context = await newPanelContext(browser, lightModern);
    const { page, log } = await openPanel(context, server.origin, []);
    await idle(page);
    // [16, 21, 256, 256] = 22 M logits: seconds of work in the worker (generation, loss, details).
    await page.locator('#input-shape input').fill('[N, C, H, W]');
    await page.locator('#dim-N input').fill('16');
    await page.locator('#dim-C input').fill('21');
    await page.locator('#dim-H input').fill('256');
    await page.locator('#dim-W input').fill('256');
    await page.waitForFunction(() => document.body.dataset.busy === 'true');
    await page.waitForFunction(() => !document.querySelector('#cancel')!.hasAttribute('hidden'));
    // Generating 22 M random logits reports its progress as it goes.
    await page.waitForSelector('#progress [role="progressbar"]', { timeout: 20_000 });
    expect(await page.locator('#progress .stage').textContent()).toMatch(/^Generating random logits \[16, 21, 256, 256\]/);
    await page.screenshot({ path: screenshotPath('loss-panel-progress') });
    // The page stays responsive while the worker computes.
    const t0 = Date.now();
    expect(await page.evaluate(() => 1 + 1)).toBe(2);
    expect(Date.now() - t0).toBeLessThan(1000);
    await page.locator('#cancel').click();
    await page.waitForSelector('#cancelled');
    expect(await page.evaluate(() => document.body.dataset.busy)).toBe('false');
    // Start the big one again, then shrink it while it runs: the small one's result wins.
    await page.locator('#run').click();
    await page.waitForFunction(() => document.body.dataset.busy === 'true');
    await page.locator('#dim-H input').fill('4');
    await page.locator('#dim-W input').fill('4');
    await idle(page);
    expect(await page.locator('#result-meta').textContent()).toContain('input [16, 21, 4, 4]');
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('restores its settings after a reload (setState/getState) and evaluates again', async () => {
    const context = await newPanelContext(browser, lightModern);
    const { page, log } = await openPanel(context, server.origin, []);
    await idle(page);
    const n = await outcomes(page);
    await page.locator('#label-smoothing input').fill('0.25');
    await idle(page, n);
    expect(await page.evaluate(() => (JSON.parse(sessionStorage.getItem('vscode-state') ?? '{}') as { labelSmoothing?: number }).labelSmoothing)).toBe(0.25);
    const before = await lossValue(page);
    await page.reload();
    await idle(page);
    expect(await page.locator('#label-smoothing').evaluate(e => (e as HTMLInputElement).value)).toBe('0.25');
    expect(await lossValue(page)).toBe(before);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  it('lists 200,000 per-sample losses virtualised, sorted and scrollable', async () => {
    const context = await newPanelContext(browser, darkModern);
    const { page, log } = await openPanel(context, server.origin, []);
    await idle(page);
    let n = await outcomes(page);
    await page.locator('#dim-N input').fill('200000');
    await idle(page, n);
    n = await outcomes(page);
    await page.locator('#reduction').click();
    await page.locator('#reduction vscode-option[value="none"]').click();
    await idle(page, n);
    await page.waitForSelector('#samples');
    expect(await page.locator('#samples h2').textContent()).toBe('Per-sample losses (200,000)');
    // 2 M logits: the engine's worker pool (nested workers from the same Blob) computes it on every core.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    if (cores >= 2) expect(await page.locator('#result-meta').textContent()).toContain(`× ${Math.min(8, cores)} workers`);
    expect(await page.locator('#samples .sample-row').count()).toBeLessThan(30);
    await page.locator('#samples .sample-list-viewport').evaluate(e => { e.scrollTop = e.scrollHeight; e.dispatchEvent(new Event('scroll')); });
    await page.waitForFunction(() => [...document.querySelectorAll('#samples .sample-row .idx')].some(x => x.textContent === '199999'));
    await page.locator('#sort-by-loss').click();
    const top = (await page.locator('#samples .sample-row .val').allTextContents()).slice(0, 3).map(Number);
    expect(top[0]).toBeGreaterThanOrEqual(top[1]);
    expect(top[1]).toBeGreaterThanOrEqual(top[2]);
    expect(log.errors).toEqual([]);
    await context.close();
  });

  for (const theme of [lightModern, darkModern]) {
    it(`renders the heatmap, per-sample list, classes and steps (${theme.name} theme screenshot)`, async () => {
      const files = caseFiles('nchw_weight_ignore_255');
      const context = await newPanelContext(browser, theme);
      const { page, host, log } = await openPanel(context, server.origin, files, { preselect: { file: files[0] } });
      await idle(page);
      await host.post({ type: 'useFile', file: { file: files.find(f => f.label.endsWith('weight.npy'))!, role: 'weight' } });
      await page.waitForSelector('#weight-file');
      await idle(page, 1);
      let n = await outcomes(page);
      await page.locator('#ignore-index input').fill('255');
      await idle(page, n);
      n = await outcomes(page);
      // Choose reduction 'none' in the dropdown as a user does: open it, click the option.
      await page.locator('#reduction').click();
      await page.locator('#reduction vscode-option[value="none"]').click();
      await idle(page, n);
      await page.waitForSelector('#samples', { timeout: 20_000 });
      expect(await page.locator('#heatmap-canvas').count()).toBe(1);
      expect(await page.locator('.heatmap-caption').textContent()).toMatch(/sample 1 of 2 · 6×7 · \d+ ignored \(hatched\)/);
      await page.locator('#heatmap vscode-button[aria-label="Next sample"]').click();
      expect(await page.locator('.heatmap-caption').textContent()).toMatch(/^sample 2 of 2/);
      await page.locator('#heatmap vscode-button[aria-label="Previous sample"]').click();
      expect(await page.locator('#samples .sample-row').count()).toBe(2);
      // Sorting by loss puts the larger per-sample loss first.
      await page.locator('#sort-by-loss').click();
      const rows = await page.locator('#samples .sample-row .val').allTextContents();
      expect(Number(rows[0])).toBeGreaterThanOrEqual(Number(rows[1]));
      await page.screenshot({ path: screenshotPath(`loss-panel-${theme.name}`), fullPage: true });
      expect(await violations(page)).toEqual([]);
      expect(log.errors).toEqual([]);
      await context.close();
    });
  }
});
