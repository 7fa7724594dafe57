// Fuzzes the built language server over a real stdio connection, as an editor drives it: documents
// from the corpus and random programs, random edits sent as incremental changes, and hover, inlay
// hint, code action and CodeLens requests interleaved (some at positions past the end). The server
// must answer every request within a time bound, never exit, never report an internal error, and
// stay within a memory bound; at the end it must shut down cleanly.
//
// The edit sequence is one stream from FUZZ_SEED (each step builds on the last), so a failure is
// replayed by the seed alone; the failing document is saved. Count: FUZZ_COUNT / 10, at least 40 steps.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMessageConnection, StreamMessageReader, StreamMessageWriter, ResponseError, type MessageConnection,
} from 'vscode-jsonrpc/node';
import { ROOT, applyMutation, fuzzConfig, genMutation, genProgram, loadCorpus, rng, type Mutation } from './fuzzKit';

const cfg = fuzzConfig();
const SERVER = join(ROOT, 'dist', 'server', 'server.js');
const STEPS = cfg.only !== undefined ? 40 : Math.max(40, Math.floor(cfg.count / 10));
/** One request on a busy 2-core machine, analysis included. */
const REQUEST_MS = Math.max(10_000, cfg.caseMs * 2);
/** Peak resident memory of the server process. */
const MAX_RSS_MB = 1536;
/** JSON-RPC errors an editor expects from a busy server: cancelled, content modified, server cancelled. */
const BENIGN_ERRORS = new Set([-32800, -32801, -32802]);

interface Pos { line: number; character: number }

/** LSP positions (UTF-16) of an offset, as an editor computes them. */
function positionAt(text: string, offset: number): Pos {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return { line, character: Math.min(offset, text.length) - lineStart };
}

