// The `tensor-lens` command line: one table of subcommands, each a module with its own usage text.
// `bin/tensor-lens.js` loads this bundle (dist/cli/main.js).

import { join } from 'node:path';

interface Command {
  readonly summary: string;
  /** Resolves to the exit code. Each command module is loaded only when run (each prints its own --help). */
  run(args: readonly string[]): number | Promise<number>;
}

const LSP_USAGE = `usage: tensor-lens lsp --stdio

Runs the Tensor Lens language server over standard input and output, for any LSP client.`;

/** Adding a command is adding a line here. */
const commands: Record<string, Command> = {
  check: { summary: 'check tensor shapes in .ts files and report runtime errors before they happen', run: async args => (await import('./check')).checkCommand(args) },
  shapes: { summary: "list every tensor declaration's inferred shape in a file", run: async args => (await import('./shapes')).shapesCommand(args) },
  loss: { summary: 'evaluate a loss on tensor files with the WebAssembly engine', run: async args => (await import('./loss')).lossCommand(args) },
  bench: { summary: 'benchmark the engine and the analyzer against their peers', run: async args => (await import('./bench')).benchCommand(args) },
  lsp: { summary: 'run the language server (--stdio)', run: lspCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map(k => k.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: tensor-lens <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'tensor-lens <command> --help' for a command's options.`;
}

function lspCommand(args: readonly string[]): number | Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(LSP_USAGE);
    return 0;
  }
  if (!args.includes('--stdio')) {
    process.stderr.write(`tensor-lens lsp: only --stdio is supported\n\n${LSP_USAGE}\n`);
    return 2;
  }
  // The server bundle starts its connection when loaded and reads --stdio from process.argv. It is
  // loaded at run time (not bundled here) so the command line stays small.
  const server = join(__dirname, '..', 'server', 'server.js');
  const load = require as (id: string) => unknown;
  load(server);
  // The connection keeps the process alive; exit when the client closes it.
  return new Promise<number>(() => undefined);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const command = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`tensor-lens: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  return command.run(rest);
}

declare const TENSOR_LENS_VERSION: string | undefined;
const VERSION = typeof TENSOR_LENS_VERSION === 'string' ? TENSOR_LENS_VERSION : '0.1.0';

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
  },
  err => {
    process.stderr.write(`tensor-lens: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
