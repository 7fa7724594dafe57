// `tensor-lens bench [--quick]`: the same benchmark as `npm run bench` (bench/main.ts), from the CLI.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runBench, type BenchSection } from '../bench/main';

export const BENCH_USAGE = `usage: tensor-lens bench [--quick] [--only engine,readers,analyzer,lsp] [--contestant NAME] [--out results.json]

Measures, side by side in one process: the cross-entropy engine against onnxruntime-web, native
onnxruntime-node, TF.js (wasm) and plain JavaScript; the tensor file readers' throughput; the shape
analysis against tsc --noEmit; and the language server's edit → diagnostics and hover latency.
--quick runs small sizes with few repetitions. Peers that are not installed (they are development
dependencies) are skipped and named. Results are also written as JSON (default dist/bench/).`;

const SECTIONS: readonly BenchSection[] = ['engine', 'readers', 'analyzer', 'lsp'];

/** Runs the command; resolves to the exit code (0 ran, 1 a section could not run, 2 usage). */
export async function benchCommand(args: readonly string[], root = defaultRoot()): Promise<number> {
  let quick = false;
  let sections: BenchSection[] | undefined;
  let only: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--quick') quick = true;
      else if (a === '--only') {
        sections = next().split(',').map(s => s.trim()) as BenchSection[];
        const bad = sections.find(s => !SECTIONS.includes(s));
        if (bad) throw new UsageError(`unknown section '${bad}' (sections: ${SECTIONS.join(', ')})`);
      } else if (a === '--contestant') only = next();
      else if (a === '--out') out = next();
      else if (a === '--help' || a === '-h') {
        console.log(BENCH_USAGE);
        return 0;
      } else throw new UsageError(`unknown option '${a}'`);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      console.error(`tensor-lens bench: ${err.message}\n${BENCH_USAGE}`);
      return 2;
    }
  }
  if (!existsSync(join(root, 'dist', 'compute'))) {
    console.error(`tensor-lens bench: no built engine under ${join(root, 'dist', 'compute')} (run npm run build in the checkout)`);
    return 2;
  }
  return runBench({ root, quick, sections, only, out });
}

class UsageError extends Error {}

/** The checkout (or installed package) root: this file is bundled into dist/cli/main.js. */
function defaultRoot(): string {
  return join(__dirname, '..', '..');
}
