// One build for every runtime: the wasm engine from source (AssemblyScript), then one esbuild
// context per runtime (extension host, language server, command line, Node compute worker,
// webview page and webview worker). `--production` minifies; `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, cpSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWasm } from './buildWasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const node = { platform: 'node', format: 'cjs', target: 'node20' };
const browser = { platform: 'browser', format: 'iife', target: 'chrome120' };

/** entry (relative to the root) → output (relative to dist/) and runtime options */
const contexts = [
  { entry: 'client/extension.ts', out: 'client/extension.js', ...node, external: ['vscode'] },
  { entry: 'server/server.ts', out: 'server/server.js', ...node },
  { entry: 'cli/main.ts', out: 'cli/main.js', ...node },
  { entry: 'compute/node/worker.ts', out: 'compute/nodeWorker.js', ...node },
  { entry: 'webview/main.ts', out: 'webview/main.js', ...browser },
  { entry: 'webview/worker.ts', out: 'webview/worker.js', ...browser },
];

async function main() {
  mkdirSync(join(root, 'dist'), { recursive: true });
  await buildWasm({ root, production });
  copyAssets();
  const built = [];
  for (const c of contexts) {
    const entry = join(root, c.entry);
    if (!existsSync(entry)) continue;
    const options = {
      entryPoints: [entry],
      outfile: join(root, 'dist', c.out),
      bundle: true,
      platform: c.platform,
      format: c.format,
      target: c.target,
      external: c.external ?? [],
      sourcemap: production ? false : 'linked',
      minify: production,
      logLevel: 'warning',
      legalComments: 'none',
    };
    if (watch) {
      const ctx = await esbuild.context(options);
      await ctx.watch();
    } else {
      // Written whole and renamed into place, so a process reading dist/ never sees half a bundle.
      const result = await esbuild.build({ ...options, write: false });
      for (const f of result.outputFiles) writeAtomically(f.path, f.contents);
    }
    built.push(c.out);
  }
  console.log(`built ${built.length} bundles${watch ? ' (watching)' : ''}: ${built.join(', ')}`);
}

function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/** Static files the webview loads, copied next to its bundles. */
function copyAssets() {
  const out = join(root, 'dist', 'webview');
  mkdirSync(out, { recursive: true });
  const toolkit = join(root, 'node_modules', '@vscode', 'webview-ui-toolkit', 'dist', 'toolkit.min.js');
  if (existsSync(toolkit)) cpSync(toolkit, join(out, 'toolkit.min.js'));
  const css = join(root, 'webview', 'panel.css');
  if (existsSync(css)) cpSync(css, join(out, 'panel.css'));
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
