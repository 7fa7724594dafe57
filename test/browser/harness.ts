// Browser-test harness for the loss panel: a tiny HTTP server on 127.0.0.1 serving the built
// `dist/webview` and `dist/compute` and the panel page exactly as the extension renders it (same
// CSP, nonce, asset layout), headless Chromium through playwright-core, and a fake extension host
// that answers the panel's messages as `client/lossPanel` does (file bytes in ordered chunks).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { renderPanelHtml } from '../../client/lossPanel/html';
import {
  validateWebviewToHost, type HostToWebview, type PanelCall, type WebviewToHost, type WorkspaceFile,
} from '../../protocol/webview';
import type { Theme } from './themes';

export const root = join(__dirname, '..', '..');
export const conformance = join(root, '..', 'shared', 'conformance');
export const artifacts = join(__dirname, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const MIME: Record<string, string> = {
  '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.html': 'text/html', '.map': 'application/json',
};

/** Builds dist/ when the panel's bundles or the engine are missing (`npm test` builds first anyway). */
export function ensureBuilt(): void {
  const needed = ['dist/webview/main.js', 'dist/webview/worker.js', 'dist/webview/toolkit.min.js', 'dist/webview/panel.css', 'dist/compute/ce-simd.wasm'];
  if (needed.every(f => existsSync(join(root, f)))) return;
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}

export interface PanelServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves /panel.html (the real panel HTML + the host stub), /webview/*, /compute/*, /test/*. */
export async function startServer(): Promise<PanelServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    if (url.pathname === '/panel.html') {
      const nonce = randomBytes(18).toString('base64');
      let html = renderPanelHtml({ cspSource: origin, nonce, webviewBase: `${origin}/webview`, computeBase: `${origin}/compute` });
      // VS Code injects its API before the page's scripts; the stand-in goes in the same place, under the CSP.
      html = html.replace('<script nonce=', `<script nonce="${nonce}" src="${origin}/test/hostStub.js"></script>\n<script nonce=`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    const map: [string, string][] = [['/webview/', join(root, 'dist', 'webview')], ['/compute/', join(root, 'dist', 'compute')], ['/test/', __dirname]];
    for (const [prefix, dir] of map) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = normalize(join(dir, decodeURIComponent(url.pathname.slice(prefix.length))));
      if (!file.startsWith(dir + sep) || !existsSync(file)) break;
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { origin, close: () => new Promise(resolve => server.close(() => resolve())) };
}

export async function launchBrowser(): Promise<{ browser: Browser; dispose(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  // `launch` gives every run a fresh temporary profile (it refuses --user-data-dir and deletes the
  // profile on close), which is the fresh user-data-dir the tests need.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    async dispose() {
      await browser.close();
    },
  };
}

/** A file the fake host can serve: its id, label and bytes on disk. */
export interface HostFile extends WorkspaceFile {
  readonly path: string;
}

export function hostFile(path: string, label: string): HostFile {
  return { fileId: `file:///workspace/${label}`, label, path, byteLength: readFileSync(path).byteLength };
}

/**
 * The extension host's side of the protocol, as `client/lossPanel/index.ts` implements it: answers
 * `ready` with `init`, streams files in chunks (small chunks here, so a transfer takes several), and
 * records every message (each validated with the protocol's own validator).
 */
export class FakeHost {
  readonly received: WebviewToHost[] = [];
  private waiters: { pred: (m: WebviewToHost) => boolean; resolve: (m: WebviewToHost) => void }[] = [];
  init: { call?: PanelCall; preselect?: { file: WorkspaceFile; role?: 'input' | 'target' | 'weight' } } = {};

  constructor(readonly page: Page, readonly files: readonly HostFile[], readonly chunkBytes = 1024) {}

  async attach(): Promise<void> {
    await this.page.exposeBinding('__hostReceive', (_source, message: unknown) => {
      void this.handle(message);
    });
  }

  private async handle(raw: unknown): Promise<void> {
    const m = validateWebviewToHost(raw);
    this.received.push(m);
    this.waiters = this.waiters.filter(w => {
      if (!w.pred(m)) return true;
      w.resolve(m);
      return false;
    });
    if (m.type === 'ready') {
      await this.post({ type: 'init', files: this.files.map(({ fileId, label, byteLength }) => ({ fileId, label, byteLength })), ...this.init });
    } else if (m.type === 'readFile') {
      const f = this.files.find(x => x.fileId === m.fileId);
      if (!f) {
        await this.post({ type: 'fileError', requestId: m.requestId, fileId: m.fileId, message: 'not offered' });
        return;
      }
      const bytes = readFileSync(f.path);
      await this.post({ type: 'fileBegin', requestId: m.requestId, fileId: f.fileId, name: f.label.replace(/^.*\//, ''), byteLength: bytes.byteLength });
      for (let offset = 0; offset < bytes.byteLength; offset += this.chunkBytes) {
        const chunk = bytes.subarray(offset, Math.min(bytes.byteLength, offset + this.chunkBytes));
        await this.postBytes({ type: 'fileChunk', requestId: m.requestId, offset }, chunk);
      }
    }
  }

  post(m: HostToWebview): Promise<void> {
    return this.page.evaluate(msg => (window as unknown as { __hostPost(m: unknown): void }).__hostPost(msg), m as unknown as Record<string, unknown>);
  }

  /** A message whose `bytes` field is a Uint8Array in the page (sent as base64 across the wire). */
  postBytes(m: Record<string, unknown>, bytes: Uint8Array): Promise<void> {
    return this.page.evaluate(([msg, b64]) => (window as unknown as { __hostPost(m: unknown, b: string): void }).__hostPost(msg, b64), [m, Buffer.from(bytes).toString('base64')] as const);
  }

  waitFor(pred: (m: WebviewToHost) => boolean, timeoutMs = 20_000): Promise<WebviewToHost> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => reject(new Error('timed out waiting for a panel message')), timeoutMs);
    });
  }
}

