// The extension's view of its settings (`tensorLens.*`), read fresh on each access so a change takes effect at once.

import * as vscode from 'vscode';

export const SECTION = 'tensorLens';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get torchModules(): string[] {
    return this.cfg.get<string[]>('torchModules', []);
  }

  get inlayHintsEnabled(): boolean {
    return this.cfg.get<boolean>('inlayHints.enabled', true);
  }

  get codeLensEnabled(): boolean {
    return this.cfg.get<boolean>('codeLens.enabled', true);
  }

  /** The settings section as the server parses it, for `initializationOptions` (the server also pulls). */
  get serverSettings(): Record<string, unknown> {
    return {
      torchModules: this.torchModules,
      inlayHints: { enabled: this.inlayHintsEnabled },
      codeLens: { enabled: this.codeLensEnabled },
    };
  }
}
