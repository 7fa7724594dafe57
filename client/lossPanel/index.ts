// The loss panel's extension-host side: the `tensorLens.openLossPanel` command, the webview panel and
// its serializer, file access on the webview's behalf, and the end-of-line note of the latest result.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import {
  validateWebviewToHost, type HostToWebview, type PanelCall, type PreselectFile, type TensorRole, type WebviewToHost,
} from '../../protocol/webview';
import { renderPanelHtml } from './html';
import { ResultNote } from './resultNote';
import { describeFile, findTensorFiles, isTensorFile, streamFile, TENSOR_FILE_EXTENSIONS, TENSOR_FILE_GLOB } from './tensorFiles';

export const OPEN_LOSS_PANEL_COMMAND = 'tensorLens.openLossPanel';
export const LOSS_PANEL_VIEW_TYPE = 'tensorLens.lossPanel';

export interface LossPanelDeps {
  /** Where host-side problems are logged (the extension's output channel). */
  readonly log?: (message: string) => void;
  /**
   * The loss call at a position as the language server sees the current text (null: none there;
   * undefined: no answer). A CodeLens can be older than the text: after a quick fix VS Code may still
   * show, and run, the lens made before it.
   */
  readonly currentCall?: (uri: string, position: { line: number; character: number }) => Promise<PanelCall | null | undefined>;
}

/**
 * What the command accepts: the CodeLens payload `{ uri, call }`, a file `Uri` from the explorer's
 * context menu, or nothing (the palette). Anything else is reported, not guessed at.
 */
export type OpenLossPanelArg = PanelCall | vscode.Uri | undefined;

/** The registration; `lastCall` is the call the panel was last opened with (extension-host tests read it). */
export interface LossPanelRegistration extends vscode.Disposable {
  readonly lastCall: PanelCall | undefined;
}

export function registerLossPanel(context: vscode.ExtensionContext, deps: LossPanelDeps = {}): LossPanelRegistration {
  const controller = new LossPanelController(context, deps);
  const disposables: vscode.Disposable[] = [
    controller,
    vscode.commands.registerCommand(OPEN_LOSS_PANEL_COMMAND, (arg?: unknown) => controller.open(arg)),
    vscode.window.registerWebviewPanelSerializer(LOSS_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => controller.adopt(panel),
    }),
  ];
  const all = vscode.Disposable.from(...disposables);
  context.subscriptions.push(all);
  return { dispose: () => all.dispose(), get lastCall() { return controller.lastCall; } };
}

function isPanelCall(v: unknown): v is PanelCall {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const call = o.call as Record<string, unknown> | undefined;
  return typeof o.uri === 'string' && typeof call === 'object' && call !== null &&
    typeof call.function === 'string' && typeof call.input === 'object' && typeof call.target === 'object';
}

