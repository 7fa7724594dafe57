#!/usr/bin/env node
// `npm run test:e2e`: packages the extension, installs the .vsix into a fresh code-server, and runs the
// user journey (Playwright) and the extension-host tests (extensionTestsPath) against it.
//
// Usage: node test/e2e/run.mjs [--vsix file.vsix] [--no-package] [--only journey|ext-tests] [--keep-state]
//   --vsix        install this .vsix instead of running `npm run package`
//   --no-package  reuse the newest *.vsix in the repository root
//   --only        run one of the two suites
//   --keep-state  leave the state folder (test/e2e/.state) for inspection
//   --examples    open this folder instead of examples/ (to debug the harness on a hand-made file)
// Needs test/e2e/setup.sh to have run (chromium, code-server). Screenshots and logs: test/e2e/artifacts/.
// Exit code: 0 when every step passed, 1 otherwise.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { E2E_DIR, installVsix, killAllSync, makeState, startCodeServer, tail } from './lib/codeServer.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { runJourney } from './journey.mjs';
import { runExtensionTests } from './extensionTests.mjs';

const ROOT = path.resolve(E2E_DIR, '..', '..');
const ARTIFACTS = path.join(E2E_DIR, 'artifacts');
// One state folder per run: a second run started meanwhile (another terminal, CI) cannot delete ours.
const STATE_DIR = path.join(E2E_DIR, '.state', `run-${process.pid}-${Date.now().toString(36)}`);
const CONFORMANCE = path.join(ROOT, '..', 'shared', 'conformance', 'torch-ce');

/** Sample batch in examples/data and the conformance case it was copied from (see examples/data/README.md). */
const SAMPLE = { caseName: 'nchw_mean', files: { input: 'data/segLogits.npy', target: 'data/segTarget.npy' }, from: { input: 'input.npy', target: 'target.npy' } };
/** Files the packaged extension cannot work without (paths inside the installed extension folder). */
const REQUIRED_IN_PACKAGE = [
  'package.json', 'dist/client/extension.js', 'dist/server/server.js',
  'dist/webview/main.js', 'dist/webview/worker.js', 'dist/webview/toolkit.min.js', 'dist/compute/ce-simd.wasm',
];

