// Language server latency over a real stdio connection: open a 4,000-line annotated training file,
// then 10 edits (each flips a loss call between broken and fixed), measuring edit → published
// diagnostics, then 13 keystrokes that mostly leave a syntax error, and hover latency on a settled file. Usage: node bench/lsp.mjs [--lines 4000] [--json]
// (build first: node scripts/build.mjs). `runLspBench()` is exported for bench/run.mjs.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverBundle = join(root, 'dist', 'server', 'server.js');

/** One training step: annotated input, a model call, a loss; `broken` keeps the mask's channel dim. */
function block(i) {
  return [
    `/**`,
    ` * @shape images [N, 3, H, W] float32`,
    ` * @shape masks [N, 1, H, W] int64`,
    ` */`,
    `export function step${i}(images: Tensor, masks: Tensor): Tensor {`,
    `  const logits = model.forward(images);`,
    `  const probs = F.softmax(logits, 1);`,
    `  const flat = logits.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES);`,
    `  const target = masks.squeeze(1);`,
    `  const flatTarget = target.reshape(-1);`,
    `  const pixelLoss = F.crossEntropy(flat, flatTarget);`,
    `  const sumProbs = probs.sum(1);`,
    `  const best = probs.argmax(1);`,
    `  const loss${i} = F.crossEntropy(logits, target);`,
    `  return loss${i}.add(pixelLoss);`,
    `}`,
    ``,
  ];
}

export function generateFile(lines = 4000) {
  const head = [
    `// Generated for the language server benchmark: ${lines} lines of annotated segmentation steps.`,
    `import * as torch from 'js-pytorch';`,
    `import * as F from 'js-pytorch/functional';`,
    `type Tensor = torch.Tensor;`,
    ``,
    `const NUM_CLASSES = 21;`,
    ``,
    `class SegNet {`,
    `  /** @shape x [N, 3, H, W] @shape returns [N, NUM_CLASSES, H, W] */`,
    `  forward(x: Tensor): Tensor { return this.head(x); }`,
    `}`,
    `const model = new SegNet();`,
    ``,
  ];
  const out = [...head];
  let i = 0;
  while (out.length < lines) out.push(...block(i++));
  return { text: out.join('\n'), blocks: i };
}

