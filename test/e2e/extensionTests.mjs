// Runs extTests/index.js inside code-server's extension host (the extensionTestsPath contract of
// @vscode/test-electron) and collects its per-check results.
//
// The workbench calls `window.codeAutomationLog(type, args)` for the extension host's console and
// `window.codeAutomationExit(code)` when the test module's run() settles; we expose both before the
// page loads. Each check is printed by the module as one `TL_E2E_RESULT {json}` line.
import fs from 'node:fs';
import path from 'node:path';
import { E2E_DIR } from './lib/codeServer.mjs';
import { recordPage, workbenchUrl } from './lib/browser.mjs';

const TESTS = path.join(E2E_DIR, 'extTests', 'index.js');
const MARK = 'TL_E2E_RESULT ';
/** Every example opened, analysed, hovered, fixed and reverted: minutes on 2 busy cores, not seconds. */
const TIMEOUT_MS = 300_000;

export async function runExtensionTests({ context, baseUrl, workspace, extensionDir, resultsFile, artifacts, log }) {
  const page = context.pages()[0] ?? await context.newPage();
  recordPage(page, log);
  const checks = [];
  let done;
  const exited = new Promise((resolve) => { done = resolve; });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    for (const line of text.split('\n')) {
      const at = line.indexOf(MARK);
      if (at >= 0) {
        try {
          const r = JSON.parse(line.slice(at + MARK.length));
          checks.push(r);
          log(`${r.ok ? 'PASS' : 'FAIL'} ext-tests ${r.id}${r.ok ? '' : `\n    ${String(r.detail).replace(/\n/g, '\n    ')}`}`);
        } catch (e) {
          log(`[ext-host] unparsable result line: ${line.slice(0, 300)}`);
        }
      } else if (line.trim()) {
        log(`[ext-host ${type}] ${line.slice(0, 500)}`);
      }
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => done(code));
  const t0 = Date.now();
  await page.goto(workbenchUrl(baseUrl, workspace, { devPath: extensionDir, testsPath: TESTS }));
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), TIMEOUT_MS))]);
  const ms = Date.now() - t0;
  await page.screenshot({ path: path.join(artifacts, 'ext-tests-final.png') }).catch(() => {});
  fs.writeFileSync(resultsFile, JSON.stringify({ exitCode: code, ms, checks }, null, 2));
  const out = checks.map((c) => ({ id: c.id, title: c.title ?? c.id, ok: !!c.ok, detail: c.detail ?? '', ms: c.ms ?? 0 }));
  if (code === 'timeout') {
    out.push({ id: 'ext-tests-exit', title: 'the extension-host test run finishes', ok: false, detail: `no exit after ${TIMEOUT_MS / 1000} s`, ms });
  } else if (code !== 0 && !out.some((c) => !c.ok)) {
    out.push({ id: 'ext-tests-exit', title: 'the extension-host test run finishes', ok: false, detail: `run() failed (exit ${code}) before reporting a failed check; see the log above`, ms });
  } else if (!out.length) {
    out.push({ id: 'ext-tests-exit', title: 'the extension-host test run finishes', ok: false, detail: `exit ${code} but no check reported a result`, ms });
  }
  log(`extension-host tests: exit ${code} after ${(ms / 1000).toFixed(1)} s, ${checks.length} checks`);
  return out;
}
