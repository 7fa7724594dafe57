// `npm run bench` (after the build): bundles the benchmark (bench/main.ts, which imports the engine and
// the analysis from source) with esbuild and runs it. Usage: node bench/run.mjs [--quick]
// [--only engine,readers,analyzer,lsp] [--contestant NAME] [--out results.json]
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const value = name => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

const outfile = join(root, 'dist', 'bench', 'main.js');
await esbuild.build({
  entryPoints: [join(root, 'bench', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The compiler is loaded from node_modules rather than copied into the bundle; the peers are
  // required at run time by name (bench/machine.ts), so esbuild never sees them.
  external: ['typescript'],
  sourcemap: 'linked',
  logLevel: 'warning',
});

const { runBench } = createRequire(import.meta.url)(outfile);
const code = await runBench({
  root,
  quick: args.includes('--quick'),
  sections: value('--only')?.split(','),
  only: value('--contestant'),
  out: value('--out'),
});
process.exit(code);
