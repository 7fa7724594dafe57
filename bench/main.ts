// `npm run bench` and `tensor-lens bench`: the engine against its peers, the tensor file readers'
// throughput, the analyzer against tsc, and the language server's latency, each measured side by side in this one process.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { analyzerBench, type AnalyzerResult } from './analyzer';
import { engineBench, type EngineRow } from './engine';
import { describeMachine, machineHeader, type Machine } from './machine';
import { ourContestants } from './ours';
import { readersBench, type ReaderRow } from './readers';

export type BenchSection = 'engine' | 'readers' | 'analyzer' | 'lsp';

export interface BenchOptions {
  /** The checkout's root (where dist/ and bench/ are). */
  readonly root: string;
  /** Small sizes and few repetitions: a smoke run for CI and `tensor-lens bench --quick`. */
  readonly quick?: boolean;
  /** Sections to run (default all). */
  readonly sections?: readonly BenchSection[];
  /** Only engine contestants whose name contains this. */
  readonly only?: string;
  /** Where to write the results as JSON (default dist/bench/results[-quick].json). */
  readonly out?: string;
  readonly log?: (line: string) => void;
}

export interface BenchResults {
  readonly machine: Machine;
  readonly quick: boolean;
  readonly startedAt: string;
  engine?: EngineRow[];
  readers?: ReaderRow[];
  analyzer?: AnalyzerResult[];
  lsp?: unknown;
  readonly problems: string[];
}

/** Runs the benchmark; resolves to 0 when every section ran, 1 when one could not. Not a timed test. */
export async function runBench(opts: BenchOptions): Promise<number> {
  // Bound now: the language server section redirects console.log to this function while it runs.
  const log = opts.log ?? console.log.bind(console);
  const quick = opts.quick ?? false;
  const sections = opts.sections ?? ['engine', 'readers', 'analyzer', 'lsp'];
  const machine = describeMachine();
  const results: BenchResults = { machine, quick, startedAt: new Date().toISOString(), problems: [] };
  log(`Tensor Lens benchmark${quick ? ' (quick)' : ''}, ${results.startedAt}`);
  log(machineHeader(machine));

  if (sections.includes('engine')) {
    log('');
    log('== engine: cross_entropy, mean reduction, end to end from Float32Array logits and Int32Array targets ==');
    const ours = await ourContestants(opts.root, machine.cores, log);
    if (ours.length === 0) results.problems.push('engine: our engine is not available (build it with `npm run build`)');
    try {
      results.engine = await engineBench({ quick, cores: machine.cores, ours: ours.map(o => o.contestant), log, only: opts.only });
    } finally {
      for (const o of ours) await o.close();
    }
  }

  if (sections.includes('readers')) {
    log('');
    log('== readers: tensor files to tensors (readTensorFile) ==');
    try {
      results.readers = await readersBench({ quick, log });
    } catch (err) {
      results.problems.push(`readers: ${describe(err)}`);
      log(`readers benchmark could not run: ${describe(err)}`);
    }
  }

  if (sections.includes('analyzer')) {
    log('');
    log('== analyzer: shape check of a generated annotated training file vs tsc --noEmit on the same file ==');
    try {
      results.analyzer = await analyzerBench({ root: opts.root, quick, log });
    } catch (err) {
      results.problems.push(`analyzer: ${describe(err)}`);
      log(`analyzer benchmark could not run: ${describe(err)}`);
    }
  }

  if (sections.includes('lsp')) {
    log('');
    log('== language server: edit → published diagnostics and hover over stdio ==');
    try {
      results.lsp = await lspBench(opts.root, quick, log);
    } catch (err) {
      results.problems.push(`lsp: ${describe(err)}`);
      log(`language server benchmark could not run: ${describe(err)}`);
    }
  }

  const out = opts.out ?? join(opts.root, 'dist', 'bench', quick ? 'results-quick.json' : 'results.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 1));
  log('');
  log(`results written to ${out}`);
  for (const p of results.problems) log(`problem: ${p}`);
  return results.problems.length ? 1 : 0;
}

/**
 * The language server helper's `bench/lsp.mjs` (an ES module that finds the built server relative to
 * itself), loaded at run time so this file can also be bundled into the command line.
 */
async function lspBench(root: string, quick: boolean, log: (line: string) => void): Promise<unknown> {
  const script = join(root, 'bench', 'lsp.mjs');
  if (!existsSync(script)) throw new Error(`${script} is missing`);
  if (!existsSync(join(root, 'dist', 'server', 'server.js'))) throw new Error('dist/server/server.js is not built (npm run build)');
  const mod = (await import(pathToFileURL(script).href)) as {
    runLspBench(o: { lines?: number; edits?: number; hovers?: number; quiet?: boolean }): Promise<unknown>;
  };
  const original = console.log;
  // lsp.mjs prints its own table with console.log; route it through our log.
  console.log = (...args: unknown[]) => log(args.map(String).join(' '));
  try {
    return await mod.runLspBench(quick ? { lines: 1000, edits: 4, hovers: 5 } : { lines: 4000, edits: 10, hovers: 20 });
  } finally {
    console.log = original;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
