// Wires a connection to the session: capabilities, document sync, and every request handler, each
// guarded so an internal error answers neutrally and the server keeps serving.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodeActionKind,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type InitializeResult,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver';
import { CheckWorkspaceRequest, LossCallAtRequest, ServerCommands, type CheckWorkspaceResult } from '../../protocol/server';
import { codeActions, codeLenses, hover, inlayHints, lossCallAt } from './features';
import { isAnalysed } from './files';
import { Session } from './session';
import { checkWorkspace } from './workspaceCheck';

export const SERVER_NAME = 'tensor-lens';

export function startServer(connection: Connection): Session {
  const session = new Session(connection);
  const { documents, reporter } = session;

  connection.onInitialize((params): InitializeResult => {
    reporter.guard('initialize', undefined, () => session.initialize(params));
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        inlayHintProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite], resolveProvider: false },
        codeLensProvider: { resolveProvider: false },
        executeCommandProvider: { commands: [ServerCommands.checkWorkspace] },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: SERVER_NAME, version: SERVER_VERSION },
    };
  });

  connection.onInitialized(() => {
    void reporter.guardAsync('initialized', undefined, () => session.initialized());
  });

  connection.onDidChangeConfiguration(change => {
    reporter.guard('configuration', undefined, () => session.applyPushedSettings(change.settings));
    void reporter.guardAsync('configuration', undefined, () => session.pullSettings());
  });

  connection.onDidChangeWatchedFiles(params => reporter.guard('watched files', undefined, () => session.onWatchedFilesChanged(params.changes)));

  documents.onDidOpen(e => reporter.guard('open', undefined, () => isAnalysed(e.document.languageId, e.document.uri) && session.onOpen(e.document)));
  documents.onDidChangeContent(e => {
    // onDidChangeContent also fires on open; the open handler has scheduled that one already.
    if (e.document.version === firstVersion.get(e.document.uri)) return;
    reporter.guard('change', undefined, () => isAnalysed(e.document.languageId, e.document.uri) && session.onChange(e.document));
  });
  documents.onDidClose(e => reporter.guard('close', undefined, () => session.onClose(e.document.uri)));
  const firstVersion = new Map<string, number>();
  documents.onDidOpen(e => firstVersion.set(e.document.uri, e.document.version));
  documents.onDidClose(e => firstVersion.delete(e.document.uri));

  connection.onHover(params =>
    reporter.guard('hover', null, () => {
      const doc = documents.get(params.textDocument.uri);
      const entry = doc && session.analysisFor(doc);
      return doc && entry ? hover(doc, entry.analysis, params.position, session.files) : null;
    }),
  );

  connection.languages.inlayHint.on((params, token) =>
    reporter.guardAsync('inlay hints', [], async () => {
      if (!session.settings.inlayHintsEnabled) return [];
      const entry = await session.settledAnalysis(params.textDocument.uri, token);
      const doc = documents.get(params.textDocument.uri);
      return doc && entry && entry.version === doc.version ? inlayHints(doc, entry.analysis, params.range) : [];
    }),
  );

  connection.onCodeAction((params, token) =>
    reporter.guardAsync('code actions', [], async () => {
      const entry = await session.settledAnalysis(params.textDocument.uri, token);
      const doc = documents.get(params.textDocument.uri);
      return doc && entry && entry.version === doc.version ? codeActions(doc, entry.analysis, entry.diagnostics, entry.lsp, params, session.files) : [];
    }),
  );

  connection.onCodeLens((params, token) =>
    reporter.guardAsync('CodeLens', [], async () => {
      if (!session.settings.codeLensEnabled) return [];
      const entry = await session.settledAnalysis(params.textDocument.uri, token);
      const doc = documents.get(params.textDocument.uri);
      return doc && entry && entry.version === doc.version ? codeLenses(doc, entry.analysis) : [];
    }),
  );

  connection.onRequest(LossCallAtRequest, (params, token) =>
    reporter.guardAsync('loss call', null, async () => {
      const entry = await session.settledAnalysis(params.uri, token);
      const doc = documents.get(params.uri);
      return doc && entry && entry.version === doc.version ? lossCallAt(doc, entry.analysis, params.position) : null;
    }),
  );

  // One workspace check at a time: a new one supersedes (cancels) the one running.
  let running: { cancelled: boolean } | undefined;
  const runCheck = async (folders: readonly string[] | undefined, progress: WorkDoneProgressReporter, token: CancellationToken) =>
    reporter.guardAsync<CheckWorkspaceResult>('workspace check', { files: 0, errors: 0, warnings: 0, information: 0, elapsedMs: 0, cancelled: false }, async () => {
      if (running) running.cancelled = true;
      const mine = { cancelled: false };
      running = mine;
      const either = { get isCancellationRequested() { return mine.cancelled || token.isCancellationRequested; } };
      const result = await checkWorkspace(session, folders, progress, either).finally(() => {
        if (running === mine) running = undefined;
      });
      reporter.log(`workspace check: ${result.files} files, ${result.errors} errors, ${result.warnings} warnings in ${result.elapsedMs} ms${result.cancelled ? ' (cancelled)' : ''}`);
      return result;
    });

  connection.onRequest(CheckWorkspaceRequest, async (params, token) => {
    const progress = connection.window.attachWorkDoneProgress(params?.workDoneToken);
    return runCheck(params?.folders, progress, token);
  });

  connection.onExecuteCommand(async (params, token) => {
    if (params.command !== ServerCommands.checkWorkspace) return undefined;
    const progress = params.workDoneToken !== undefined ? connection.window.attachWorkDoneProgress(params.workDoneToken) : await serverProgress(connection);
    return runCheck(undefined, progress, token);
  });

  documents.listen(connection);
  return session;
}

/** A server-initiated progress when the client supports it, else a reporter that reports nothing. */
async function serverProgress(connection: Connection): Promise<WorkDoneProgressReporter> {
  try {
    return await connection.window.createWorkDoneProgress();
  } catch {
    return connection.window.attachWorkDoneProgress(undefined);
  }
}


/** The package's version, read from the package.json two folders above the bundle (dist/server/). */
const SERVER_VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name?: string; version?: string };
    return pkg.name === 'tensor-lens' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
