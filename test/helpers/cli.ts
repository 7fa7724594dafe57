// Builds the command line from source into a temporary folder once per test file and runs it as a
// real subprocess, so CLI tests exercise exactly what `tensor-lens` runs (minus `npm run build`).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = join(__dirname, '..', '..');

let lastBuild: string | undefined;

/** The bundle the last `buildCli` produced, for tests that drive it with their own stdio. */
export function builtCliPath(): string {
  if (!lastBuild) throw new Error('buildCli() first');
  return lastBuild;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Bundles cli/main.ts to `<tmp>/dist/cli/main.js` (and, with `withServer`, the language server next
 * to it as `tensor-lens lsp` expects); returns a runner.
 */
export async function buildCli(withServer = false): Promise<(args: readonly string[], cwd: string) => CliResult> {
  const out = mkdtempSync(join(tmpdir(), 'tensor-lens-cli-'));
  const main = join(out, 'dist', 'cli', 'main.js');
  const options = { bundle: true, platform: 'node' as const, format: 'cjs' as const, target: 'node20', logLevel: 'silent' as const };
  await build({ entryPoints: [join(root, 'cli', 'main.ts')], outfile: main, ...options });
  if (withServer) await build({ entryPoints: [join(root, 'server', 'server.ts')], outfile: join(out, 'dist', 'server', 'server.js'), ...options });
  lastBuild = main;
  return (args, cwd) => {
    const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** Writes files (path → text) under a fresh temporary folder and returns it. */
export function tempProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tensor-lens-project-'));
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}
