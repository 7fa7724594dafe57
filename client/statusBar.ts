// The status bar item: the analyzer's state (starting, analysing, problems, stopped); a click shows the output.

import * as vscode from 'vscode';
import { ClientCommands, type ServerStatusParams } from '../protocol/server';

export type ClientState = 'starting' | 'running' | 'stopped' | 'failed';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private clientState: ClientState = 'starting';
  private server: ServerStatusParams | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('tensorLens.status', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'Tensor Lens';
    this.item.command = ClientCommands.showOutput;
    this.render();
    this.item.show();
  }

  /** What the item shows now (extension-host tests read it). */
  get text(): string {
    return this.item.text;
  }

  setClientState(state: ClientState): void {
    if (this.analysingTimer !== undefined) clearTimeout(this.analysingTimer);
    this.analysingTimer = undefined;
    this.clientState = state;
    if (state !== 'running') this.server = undefined;
    this.render();
  }

  /** "analysing" shows only when an analysis outlasts this: quick ones must not flicker at every keystroke. */
  private static readonly ANALYSING_DELAY_MS = 300;
  private analysingTimer: ReturnType<typeof setTimeout> | undefined;

  setServerStatus(status: ServerStatusParams): void {
    if (this.analysingTimer !== undefined) clearTimeout(this.analysingTimer);
    this.analysingTimer = undefined;
    if (status.state === 'analysing' && this.server?.state === 'ready') {
      // Keep the last counts on screen; switch to the spinner only if the analysis takes a while.
      this.analysingTimer = setTimeout(() => {
        this.analysingTimer = undefined;
        this.server = status;
        this.render();
      }, StatusBar.ANALYSING_DELAY_MS);
      return;
    }
    this.server = status;
    this.render();
  }

  private render(): void {
    const item = this.item;
    item.backgroundColor = undefined;
    switch (this.clientState) {
      case 'starting':
        item.text = '$(loading~spin) Tensor Lens: starting';
        item.tooltip = 'The Tensor Lens language server is starting.';
        return;
      case 'stopped':
        item.text = '$(circle-slash) Tensor Lens: stopped';
        item.tooltip = 'The Tensor Lens language server is not running. Run "Tensor Lens: Restart Server" to start it.';
        return;
      case 'failed':
        item.text = '$(error) Tensor Lens: failed';
        item.tooltip = 'The Tensor Lens language server failed to start or crashed repeatedly. Click for the log.';
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        return;
      case 'running':
        break;
    }
    const s = this.server;
    if (!s || s.state === 'analysing') {
      item.text = '$(sync~spin) Tensor Lens: analysing';
      item.tooltip = 'Tensor Lens is analysing tensor shapes.';
      return;
    }
    const problems = s.errors + s.warnings + s.information;
    item.text = problems === 0 ? '$(check) Tensor Lens' : `$(${s.errors > 0 ? 'error' : 'warning'}) Tensor Lens: ${problems} ${problems === 1 ? 'problem' : 'problems'}`;
    const tip = [
      problems === 0 ? 'No tensor-shape problems in the analysed files.' : `${s.errors} errors, ${s.warnings} warnings, ${s.information} notes in ${s.files} ${s.files === 1 ? 'file' : 'files'}.`,
      'Click to show the Tensor Lens output.',
    ];
    if (s.message) tip.unshift(`Last internal error: ${s.message}`);
    item.tooltip = tip.join('\n');
  }

  dispose(): void {
    if (this.analysingTimer !== undefined) clearTimeout(this.analysingTimer);
    this.item.dispose();
  }
}
