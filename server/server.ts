// The language server's entry (bundled to dist/server/server.js): starts the connection when loaded,
// over Node IPC when the VS Code client spawns it, over stdio with `--stdio` (`tensor-lens lsp --stdio`).

import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './lsp/main';

// createConnection picks the transport from argv: --stdio, --node-ipc, --pipe=…, --socket=….
// Without one (required from the CLI without flags) stdio is the sensible default for any LSP client.
if (!process.argv.some(a => a === '--stdio' || a === '--node-ipc' || a.startsWith('--pipe') || a.startsWith('--socket') || a.startsWith('--clientProcessId'))) {
  process.argv.push('--stdio');
}

const connection = createConnection(ProposedFeatures.all);

// Never die on a stray error: log it and keep serving (a handler's own errors are caught by its guard).
process.on('uncaughtException', err => {
  try {
    connection.console.error(`[uncaught exception] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } catch {
    process.stderr.write(`tensor-lens: uncaught exception: ${String(err)}\n`);
  }
});
process.on('unhandledRejection', reason => {
  try {
    connection.console.error(`[unhandled rejection] ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  } catch {
    process.stderr.write(`tensor-lens: unhandled rejection: ${String(reason)}\n`);
  }
});

startServer(connection);
connection.listen();
