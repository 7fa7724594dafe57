// The loss panel in real headless Chromium: the real page (same CSP), the real worker and wasm
// engine, a fake extension host sending tensor files as the extension does. Conformance values and
// error messages come from PyTorch (../shared/conformance/torch-ce).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { LossCall } from '../../server/analysis/api';
import {
  conformance, conformanceCase, ensureBuilt, hostFile, launchBrowser, newPanelContext, openPanel, screenshotPath,
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

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && !!document.querySelector('#loss-value, #error'), undefined, { timeout: 30_000 });
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
});
