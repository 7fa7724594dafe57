// Custom messages between the VS Code client and the Tensor Lens language server, typed once for both ends.
//
// Standard LSP covers diagnostics, hover, inlay hints, code actions and CodeLens; these are the few
// messages LSP has no word for. Method names are `tensorLens/<lowerCamel>`; both ends import the
// constant, so a method string is written once.

import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { Position, Range, WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { LossCall } from '../server/analysis/api';
import type { PanelCall } from './webview';

/** Command ids the client registers (and package.json contributes). */
export const ClientCommands = {
  checkWorkspace: 'tensorLens.checkWorkspace',
  openLossPanel: 'tensorLens.openLossPanel',
  restartServer: 'tensorLens.restartServer',
  showOutput: 'tensorLens.showOutput',
} as const;

/**
 * Commands the server executes through `workspace/executeCommand`. They carry a `server.` infix:
 * vscode-languageclient registers each server command as a client command, and a second
 * registration under a client command's id would fail.
 */
export const ServerCommands = {
  checkWorkspace: 'tensorLens.server.checkWorkspace',
} as const;

/**
 * The single argument of `tensorLens.openLossPanel`, as the `Evaluate loss…` CodeLens sends it: the
 * panel's `PanelCall` (`uri` of the document, `call` as the analysis inferred it: shapes, dtypes,
 * options, profile, known dims) plus the call's range in LSP line/character terms.
 */
export interface EvaluateLossArgs extends PanelCall {
  readonly call: LossCall;
  readonly range: Range;
}

export interface LossCallAtParams {
  readonly uri: string;
  /** Where the call started when its CodeLens was made (the lens may be older than the text). */
  readonly position: Position;
}

/**
 * Client → server: the loss call starting at (or else containing) `position` in the current text,
 * once pending edits are analysed, as the CodeLens would carry it now; null when there is none. The
 * loss panel asks before it shows a call from a CodeLens: VS Code may show a lens (and run its
 * command) from before the last edit, say a quick fix that changed the target's shape.
 */
export const LossCallAtRequest = new RequestType<LossCallAtParams, EvaluateLossArgs | null, void>('tensorLens/lossCallAt');

export interface CheckWorkspaceParams extends WorkDoneProgressParams {
  /** Folders (URIs) to check; all workspace folders when absent. */
  readonly folders?: readonly string[];
}

export interface CheckWorkspaceResult {
  readonly files: number;
  readonly errors: number;
  readonly warnings: number;
  readonly information: number;
  readonly elapsedMs: number;
  /** True when the check was cancelled before every file was analysed. */
  readonly cancelled: boolean;
}

/** Client → server: analyse every TypeScript file of the workspace and publish diagnostics for each, with progress. */
export const CheckWorkspaceRequest = new RequestType<CheckWorkspaceParams, CheckWorkspaceResult, void>('tensorLens/checkWorkspace');

export type AnalyzerState = 'ready' | 'analysing';

export interface ServerStatusParams {
  readonly state: AnalyzerState;
  /** Problems currently published, summed over all files. */
  readonly errors: number;
  readonly warnings: number;
  readonly information: number;
  /** Files with published diagnostics. */
  readonly files: number;
  /** A short note for the status bar tooltip (the last internal error, a config problem). */
  readonly message?: string;
}

/** Server → client: the analyzer's state changed (analysing / ready with problem counts), for the status bar. */
export const ServerStatusNotification = new NotificationType<ServerStatusParams>('tensorLens/serverStatus');