/**
 * CPU time (user + system, ms) the server process has used so far, from /proc (Linux): on a shared,
 * loaded machine it says what an edit costs even when wall-clock latency mostly measures waiting.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function runLspBench({ lines = 4000, edits = 10, hovers = 20, quiet = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tl-lsp-bench-'));
  const file = join(dir, 'train.ts');
  const { text, blocks } = generateFile(lines);
  writeFileSync(file, text);
  const uri = pathToFileURL(file).href;
  // TL_LSP_NODE_ARGS: extra Node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.TL_LSP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, serverBundle, '--stdio'], { stdio: 'pipe' });
  let stderr = '';
  proc.stderr.on('data', d => (stderr += d));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const waiting = new Map(); // version → resolve
  let lastDiagnostics = [];
  conn.onNotification('textDocument/publishDiagnostics', p => {
    if (p.uri !== uri) return;
    lastDiagnostics = p.diagnostics;
    waiting.get(p.version)?.(performance.now());
  });
  conn.onRequest('workspace/configuration', p => p.items.map(() => ({})));
  conn.onRequest('client/registerCapability', () => null);
  conn.listen();
  const published = version => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no diagnostics for version ${version} within 30 s\n${stderr}`)), 30_000);
    waiting.set(version, at => { clearTimeout(t); resolve(at); });
  });
  try {
    await conn.sendRequest('initialize', {
      processId: process.pid, rootUri: pathToFileURL(dir).href, workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'bench' }],
      capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } } },
    });
    await conn.sendNotification('initialized', {});

    let version = 1;
    const lineTexts = text.split('\n');
    const t0 = performance.now();
    const opened = published(1);
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version, text } });
    const openMs = (await opened) - t0;
    const openDiagnostics = lastDiagnostics.length;

    // Edits: remove `.squeeze(1)` from five blocks spread over the file, then restore it in turn, so
    // the TL2001 count goes 1, 2, … 5, 4, … 0: each edit changes what is published.
    const editMs = [];
    const editCpuMs = [];
    const editDiagnostics = [];
    const brokenBlocks = new Set();
    for (let k = 0; k < edits; k++) {
      const b = Math.floor(((k % 5) + 0.5) * (blocks / 5));
      const broken = brokenBlocks.has(b);
      const lineNo = lineTexts.findIndex(l => l === `  const loss${b} = F.crossEntropy(logits, target);`) - 5;
      const line = lineTexts[lineNo];
      const col = line.indexOf('masks') + 'masks'.length;
      const change = broken
        ? { range: { start: { line: lineNo, character: col }, end: { line: lineNo, character: col } }, text: '.squeeze(1)' }
        : { range: { start: { line: lineNo, character: col }, end: { line: lineNo, character: col + '.squeeze(1)'.length } }, text: '' };
      lineTexts[lineNo] = broken ? line.slice(0, col) + '.squeeze(1)' + line.slice(col) : line.slice(0, col) + line.slice(col + '.squeeze(1)'.length);
      if (broken) brokenBlocks.delete(b);
      else brokenBlocks.add(b);
      version++;
      const done = published(version);
      const cpu0 = cpuMsOf(proc.pid);
      const sent = performance.now();
      await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
      editMs.push((await done) - sent);
      editCpuMs.push(cpuMsOf(proc.pid) - cpu0);
      editDiagnostics.push(lastDiagnostics.filter(d => d.code === 'TL2001').length);
      // A pause between edits, as between a user's keystroke bursts (longer than the debounce).
      await new Promise(r => setTimeout(r, 250));
    }

    // Keystrokes: `.view(-1, 21)` typed one character at a time after `probs.sum(1)` in a block in
    // the middle of the file, a pause after each; most of the texts do not parse (`.view(-`), which
    // is what a file looks like while someone types.
    const typed = '.view(-1, 21)';
    const keyMs = [];
    const keyCpuMs = [];
    {
      const b = Math.floor(blocks / 2);
      const lineNo = lineTexts.findIndex(l => l === `  const loss${b} = F.crossEntropy(logits, target);`) - 2;
      let col = lineTexts[lineNo].indexOf('probs.sum(1)') + 'probs.sum(1)'.length;
      for (const ch of typed) {
        lineTexts[lineNo] = lineTexts[lineNo].slice(0, col) + ch + lineTexts[lineNo].slice(col);
        version++;
        const done = published(version);
        const cpu0 = cpuMsOf(proc.pid);
        const sent = performance.now();
        await conn.sendNotification('textDocument/didChange', {
          textDocument: { uri, version },
          contentChanges: [{ range: { start: { line: lineNo, character: col }, end: { line: lineNo, character: col } }, text: ch }],
        });
        keyMs.push((await done) - sent);
        keyCpuMs.push(cpuMsOf(proc.pid) - cpu0);
        col++;
        await new Promise(r => setTimeout(r, 250));
      }
    }

    // Hover on `logits` declarations across the file, the file settled.
    const hoverMs = [];
    let hoverSample = '';
    const logitLines = lineTexts.map((l, i) => (l.includes('const logits = ') ? i : -1)).filter(i => i >= 0);
    for (let h = 0; h < hovers; h++) {
      const lineNo = logitLines[Math.floor((h + 0.5) * logitLines.length / hovers) % logitLines.length];
      const s = performance.now();
      const res = await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: lineNo, character: lineTexts[lineNo].indexOf('logits') + 2 } });
      hoverMs.push(performance.now() - s);
      if (!hoverSample && res) hoverSample = (typeof res.contents === 'string' ? res.contents : res.contents.value ?? '').split('\n')[0];
    }

    const result = {
      lines: lineTexts.length,
      openMs,
      openDiagnostics,
      edit: { median: median(editMs), max: Math.max(...editMs), samples: editMs },
      /** Server CPU per edit (ms): the cost of an edit independent of the machine's load. */
      editCpu: { median: median(editCpuMs), max: Math.max(...editCpuMs), samples: editCpuMs },
      /** Keystrokes, most of them leaving a syntax error: keystroke → published diagnostics. */
      keystroke: { median: median(keyMs), max: Math.max(...keyMs), samples: keyMs, cpuMedian: median(keyCpuMs) },
      /** TL2001 count after each edit: 1, 2, … 5, 4, … 0 when every edit was really re-analysed. */
      editDiagnostics,
      loadAverage: os.loadavg()[0],
      hover: { median: median(hoverMs), max: Math.max(...hoverMs), samples: hoverMs },
      hoverSample,
    };
    if (!quiet) printTable(result);
    return result;
  } finally {
    try {
      await Promise.race([conn.sendRequest('shutdown'), new Promise(r => setTimeout(r, 2000))]);
      await conn.sendNotification('exit');
    } catch { /* already gone */ }
    setTimeout(() => proc.kill('SIGKILL'), 1000).unref();
    conn.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(r) {
  const f = x => `${x.toFixed(1)} ms`;
  console.log(`language server, ${r.lines}-line annotated file over stdio (${r.openDiagnostics} diagnostics on open)`);
  console.log('| measure | median | max | target |');
  console.log('|---|---|---|---|');
  console.log(`| open → diagnostics | ${f(r.openMs)} | ${f(r.openMs)} | — |`);
  console.log(`| edit → diagnostics (${r.edit.samples.length} edits) | ${f(r.edit.median)} | ${f(r.edit.max)} | ≤ 50 ms / ≤ 200 ms |`);
  console.log(`| server CPU per edit | ${f(r.editCpu.median)} | ${f(r.editCpu.max)} | — |`);
  console.log(`| keystroke → diagnostics (${r.keystroke.samples.length} keys, most leave a syntax error) | ${f(r.keystroke.median)} | ${f(r.keystroke.max)} | — |`);
  console.log(`| hover (${r.hover.samples.length}, settled) | ${f(r.hover.median)} | ${f(r.hover.max)} | — |`);
  console.log(`TL2001 after each edit: ${r.editDiagnostics.join(' ')} (load average ${r.loadAverage.toFixed(1)} on ${os.cpus().length} cores)`);
  if (r.hoverSample) console.log(`hover sample: ${r.hoverSample}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const lines = args.includes('--lines') ? Number(args[args.indexOf('--lines') + 1]) : 4000;
  runLspBench({ lines, quiet: args.includes('--json') })
    .then(r => { if (args.includes('--json')) console.log(JSON.stringify(r, null, 2)); })
    .catch(err => { console.error(err); process.exit(1); });
}