const args = parseArgs(process.argv.slice(2));
const t0 = Date.now();
const logLines = [];
const log = (msg) => {
  const line = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`;
  logLines.push(line);
  console.log(line);
};

let browser = null;
let server = null;
let finishing = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    // A second signal, or one after the run has finished, ends the process at once ('exit' still kills the groups).
    if (finishing) process.exit(130);
    finishing = true;
    console.error(`\n${sig}: stopping code-server and Chromium`);
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    killAllSync();
    if (!args.keepState) fs.rmSync(STATE_DIR, { recursive: true, force: true });
    process.exit(130);
  });
}
process.on('exit', () => killAllSync());

const results = [];
try {
  await main();
} catch (e) {
  results.push({ suite: 'harness', id: 'harness', title: 'the e2e harness itself', ok: false, detail: e?.stack ?? String(e), ms: 0 });
  log(`HARNESS FAILURE: ${e?.stack ?? e}`);
} finally {
  finishing = true;
  await browser?.close().catch(() => {});
  await server?.stop().catch(() => {});
  killAllSync();
  if (!args.keepState) fs.rmSync(STATE_DIR, { recursive: true, force: true });
}
report();
// Everything is stopped and written; a lingering handle (a child's pipe, a Playwright socket) must not
// keep CI waiting on a finished run.
process.exit(process.exitCode ?? 1);

async function main() {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const sample = checkSampleData();
  log(`sample batch: ${SAMPLE.files.input}, ${SAMPLE.files.target} = conformance ${SAMPLE.caseName}, PyTorch ${sample.expectedValue}`);

  // 0. The package: build it, install it into a fresh extensions folder, check what it holds.
  const state = makeState(STATE_DIR);
  const pkg = await step('package', '0-package', 'npm run package builds a .vsix; code-server installs it; it holds every bundle, the wasm and the webview assets', async () => {
    const vsix = args.vsix ? path.resolve(args.vsix) : args.noPackage ? newestVsix() : buildVsix();
    const { dir, output } = installVsix(state, vsix);
    const missing = REQUIRED_IN_PACKAGE.filter((f) => !fs.existsSync(path.join(dir, 'extension', f)) && !fs.existsSync(path.join(dir, f)));
    const root = fs.existsSync(path.join(dir, 'extension', 'package.json')) ? path.join(dir, 'extension') : dir;
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const main = manifest.main && path.join(root, manifest.main.endsWith('.js') ? manifest.main : `${manifest.main}.js`);
    if (main && !fs.existsSync(main)) missing.push(`${manifest.main} (package.json "main")`);
    if (missing.length) throw new Error(`the installed package at ${dir} lacks: ${missing.join(', ')}`);
    return { detail: `${path.relative(ROOT, vsix)} (${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB) installed to ${path.basename(dir)}: ${oneLine(output)}`, dir: root };
  });

  server = await startCodeServer(state);
  log(`code-server pid ${server.pid} on ${server.url} (log ${path.relative(ROOT, state.log)})`);

  if (!args.only || args.only === 'journey') {
    const workspace = copyExamples(path.join(state.root, 'journey'));
    browser = await launchBrowser();
    // Without an installed package the journey still runs against the development copy (the repository,
    // as F5 would load it), so the other steps still say what works; the package step has failed already.
    const devPath = pkg ? undefined : fallbackDevPath();
    const steps = await runJourney({ context: browser.context, baseUrl: server.url, workspace, artifacts: ARTIFACTS, sample, log, devPath });
    for (const s of steps) results.push({ suite: 'journey', ...s });
    await browser.close();
    browser = null;
  }

  if (!args.only || args.only === 'ext-tests') {
    const workspace = copyExamples(path.join(state.root, 'ext-tests'));
    const extensionDir = pkg?.dir ?? fallbackDevPath();
    if (!extensionDir) {
      results.push({ suite: 'ext-tests', id: 'ext-tests', title: 'extension-host tests', ok: false, detail: 'not run: no installed package and no built dist/client/extension.js', ms: 0 });
    } else {
      browser = await launchBrowser();
      const outcome = await runExtensionTests({
        context: browser.context, baseUrl: server.url, workspace, extensionDir,
        resultsFile: path.join(ARTIFACTS, 'ext-tests.json'), artifacts: ARTIFACTS, log,
      });
      for (const s of outcome) results.push({ suite: 'ext-tests', ...s });
      await browser.close();
      browser = null;
    }
  }
  const csLog = tail(state.log, 400);
  fs.writeFileSync(path.join(ARTIFACTS, 'code-server.log'), csLog);
  copyExtensionHostLogs(state);
}

async function step(suite, id, title, fn) {
  const s0 = Date.now();
  try {
    const r = await fn();
    results.push({ suite, id, title, ok: true, detail: r.detail, ms: Date.now() - s0 });
    log(`PASS ${id} (${((Date.now() - s0) / 1000).toFixed(1)} s): ${title}\n    ${r.detail}`);
    return r;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    results.push({ suite, id, title, ok: false, detail, ms: Date.now() - s0 });
    log(`FAIL ${id} (${((Date.now() - s0) / 1000).toFixed(1)} s): ${title}\n    ${detail.replace(/\n/g, '\n    ')}`);
    return null;
  }
}

function buildVsix() {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  if (!manifest.scripts?.package) throw new Error('package.json has no "package" script (npm run package builds the .vsix)');
  const before = Date.now();
  const r = spawnSync('npm', ['run', 'package'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  fs.writeFileSync(path.join(ARTIFACTS, 'npm-run-package.log'), `${r.stdout}\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`npm run package failed (exit ${r.status}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n')}`);
  const vsix = newestVsix();
  if (fs.statSync(vsix).mtimeMs < before - 1000) throw new Error(`npm run package succeeded but wrote no new .vsix (newest: ${vsix})`);
  log(`npm run package: ${path.relative(ROOT, vsix)} in ${((Date.now() - before) / 1000).toFixed(1)} s`);
  return vsix;
}

