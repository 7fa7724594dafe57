// A minimal LSP client for tests and the benchmark: spawns the built server over stdio and speaks
// the protocol as an editor does (initialize, document sync, requests, server → client requests).

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type {
  CodeAction,
  CodeLens,
  Diagnostic,
  Hover,
  InitializeResult,
  InlayHint,
  Position,
  PublishDiagnosticsParams,
  Range,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';

export const ROOT = join(__dirname, '..', '..');
export const SERVER_BUNDLE = join(ROOT, 'dist', 'server', 'server.js');

/** Builds dist/ when the server bundle is missing or older than its sources (npm test builds first anyway). */
export function ensureServerBuilt(): void {
  const newest = Math.max(...['server', 'protocol'].map(d => newestMtime(join(ROOT, d))));
  if (existsSync(SERVER_BUNDLE) && statSync(SERVER_BUNDLE).mtimeMs >= newest) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(SERVER_BUNDLE)) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function fileUri(path: string): string {
  return pathToFileURL(path).href;
}

export interface StartOptions {
  /** Workspace folder (a path); none when absent. */
  readonly root?: string;
  /** The `tensorLens` settings section answered to `workspace/configuration`. */
  readonly settings?: Record<string, unknown>;
  readonly initializationOptions?: Record<string, unknown>;
  /** Declare `relatedInformation`, dynamic registration, refresh support… (an editor like VS Code). */
  readonly richClient?: boolean;
}

type Waiter = { check: () => boolean; resolve: () => void };

export class LspTestClient {
  readonly connection: MessageConnection;
  readonly docs = new Map<string, TextDocument>();
  /** Every publishDiagnostics, in order, per URI. */
  readonly published = new Map<string, PublishDiagnosticsParams[]>();
  readonly messages: { type: number; message: string }[] = [];
  readonly logs: string[] = [];
  /** `$/logTrace` messages (sent while `$/setTrace` is on). */
  readonly traces: string[] = [];
  readonly notifications: { method: string; params: unknown }[] = [];
  readonly registrations: { method: string; registerOptions?: unknown }[] = [];
  refreshes = { inlayHint: 0, codeLens: 0 };
  settings: Record<string, unknown>;
  exitCode: number | null | undefined;
  stderr = '';
  private waiters: Waiter[] = [];
  initializeResult!: InitializeResult;

  private constructor(readonly proc: ChildProcessWithoutNullStreams, settings: Record<string, unknown>) {
    this.settings = settings;
    this.connection = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
    proc.stderr.on('data', d => (this.stderr += String(d)));
    proc.on('exit', code => {
      this.exitCode = code;
      this.poke();
    });
    const c = this.connection;
    c.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      const list = this.published.get(p.uri) ?? [];
      list.push(p);
      this.published.set(p.uri, list);
      this.poke();
    });
    c.onNotification('window/showMessage', (p: { type: number; message: string }) => {
      this.messages.push(p);
      this.poke();
    });
    c.onRequest('window/showMessageRequest', (p: { type: number; message: string }) => {
      this.messages.push(p);
      this.poke();
      return null;
    });
    c.onNotification('$/logTrace', (p: { message: string }) => {
      this.traces.push(p.message);
      this.poke();
    });
    c.onNotification('window/logMessage', (p: { message: string }) => {
      this.logs.push(p.message);
    });
    c.onNotification((method: string, params: unknown) => {
      this.notifications.push({ method, params });
      this.poke();
    });
    c.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map(i => (i.section === 'tensorLens' ? this.settings : null)),
    );
    c.onRequest('client/registerCapability', (p: { registrations: { method: string; registerOptions?: unknown }[] }) => {
      this.registrations.push(...p.registrations);
      return null;
    });
    c.onRequest('window/workDoneProgress/create', () => null);
    c.onRequest('workspace/inlayHint/refresh', () => {
      this.refreshes.inlayHint++;
      this.poke();
      return null;
    });
    c.onRequest('workspace/codeLens/refresh', () => {
      this.refreshes.codeLens++;
      this.poke();
      return null;
    });
    c.listen();
  }

  static async start(options: StartOptions = {}): Promise<LspTestClient> {
    const proc = spawn(process.execPath, [SERVER_BUNDLE, '--stdio'], { cwd: ROOT, stdio: 'pipe' });
    const client = new LspTestClient(proc, options.settings ?? {});
    const rich = options.richClient !== false;
    const root = options.root;
    client.initializeResult = await client.connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: root ? fileUri(root) : null,
      workspaceFolders: root ? [{ uri: fileUri(root), name: 'ws' }] : null,
      initializationOptions: options.initializationOptions,
      capabilities: rich
        ? {
            workspace: {
              configuration: true,
              workspaceFolders: true,
              didChangeConfiguration: { dynamicRegistration: true },
              didChangeWatchedFiles: { dynamicRegistration: true },
              inlayHint: { refreshSupport: true },
              codeLens: { refreshSupport: true },
            },
            window: { workDoneProgress: true },
            textDocument: {
              publishDiagnostics: { relatedInformation: true, versionSupport: true, tagSupport: { valueSet: [1, 2] }, codeDescriptionSupport: true },
              hover: { contentFormat: ['markdown', 'plaintext'] },
              codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } }, isPreferredSupport: true },
              inlayHint: {},
              codeLens: {},
            },
          }
        : {},
    });
    await client.connection.sendNotification('initialized', {});
    return client;
  }

  private poke(): void {
    const ready = this.waiters.filter(w => w.check());
    this.waiters = this.waiters.filter(w => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** Resolves when `check` holds (checked on every message from the server), rejects after `timeoutMs`. */
  waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter(x => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${this.stderr ? `\nserver stderr:\n${this.stderr}` : ''}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Diagnostics published for `uri` at the document's current version (or any, for unopened files). */
  async diagnostics(uri: string, timeoutMs = 10_000): Promise<Diagnostic[]> {
    const version = this.docs.get(uri)?.version;
    const matches = (p: PublishDiagnosticsParams) => version === undefined || p.version === undefined || p.version === version;
    await this.waitFor(() => (this.published.get(uri) ?? []).some(matches), `diagnostics for ${uri} v${version}`, timeoutMs);
    const list = this.published.get(uri)!.filter(matches);
    return list[list.length - 1]!.diagnostics;
  }

  /** Waits for the next publication for `uri` after `after` earlier ones. */
  async nextDiagnostics(uri: string, after: number, timeoutMs = 10_000): Promise<Diagnostic[]> {
    await this.waitFor(() => (this.published.get(uri) ?? []).length > after, `new diagnostics for ${uri}`, timeoutMs);
    return this.published.get(uri)![after]!.diagnostics;
  }

  publishedCount(uri: string): number {
    return this.published.get(uri)?.length ?? 0;
  }

  async open(uri: string, text: string, languageId = 'typescript'): Promise<TextDocument> {
    const doc = TextDocument.create(uri, languageId, 1, text);
    this.docs.set(uri, doc);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
    return doc;
  }

  /** Applies incremental edits locally and sends them. */
  async edit(uri: string, edits: readonly TextEdit[]): Promise<TextDocument> {
    const doc = this.docs.get(uri);
    if (!doc) throw new Error(`${uri} is not open`);
    const version = doc.version + 1;
    const next = TextDocument.update(doc, edits.map(e => ({ range: e.range, text: e.newText })), version);
    this.docs.set(uri, next);
    await this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: edits.map(e => ({ range: e.range, text: e.newText })),
    });
    return next;
  }

  async replaceAll(uri: string, text: string): Promise<TextDocument> {
    const doc = this.docs.get(uri)!;
    return this.edit(uri, [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) }, newText: text }]);
  }

  /** Applies a workspace edit's changes to open documents, as an editor does after a code action. */
  async applyWorkspaceEdit(edit: WorkspaceEdit): Promise<void> {
    for (const [uri, edits] of Object.entries(edit.changes ?? {})) await this.edit(uri, edits);
  }

  async close(uri: string): Promise<void> {
    this.docs.delete(uri);
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position });
  }

  inlayHints(uri: string, range?: Range): Promise<InlayHint[] | null> {
    const doc = this.docs.get(uri)!;
    const r = range ?? { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) };
    return this.connection.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: r });
  }

  codeActions(uri: string, range: Range, diagnostics: Diagnostic[]): Promise<CodeAction[] | null> {
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics } });
  }

  codeLenses(uri: string): Promise<CodeLens[] | null> {
    return this.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  }

  async changeSettings(settings: Record<string, unknown>): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  }

  async changeWatchedFiles(changes: { uri: string; type: 1 | 2 | 3 }[]): Promise<void> {
    await this.connection.sendNotification('workspace/didChangeWatchedFiles', { changes });
  }

  /** Position of the `occurrence`-th match of `needle` in the document (plus `delta` characters). */
  positionOf(uri: string, needle: string, delta = 0, occurrence = 0): Position {
    const doc = this.docs.get(uri)!;
    const text = doc.getText();
    let at = -1;
    for (let i = 0; i <= occurrence; i++) {
      at = text.indexOf(needle, at + 1);
      if (at < 0) throw new Error(`"${needle}" (#${occurrence}) not in ${uri}`);
    }
    return doc.positionAt(at + delta);
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  async shutdown(): Promise<void> {
    if (this.alive) {
      try {
        await Promise.race([this.connection.sendRequest('shutdown'), new Promise(r => setTimeout(r, 2000))]);
        await this.connection.sendNotification('exit');
      } catch {
        // already gone
      }
    }
    await new Promise<void>(resolve => {
      if (!this.alive) return resolve();
      const t = setTimeout(() => {
        this.proc.kill('SIGKILL');
        resolve();
      }, 3000);
      this.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.connection.dispose();
  }
}

export function hoverText(h: Hover | null): string {
  if (!h) return '';
  const c = h.contents;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map(x => (typeof x === 'string' ? x : x.value)).join('\n');
  return c.value;
}

export function inlayLabel(h: InlayHint): string {
  return typeof h.label === 'string' ? h.label : h.label.map(p => p.value).join('');
}
