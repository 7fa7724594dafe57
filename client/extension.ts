// The VS Code extension's entry (bundled to dist/client/extension.js): starts the language server
// and registers the commands, the status bar and the loss panel.

import * as vscode from 'vscode';
import { ClientCommands } from '../protocol/server';
import { Ctx } from './ctx';
import type { PanelCall } from '../protocol/webview';
import { registerLossPanel, type LossPanelRegistration } from './lossPanel/index';

let ctx: Ctx | undefined;

/** What `activate` returns: for extension-host tests (`vscode.extensions.getExtension(…).exports`). */
export interface TensorLensApi {
  readonly ctx: Ctx;
  /** The call the loss panel was last opened with (undefined before, or if the panel failed to register). */
  readonly lossPanelCall: () => PanelCall | undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<TensorLensApi> {
  const c = new Ctx(context);
  ctx = c;
  context.subscriptions.push(
    c,
    vscode.commands.registerCommand(ClientCommands.checkWorkspace, () => c.checkWorkspace()),
    vscode.commands.registerCommand(ClientCommands.restartServer, () => c.restart()),
    vscode.commands.registerCommand(ClientCommands.showOutput, () => c.outputChannel.show(true)),
  );
  // `tensorLens.openLossPanel` belongs to the loss panel; the CodeLens sends it an `EvaluateLossArgs`.
  // A failure there must not cost the user the diagnostics: log it, say it once, start the server anyway.
  let panel: LossPanelRegistration | undefined;
  try {
    panel = registerLossPanel(context, { log: message => c.log(message), currentCall: (uri, position) => c.lossCallAt(uri, position) });
  } catch (err) {
    c.log(`the loss panel could not be registered: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void vscode.window.showErrorMessage(`Tensor Lens: the loss panel is unavailable (${err instanceof Error ? err.message : String(err)}). Shape checking still works.`);
  }
  await c.start();
  return { ctx: c, lossPanelCall: () => panel?.lastCall };
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.stop();
}
