// The extension's context: the language client and what hangs off it (output channel, status bar,
// custom notifications). Owns start, stop and restart, so commands never juggle client state.

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  WorkDoneProgress,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { CheckWorkspaceRequest, LossCallAtRequest, ServerStatusNotification, type CheckWorkspaceResult, type EvaluateLossArgs } from '../protocol/server';
import { Config, SECTION } from './config';
import { StatusBar } from './statusBar';

export const CLIENT_ID = SECTION; // so vscode-languageclient reads `tensorLens.trace.server`
export const CLIENT_NAME = 'Tensor Lens';

/** Restarts allowed within `RESTART_WINDOW_MS` before the client gives up and says so. */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60_000;

export class Ctx implements vscode.Disposable {
  readonly outputChannel = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  readonly statusBar = new StatusBar();
  readonly config = new Config();
  private client: LanguageClient | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private restarts: number[] = [];

  constructor(private readonly extension: vscode.ExtensionContext) {}

  get languageClient(): LanguageClient | undefined {
    return this.client;
  }
  /**
   * The loss call at `position` in the server's current analysis of `uri` (see LossCallAtRequest);
   * undefined when the server is not running or does not answer within `timeoutMs`.
   */
  async lossCallAt(uri: string, position: { line: number; character: number }, timeoutMs = 3000): Promise<EvaluateLossArgs | null | undefined> {
    const client = this.client;
    if (!client?.isRunning()) return undefined;
    const source = new vscode.CancellationTokenSource();
    const timer = setTimeout(() => source.cancel(), timeoutMs);
    try {
      return await client.sendRequest(LossCallAtRequest, { uri, position }, source.token);
    } catch (err) {
      this.log(`loss call lookup failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
      source.dispose();
    }
  }


  log(message: string): void {
    this.outputChannel.info(message);
  }

  async start(): Promise<void> {
    if (this.client?.isRunning()) return;
    this.client ??= this.createClient();
    this.statusBar.setClientState('starting');
    try {
      await this.client.start();
    } catch (err) {
      this.statusBar.setClientState('failed');
      this.log(`the language server failed to start: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`Tensor Lens: the language server failed to start: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    if (c.needsStop()) await c.stop();
    this.statusBar.setClientState('stopped');
  }

  async restart(): Promise<void> {
    this.restarts = [];
    const c = this.client;
    if (c && c.needsStop()) {
      this.statusBar.setClientState('starting');
      await c.restart();
    } else {
      await this.start();
    }
  }

  /** `Tensor Lens: Check Workspace`: the server walks the workspace; progress (cancellable) in a notification. */
  async checkWorkspace(): Promise<CheckWorkspaceResult | undefined> {
    const client = this.client;
    if (!client?.isRunning()) {
      void vscode.window.showWarningMessage('Tensor Lens: the language server is not running.');
      return undefined;
    }
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Tensor Lens: checking workspace', cancellable: true },
      async (progress, token) => {
        const workDoneToken = randomUUID();
        let reported = 0;
        const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, value => {
          if (value.kind === 'end') return;
          const pct = value.percentage ?? reported;
          progress.report({ increment: Math.max(0, pct - reported), message: value.message });
          reported = Math.max(reported, pct);
        });
        try {
          const result = await client.sendRequest(CheckWorkspaceRequest, { workDoneToken }, token);
          const summary = `${result.files} files checked: ${result.errors} errors, ${result.warnings} warnings (${result.elapsedMs} ms)${result.cancelled ? ', cancelled' : ''}.`;
          this.log(`workspace check: ${summary}`);
          void vscode.window.showInformationMessage(`Tensor Lens: ${summary}`);
          return result;
        } finally {
          sub.dispose();
        }
      },
    );
  }

  private createClient(): LanguageClient {
    const module = this.extension.asAbsolutePath('dist/server/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const languages = ['typescript', 'typescriptreact'];
    const clientOptions: LanguageClientOptions = {
      documentSelector: languages.flatMap(language => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      outputChannel: this.outputChannel,
      diagnosticCollectionName: 'tensor-lens',
      initializationOptions: { settings: this.config.serverSettings },
      errorHandler: this.errorHandler(),
      markdown: { isTrusted: false, supportHtml: false },
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.disposables.push(
      client.onDidChangeState(e => {
        if (e.newState === State.Running) this.statusBar.setClientState('running');
        else if (e.newState === State.Starting) this.statusBar.setClientState('starting');
        else if (e.newState === State.Stopped && this.restarts.length <= MAX_RESTARTS) this.statusBar.setClientState('stopped');
      }),
      client.onNotification(ServerStatusNotification, status => this.statusBar.setServerStatus(status)),
    );
    return client;
  }

  /** Restart a crashed server a few times, then stop and say so (the status bar turns red). */
  private errorHandler(): ErrorHandler {
    return {
      error: (_error, _message, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
      closed: () => {
        const now = Date.now();
        this.restarts = this.restarts.filter(t => now - t < RESTART_WINDOW_MS);
        this.restarts.push(now);
        if (this.restarts.length > MAX_RESTARTS) {
          this.statusBar.setClientState('failed');
          return {
            action: CloseAction.DoNotRestart,
            message: `The Tensor Lens server crashed ${MAX_RESTARTS + 1} times in the last 3 minutes and will not be restarted. Run "Tensor Lens: Restart Server" after checking the output.`,
          };
        }
        this.log(`the language server stopped unexpectedly; restarting (${this.restarts.length}/${MAX_RESTARTS})`);
        return { action: CloseAction.Restart };
      },
    };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.statusBar.dispose();
    this.outputChannel.dispose();
  }
}
