// Drives Debian's Chromium (playwright-core) against the code-server workbench: launch, open a folder
// with an optional extension-development payload, and the few workbench gestures the tests share.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { E2E_DIR } from './codeServer.mjs';

// playwright-core comes from this folder's own package (test/e2e/node_modules), like code-server.
const require = createRequire(path.join(E2E_DIR, 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Generous on a shared 2-core machine: the workbench, the extension host and tsserver compete. */
export const WORKBENCH_TIMEOUT = 90_000;
export const FEATURE_TIMEOUT = 60_000;

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run test/e2e/setup.sh (apt-get install chromium)`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    // Offline machine: no background requests that would only fail and slow the start.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * The workbench URL for `folder`, with `extensionDevelopmentPath` / `extensionTestsPath` passed the
 * way the desktop CLI flags are, through the `payload` query parameter. The remote authority must be
 * the host:port the browser uses.
 */
export function workbenchUrl(base, folder, { devPath, testsPath } = {}) {
  let url = `${base}/?folder=${encodeURIComponent(folder)}`;
  const authority = new URL(base).host;
  const payload = [];
  if (devPath) payload.push(['extensionDevelopmentPath', `vscode-remote://${authority}${devPath}`]);
  if (testsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${testsPath}`]);
  if (payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/** Collects what the page reports (console errors, failed requests) for the run's log. */
export function recordPage(page, log) {
  page.on('pageerror', (e) => log(`[page error] ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') log(`[console error] ${m.text().slice(0, 300)}`); });
  page.on('requestfailed', (r) => {
    // code-server ships without vsda; these 404/failed loads are expected noise.
    if (/vsda/.test(r.url())) return;
    log(`[request failed] ${r.url().slice(0, 200)} ${r.failure()?.errorText ?? ''}`);
  });
}

/** The text of a monaco view line as a user reads it (non-breaking spaces are what monaco renders). */
export function normaliseRendered(text) {
  return text.replace(/\u00a0/g, ' ').replace(/\u200b/g, '');
}