describe('language server fuzz', () => {
  let proc: ChildProcess | null = null;
  let conn: MessageConnection | null = null;
  let workspace = '';
  const serverErrors: string[] = [];
  let stderr = '';

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'tl-fuzz-ws-'));
  });

  afterAll(() => {
    conn?.dispose();
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(workspace, { recursive: true, force: true });
  });

  it(`answers every request, never exits, reports no internal error (seed ${cfg.seed}, ${STEPS} steps)`, async () => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: build first (node scripts/build.mjs, or npm test which builds)`);
    const p = spawn(process.execPath, [SERVER, '--stdio'], { cwd: workspace, stdio: ['pipe', 'pipe', 'pipe'] });
    proc = p;
    p.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    const c = createMessageConnection(new StreamMessageReader(p.stdout!), new StreamMessageWriter(p.stdin!));
    conn = c;
    const published = new Map<string, unknown[]>();
    let publishes = 0;
    c.onNotification('textDocument/publishDiagnostics', (params: { uri: string; diagnostics: { code?: unknown; message: string }[] }) => {
      published.set(params.uri, params.diagnostics);
      publishes++;
      // TL9001 is the analysis catching a bug of its own: a finding, even though the server survived it.
      const internal = params.diagnostics.find((d) => d.code === 'TL9001');
      if (internal) serverErrors.push(`published TL9001: ${internal.message}`);
    });
    // window/showMessage errors are how the server reports an internal error once; log errors likewise.
    c.onNotification('window/showMessage', (m: { type: number; message: string }) => { if (m.type === 1) serverErrors.push(`showMessage: ${m.message}`); });
    c.onNotification('window/logMessage', (m: { type: number; message: string }) => { if (m.type === 1) serverErrors.push(`logMessage: ${m.message}`); });
    c.onNotification(() => { /* progress, status and telemetry notifications */ });
    // Server → client requests an editor answers: configuration (defaults), registrations, refreshes, progress.
    c.onRequest((method: string, params: unknown) => {
      if (method === 'workspace/configuration') return ((params as { items?: unknown[] }).items ?? []).map(() => null);
      return null;
    });
    c.listen();

    const rootUri = pathToFileURL(workspace).href;
    const init = await withTimeout(c.sendRequest('initialize', {
      processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: 'fuzz' }],
      capabilities: {
        textDocument: {
          synchronization: { didSave: true },
          hover: { contentFormat: ['markdown', 'plaintext'] },
          inlayHint: {},
          codeLens: {},
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor', 'source'] } }, isPreferredSupport: true },
          publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true },
        },
        workspace: { configuration: true, workspaceFolders: true },
        window: { workDoneProgress: true },
      },
    }), REQUEST_MS, 'initialize') as { capabilities: { textDocumentSync?: number | { change?: number } } };
    const sync = typeof init.capabilities.textDocumentSync === 'number' ? init.capabilities.textDocumentSync : init.capabilities.textDocumentSync?.change ?? 1;
    await c.sendNotification('initialized', {});

    const r = rng(cfg.seed);
    const corpus = loadCorpus();
    let docNo = 0;
    let uri = '';
    let text = '';
    let version = 0;
    let lastMutation: Mutation | null = null;
    let step = 0;
    const answered = { hover: 0, inlay: 0, codeAction: 0, codeLens: 0, benign: 0 };

    const fail = (why: string): never => {
      const saved = join(tmpdir(), `tensor-lens-server-fuzz-${cfg.seed}-${step}.ts`);
      writeFileSync(saved, text);
      throw new Error(`server fuzz failed at step ${step} of ${STEPS} with seed ${cfg.seed}: ${why}\n`
        + `document saved to ${saved}; last edit ${JSON.stringify(lastMutation)}\n`
        + `replay: FUZZ_SEED=${cfg.seed}${process.env.FUZZ_COUNT ? ` FUZZ_COUNT=${process.env.FUZZ_COUNT}` : ''} npx vitest run test/fuzz/server.test.ts\n`
        + `server stderr (tail): ${stderr.slice(-1500)}`);
    };
    const request = async (method: string, params: unknown, kind: keyof typeof answered) => {
      try {
        await withTimeout(c.sendRequest(method, params), REQUEST_MS, method);
        answered[kind]++;
      } catch (e) {
        if (e instanceof ResponseError && BENIGN_ERRORS.has(e.code)) { answered.benign++; return; }
        if (e instanceof ResponseError) fail(`${method} answered with error ${e.code}: ${e.message}`);
        fail(`${method}: ${(e as Error).message}`);
      }
    };
    const open = async () => {
      if (uri) await c.sendNotification('textDocument/didClose', { textDocument: { uri } });
      const src = r.chance(0.7) ? r.pick(corpus).text : genProgram(r);
      uri = pathToFileURL(join(workspace, `doc${docNo++}.ts`)).href;
      text = src;
      version = 1;
      await c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version, text } });
    };

    await open();
    for (step = 0; step < STEPS; step++) {
      if (p.exitCode !== null || p.signalCode !== null) fail(`the server exited (code ${p.exitCode}, signal ${p.signalCode})`);
      if (r.chance(0.08)) {
        await open();
      } else {
        for (let k = r.chance(0.7) ? 1 : r.range(2, 6); k > 0; k--) {
          const m = genMutation(r, text);
          lastMutation = m;
          const before = text;
          text = applyMutation(text, m);
          version++;
          const change = sync === 2
            ? { range: { start: positionAt(before, m.start), end: positionAt(before, m.end) }, text: m.newText }
            : { text };
          await c.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
        }
      }
      const end = positionAt(text, text.length);
      const at = () => (r.chance(0.05) ? { line: end.line + r.range(1, 1_000_000), character: r.int(1000) } : positionAt(text, r.int(text.length + 1)));
      const jobs: Promise<void>[] = [];
      if (r.chance(0.8)) jobs.push(request('textDocument/hover', { textDocument: { uri }, position: at() }, 'hover'));
      if (r.chance(0.5)) jobs.push(request('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end } }, 'inlay'));
      if (r.chance(0.5)) {
        const a = at();
        jobs.push(request('textDocument/codeAction', {
          textDocument: { uri }, range: { start: a, end: a },
          context: { diagnostics: (published.get(uri) ?? []).slice(0, 5), triggerKind: 1 },
        }, 'codeAction'));
      }
      if (r.chance(0.4)) jobs.push(request('textDocument/codeLens', { textDocument: { uri } }, 'codeLens'));
      await Promise.all(jobs);
      // Now and then let the debounced analysis publish, as a pausing typist would.
      if (r.chance(0.15)) await new Promise((res) => setTimeout(res, 250));
      if (serverErrors.length) fail(`the server reported an internal error: ${serverErrors.join(' | ').slice(0, 1500)}`);
    }

    const rss = peakRssMb(p.pid!);
    if (rss !== null && rss > MAX_RSS_MB) fail(`peak resident memory ${rss} MB exceeds ${MAX_RSS_MB} MB`);
    await withTimeout(c.sendRequest('shutdown'), REQUEST_MS, 'shutdown');
    const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
    await c.sendNotification('exit');
    const code = await withTimeout(exited, 10_000, 'exit after shutdown');
    console.log(`server fuzz: seed ${cfg.seed}, ${STEPS} steps over ${docNo} documents, answered ${JSON.stringify(answered)}, ${publishes} diagnostics publications, peak RSS ${rss ?? '?'} MB, exit ${code}`);
    expect(code).toBe(0);
    expect(publishes).toBeGreaterThan(0);
    expect(answered.hover + answered.inlay + answered.codeAction + answered.codeLens).toBeGreaterThan(STEPS / 2);
  }, 60_000 + STEPS * 2_000);
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]);
}

function peakRssMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}