/** A fresh context (empty sessionStorage) with the theme's variables on <html> and its body class. */
export async function newPanelContext(browser: Browser, theme: Theme): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 980, height: 1000 }, deviceScaleFactor: 1 });
  await context.addInitScript(({ vars, bodyClass }) => {
    // Init scripts run before <html> exists; VS Code has its variables and body class in place
    // before the page's scripts run, so set them as soon as the elements are there.
    const apply = () => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body?.classList.add(bodyClass);
    };
    new MutationObserver((_, observer) => {
      if (document.documentElement) {
        for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      }
      if (document.body) {
        apply();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  }, { vars: theme.vars, bodyClass: theme.bodyClass });
  return context;
}

export interface PageLog {
  readonly errors: string[];
}

/** Opens the panel page with a fake host; collects page errors and console errors. */
export async function openPanel(context: BrowserContext, origin: string, files: readonly HostFile[], init: FakeHost['init'] = {}): Promise<{ page: Page; host: FakeHost; log: PageLog }> {
  const page = await context.newPage();
  const log: PageLog = { errors: [] };
  page.on('pageerror', e => log.errors.push(`pageerror: ${e.message}`));
  page.on('console', m => {
    if (m.type() === 'error' && !/status of 404/.test(m.text())) log.errors.push(`console: ${m.text()}`);
  });
  page.on('response', r => {
    // The browser asks for /favicon.ico on its own; a webview never does.
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) log.errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  const host = new FakeHost(page, files);
  host.init = init;
  await host.attach();
  await page.goto(`${origin}/panel.html`);
  return { page, host, log };
}

export function screenshotPath(name: string): string {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, `${name}.png`);
}

/** Reads a conformance case of torch-ce from its manifest. */
export function conformanceCase(name: string): {
  name: string; options: Record<string, unknown>; inputs: Record<string, string>; expected_value?: number; error?: { type: string; message: string };
} {
  // The manifest is Python's json.dump output: NaN and Infinity appear as bare words.
  const text = readFileSync(join(conformance, 'torch-ce', 'manifest.json'), 'utf8').replace(/-?\bInfinity\b|\bNaN\b/g, 'null');
  const manifest = JSON.parse(text) as { name: string }[];
  const c = manifest.find(x => x.name === name);
  if (!c) throw new Error(`no conformance case ${name}`);
  return c as ReturnType<typeof conformanceCase>;
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A `.npz` as `numpy.savez` writes it: a stored (uncompressed) ZIP of `<name>.npy` members. */
export function npzOf(members: readonly { name: string; bytes: Uint8Array }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(`${m.name}.npy`);
    const crc = crc32(m.bytes);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(m.bytes.byteLength, 18); local.writeUInt32LE(m.bytes.byteLength, 22); local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(m.bytes.byteLength, 20); central.writeUInt32LE(m.bytes.byteLength, 24); central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(m.bytes));
    centrals.push(central, name);
    offset += local.length + name.length + m.bytes.byteLength;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(members.length, 8); end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}