function fallbackDevPath() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'client', 'extension.js'))) return undefined;
  log('no installed package: loading the development copy (the repository) through extensionDevelopmentPath');
  return ROOT;
}

function newestVsix() {
  const found = fs.readdirSync(ROOT).filter((f) => f.endsWith('.vsix')).map((f) => path.join(ROOT, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!found.length) throw new Error(`no .vsix in ${ROOT}`);
  return found[0];
}

/** examples/ copied for one suite, so edits in the workbench (the quick fix) never touch the repository. */
function copyExamples(dest) {
  const src = args.examples ? path.resolve(args.examples) : path.join(ROOT, 'examples');
  if (!fs.existsSync(src)) throw new Error(`${src} does not exist`);
  const ws = path.join(dest, 'examples');
  fs.mkdirSync(dest, { recursive: true });
  fs.cpSync(src, ws, { recursive: true });
  return ws;
}

/** The sample files must still be the conformance files; PyTorch's value comes from the manifest. */
function checkSampleData() {
  const manifestPath = path.join(CONFORMANCE, 'manifest.json');
  // Python's json writes NaN and Infinity bare; quote them so JSON.parse reads the file.
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8').replace(/:\s*(-?(?:NaN|Infinity))\b/g, ': "$1"'));
  const c = manifest.find((m) => m.name === SAMPLE.caseName);
  if (!c || typeof c.expected_value !== 'number') throw new Error(`${manifestPath} has no case ${SAMPLE.caseName} with an expected_value`);
  for (const role of ['input', 'target']) {
    const ours = path.join(ROOT, 'examples', SAMPLE.files[role]);
    const theirs = path.join(CONFORMANCE, SAMPLE.caseName, SAMPLE.from[role]);
    if (sha256(ours) !== sha256(theirs)) throw new Error(`examples/${SAMPLE.files[role]} differs from ${theirs}: examples/data/README.md says it is a copy`);
  }
  return { ...SAMPLE, expectedValue: c.expected_value };
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function copyExtensionHostLogs(state) {
  // The extension host's and our output channel's logs land under the user-data logs folder.
  const logs = path.join(state.userData, 'logs');
  if (!fs.existsSync(logs)) return;
  const out = path.join(ARTIFACTS, 'logs');
  fs.cpSync(logs, out, { recursive: true });
}

function report() {
  const lines = ['', 'Tensor Lens end-to-end results', ''];
  for (const r of results) {
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.suite.padEnd(9)} ${r.id.padEnd(32)} ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.title}`);
    if (!r.ok) lines.push(`      ${String(r.detail).split('\n').slice(0, 8).join('\n      ')}`);
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  lines.push('', `total ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots and logs in ${path.relative(ROOT, ARTIFACTS)}/`);
  lines.push(`e2e: ${passed} passed, ${failed} failed`);
  console.log(lines.join('\n'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'summary.json'), JSON.stringify({ elapsedMs: Date.now() - t0, results }, null, 2));
  fs.writeFileSync(path.join(ARTIFACTS, 'run.log'), `${logLines.join('\n')}\n${lines.join('\n')}\n`);
  process.exitCode = failed || !results.length ? 1 : 0;
}

function parseArgs(argv) {
  const a = { vsix: null, noPackage: false, only: null, keepState: false, examples: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--vsix') a.vsix = argv[++i];
    else if (k === '--no-package') a.noPackage = true;
    else if (k === '--only') a.only = argv[++i];
    else if (k === '--keep-state') a.keepState = true;
    else if (k === '--examples') a.examples = argv[++i];
    else {
      console.error(`unknown argument ${k}\nusage: node test/e2e/run.mjs [--vsix file] [--no-package] [--only journey|ext-tests] [--keep-state] [--examples dir]`);
      process.exit(2);
    }
  }
  if (a.only && !['journey', 'ext-tests'].includes(a.only)) {
    console.error(`--only takes journey or ext-tests, not ${a.only}`);
    process.exit(2);
  }
  return a;
}

function oneLine(s) {
  return String(s).replace(/\s+/g, ' ').trim();
}
