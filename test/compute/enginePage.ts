// A headless Chromium page serving the engine's browser bundles from a routed origin (nothing
// listens): the page script, the worker script and the wasm builds, optionally with headers (COOP +
// COEP for cross-origin isolation). Shared by the browser pool tests.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './conformanceHelpers';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Bundles TypeScript source (resolved from the repository root) for the browser. */
export async function bundleForBrowser(contents: string): Promise<string> {
  const r = await esbuild.build({
    stdin: { contents, resolveDir: repoRoot, loader: 'ts' }, bundle: true, write: false, format: 'iife', platform: 'browser',
    target: 'chrome120', logLevel: 'error',
  });
  return r.outputFiles[0]!.text;
}

export interface EnginePageOptions {
  readonly origin: string;
  readonly title: string;
  /** Module source whose side effects set up the page (it runs as `/page.js`). */
  readonly pageSource: string;
  /** Wasm builds from dist/compute, served as `/<name>`. */
  readonly wasm: readonly string[];
  readonly headers?: Record<string, string>;
}

/** Launches Chromium and opens the page; `/worker.js` is the engine's browser worker. */
export async function openEnginePage(o: EnginePageOptions): Promise<{ browser: Browser; page: Page }> {
  const files: Record<string, [string, Buffer | string]> = {
    '/': ['text/html', `<!doctype html><meta charset="utf-8"><title>${o.title}</title>`],
    '/page.js': ['text/javascript', await bundleForBrowser(o.pageSource)],
    '/worker.js': ['text/javascript', await bundleForBrowser(`import './compute/browser/worker';`)],
  };
  for (const f of o.wasm) files[`/${f}`] = ['application/wasm', readFileSync(join(repoRoot, 'dist', 'compute', f))];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = await browser.newPage();
  await page.route(`${o.origin}/**`, route => {
    const f = files[new URL(route.request().url()).pathname];
    if (!f) return route.fulfill({ status: 404, body: '' });
    return route.fulfill({ status: 200, contentType: f[0], body: f[1] as Buffer, headers: o.headers });
  });
  await page.goto(`${o.origin}/`);
  await page.addScriptTag({ url: `${o.origin}/page.js` });
  return { browser, page };
}
