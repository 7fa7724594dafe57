// Builds the command line from source into a temporary folder once per test file and runs it as a
// real subprocess, so CLI tests exercise exactly what `tensor-lens` runs (minus `npm run build`).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = join(__dirname, '..', '..');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Bundles cli/main.ts to `<tmp>/dist/cli/main.js`; returns a runner. */
export async function buildCli(): Promise<(args: readonly string[], cwd: string) => CliResult> {
  const out = mkdtempSync(join(tmpdir(), 'tensor-lens-cli-'));
  const main = join(out, 'dist', 'cli', 'main.js');
  await build({
    entryPoints: [join(root, 'cli', 'main.ts')],
    outfile: main,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
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