class LossPanelController implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelDisposables: vscode.Disposable[] = [];
  private readonly note = new ResultNote();
  /** The start-up data the next `ready` receives (a reloaded page asks again). */
  private pendingCall: PanelCall | undefined;
  /** The call the panel was last opened with (after asking the server for the current one). */
  lastCall: PanelCall | undefined;
  private pendingFile: PreselectFile | undefined;
  /** Files the webview may read: the ones offered to it. A webview asks by URI and gets nothing else. */
  private readonly allowed = new Set<string>();

  constructor(private readonly context: vscode.ExtensionContext, private readonly deps: LossPanelDeps) {}

  private log(message: string): void {
    this.deps.log?.(`[loss panel] ${message}`);
  }

  async open(arg: unknown): Promise<void> {
    let call: PanelCall | undefined;
    let file: PreselectFile | undefined;
    if (arg instanceof vscode.Uri) {
      if (!isTensorFile(arg)) {
        void vscode.window.showErrorMessage(`Tensor Lens: the loss panel reads ${TENSOR_FILE_EXTENSIONS.map(e => `.${e}`).join(', ')} files, not ${arg.path.slice(arg.path.lastIndexOf('/') + 1)}.`);
        return;
      }
      file = { file: describeFile(arg) };
      this.allowed.add(arg.toString());
    } else if (isPanelCall(arg)) {
      call = await this.current(arg);
      this.lastCall = call;
    } else if (arg !== undefined && arg !== null) {
      this.log(`ignoring an argument that is neither a loss call nor a file: ${safeJson(arg)}`);
    }

    if (this.panel) {
      this.panel.reveal(undefined, false);
      if (call) void this.post({ type: 'setCall', call });
      if (file) void this.post({ type: 'useFile', file });
      return;
    }
    this.pendingCall = call;
    this.pendingFile = file;
    const panel = vscode.window.createWebviewPanel(LOSS_PANEL_VIEW_TYPE, 'Loss Panel', vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: this.resourceRoots(),
    });
    this.adopt(panel);
  }

  /** The CodeLens's call as the server sees the text now, or the lens's own when it cannot say. */
  private async current(lens: PanelCall): Promise<PanelCall> {
    const range = (lens as { range?: { start?: { line?: unknown; character?: unknown } } }).range;
    const start = range?.start;
    if (!this.deps.currentCall || typeof start?.line !== 'number' || typeof start.character !== 'number') return lens;
    try {
      const now = await this.deps.currentCall(lens.uri, { line: start.line, character: start.character });
      if (now && isPanelCall(now)) return now;
      if (now === null) this.log(`no loss call at ${lens.uri}:${start.line + 1} in the current text; showing the CodeLens's`);
    } catch (err) {
      this.log(`could not refresh the loss call: ${err instanceof Error ? err.message : String(err)}`);
    }
    return lens;
  }

  private resourceRoots(): vscode.Uri[] {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    return [vscode.Uri.joinPath(dist, 'webview'), vscode.Uri.joinPath(dist, 'compute')];
  }

  /** Takes over a panel: a new one, or one VS Code restores after a reload (its state is the page's own). */
  adopt(panel: vscode.WebviewPanel): void {
    this.disposePanel();
    this.panel = panel;
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: this.resourceRoots() };
    const [webviewRoot, computeRoot] = this.resourceRoots();
    webview.html = renderPanelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64'),
      webviewBase: webview.asWebviewUri(webviewRoot).toString().replace(/\/$/, ''),
      computeBase: webview.asWebviewUri(computeRoot).toString().replace(/\/$/, ''),
    });
    // Tensor files appearing, disappearing or being rewritten (a training script saving a new batch)
    // reach the panel, so it never evaluates stale bytes.
    const watcher = vscode.workspace.createFileSystemWatcher(TENSOR_FILE_GLOB);
    let refresh: ReturnType<typeof setTimeout> | undefined;
    const relist = () => {
      if (refresh) clearTimeout(refresh);
      refresh = setTimeout(() => {
        void findTensorFiles().then(files => {
          for (const f of files) this.allowed.add(f.fileId);
          return this.post({ type: 'files', files });
        });
      }, 300);
    };
    this.panelDisposables.push(
      watcher,
      watcher.onDidCreate(relist),
      watcher.onDidDelete(relist),
      watcher.onDidChange(uri => void this.post({ type: 'fileChanged', fileId: uri.toString() })),
      { dispose: () => refresh && clearTimeout(refresh) },
      webview.onDidReceiveMessage(raw => {
        let message: WebviewToHost;
        try {
          message = validateWebviewToHost(raw);
        } catch (err) {
          this.log(`dropped a malformed message from the panel: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        void this.handle(message).catch(err => this.log(`handling ${message.type} failed: ${err instanceof Error ? err.message : String(err)}`));
      }),
      panel.onDidDispose(() => {
        if (this.panel === panel) {
          this.panel = undefined;
          this.disposePanel();
        }
      }),
    );
  }

  private post(message: HostToWebview): Thenable<boolean> {
    return this.panel ? this.panel.webview.postMessage(message) : Promise.resolve(false);
  }

  private async handle(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'ready': {
        const files = await findTensorFiles();
        for (const f of files) this.allowed.add(f.fileId);
        await this.post({ type: 'init', call: this.pendingCall, files, preselect: this.pendingFile });
        this.pendingCall = undefined;
        this.pendingFile = undefined;
        break;
      }
      case 'readFile': {
        if (!this.allowed.has(message.fileId)) {
          await this.post({ type: 'fileError', requestId: message.requestId, fileId: message.fileId, message: 'the panel may read only the workspace tensor files it was offered' });
          return;
        }
        await streamFile(m => this.post(m), message.requestId, vscode.Uri.parse(message.fileId));
        break;
      }
      case 'pickFile':
        await this.pickFile(message.role);
        break;
      case 'result':
        await this.note.show(message.uri, message.callEnd, message.text);
        break;
      case 'clearResult':
        this.note.clear();
        break;
    }
  }

  private async pickFile(role: TensorRole): Promise<void> {
    const files = await findTensorFiles();
    for (const f of files) this.allowed.add(f.fileId);
    const browse = '$(folder-opened) Browse…';
    const picked = await vscode.window.showQuickPick(
      [...files.map(f => ({ label: f.label, fileId: f.fileId })), { label: browse, fileId: '' }],
      { title: `Tensor Lens: the ${role} tensor`, placeHolder: '.npy, .npz or .safetensors in the workspace' },
    );
    if (!picked) return;
    let uri: vscode.Uri | undefined;
    if (picked.fileId) {
      uri = vscode.Uri.parse(picked.fileId);
    } else {
      const chosen = await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: { 'Tensor files': TENSOR_FILE_EXTENSIONS },
        title: `Tensor Lens: the ${role} tensor`,
      });
      uri = chosen?.[0];
    }
    if (!uri) return;
    this.allowed.add(uri.toString());
    await this.post({ type: 'useFile', file: { file: describeFile(uri), role } });
  }

  private disposePanel(): void {
    for (const d of this.panelDisposables) d.dispose();
    this.panelDisposables = [];
  }

  dispose(): void {
    this.panel?.dispose();
    this.disposePanel();
    this.note.dispose();
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 200);
  } catch {
    return String(v);
  }
}
