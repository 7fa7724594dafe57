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

  setClientState(state: ClientState): void {
    this.clientState = state;
    if (state !== 'running') this.server = undefined;
    this.render();
  }

  setServerStatus(status: ServerStatusParams): void {
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
    this.item.dispose();
  }
}
