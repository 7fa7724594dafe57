// The analyzer benchmark: `analyzeText` on a generated 4,000-line annotated training file against
// TypeScript checking the same file, in the same run — both `tsc --noEmit` as a user runs it (a
// process) and the compiler API in this process (no start-up cost: the stricter comparison).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { analyzeText } from '../server/analysis/index';
import { median } from './data';
import { generateProgram as generateCleanProgram, JS_PYTORCH_SHIM } from '../test/helpers/generateProgram';
import { JS_PYTORCH_DECLARATIONS, generateProgram } from './generateProgram';
import { fmt, table } from './machine';

export interface AnalyzerResult {
  /** Which generated file. */
  readonly file: string;
  readonly lines: number;
  readonly diagnostics: number;
  readonly shapes: number;
  /** First call (cold caches, JIT not yet warm), then the median of warm calls. */
  readonly analyzeFirstMs: number;
  readonly analyzeMs: number;
  readonly analyzeCpuMs: number;
  /** `ts.createProgram` + `getPreEmitDiagnostics` in this process, median. */
  readonly tscApiMs: number;
  readonly tscApiCpuMs: number;
  /** `node tsc --noEmit` as a child process, wall time, median. */
  readonly tscCliMs: number;
  /** The child's own CPU time (user + system), median. */
  readonly tscCliCpuMs: number;
  readonly tscDiagnostics: number;
  readonly reps: number;
}

interface Sample { readonly wall: number; readonly cpu: number }

/** A generated file to check, with the declarations that let tsc resolve its imports. */
interface BenchInput {
  readonly label: string;
  readonly text: string;
  readonly declarations: string;
  readonly description: string;
}

/**
 * Two generated files: the analysis-core helper's clean training file (`test/helpers/generateProgram.ts`,
 * js-pytorch declared as `any`, so tsc's share is mostly its libraries) and this folder's file with
 * a typed js-pytorch declaration (tsc checks every call) and deliberate shape errors (the analysis
 * reports them).
 */
export async function analyzerBench(opts: { root: string; quick: boolean; log: (line: string) => void }): Promise<AnalyzerResult[]> {
  const lines = opts.quick ? 1000 : 4000;
  const typed = generateProgram(lines);
  const inputs: BenchInput[] = [
    {
      label: 'test/helpers/generateProgram.ts (clean; js-pytorch as any)',
      text: generateCleanProgram({ lines }),
      declarations: JS_PYTORCH_SHIM,
      description: 'the analysis-core generator: annotated modules, helpers, training loops; checks clean',
    },
    {
      label: 'bench/generateProgram.ts (typed js-pytorch; deliberate errors)',
      text: typed.text,
      declarations: JS_PYTORCH_DECLARATIONS,
      description: `${typed.blocks} functions, ${typed.brokenBlocks} with a deliberate shape error`,
    },
  ];
  const results: AnalyzerResult[] = [];
  for (const input of inputs) {
    opts.log('');
    opts.log(`-- ${input.label}`);
    results.push(await measureFile(opts, input));
  }
  return results;
}

async function measureFile(opts: { root: string; quick: boolean; log: (line: string) => void }, input: BenchInput): Promise<AnalyzerResult> {
  const { log } = opts;
  const reps = opts.quick ? 3 : 7;
  const program = { text: input.text, lines: input.text.split('\n').length };
  const dir = mkdtempSync(join(tmpdir(), 'tl-analyzer-bench-'));
  try {
    const file = join(dir, 'train.ts');
    const decls = join(dir, 'js-pytorch.d.ts');
    writeFileSync(file, program.text);
    writeFileSync(decls, input.declarations);
    const compilerOptions: ts.CompilerOptions = {
      noEmit: true, strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler, types: [], skipLibCheck: false,
    };
    const tscApi = (): number => {
      const p = ts.createProgram([file, decls], compilerOptions);
      return ts.getPreEmitDiagnostics(p).length;
    };
    const tscBin = join(opts.root, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tscBin)) throw new Error(`${tscBin} not found`);
    // The child reports its own CPU time on exit: under load, wall time measures the machine's other
    // work as much as tsc's.
    const hook = join(dir, 'cpuHook.js');
    writeFileSync(hook, "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\nCPU_US ' + (u.user + u.system) + '\\n'); });\n");
    const tscCli = (): Sample => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, ['--require', hook, tscBin, '--noEmit', '--strict', '--target', 'es2022',
        '--module', 'esnext', '--moduleResolution', 'bundler', file, decls], { encoding: 'utf8' });
      const wall = performance.now() - t0;
      // Exit 0, or 2 with errors located in the checked files; anything else (a usage error, a crash)
      // would time something other than the check.
      const located = new RegExp(`(train\\.ts|js-pytorch\\.d\\.ts)\\(\\d+,\\d+\\): error TS`).test(r.stdout);
      if (r.status !== 0 && !(r.status === 2 && located)) {
        throw new Error(`tsc --noEmit failed (exit ${r.status}): ${(r.stdout + r.stderr).slice(0, 300)}`);
      }
      const cpu = /CPU_US (\d+)/.exec(r.stderr);
      return { wall, cpu: cpu ? Number(cpu[1]) / 1000 : NaN };
    };
    const timed = (fn: () => unknown): Sample => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      return { wall, cpu: (c.user + c.system) / 1000 };
    };

    let first: ReturnType<typeof analyzeText> | undefined;
    const firstSample = timed(() => (first = analyzeText(file, program.text)));
    const tscDiagnostics = tscApi(); // warm-up of the compiler API, and its diagnostics count
    const analyzeSamples: Sample[] = [];
    const apiSamples: Sample[] = [];
    const cliSamples: Sample[] = [];
    for (let r = 0; r < reps; r++) {
      analyzeSamples.push(timed(() => analyzeText(file, program.text)));
      apiSamples.push(timed(tscApi));
      if (r < 3) cliSamples.push(tscCli());
    }
    const med = (xs: Sample[], k: keyof Sample) => median(xs.map(x => x[k]));
    const result: AnalyzerResult = {
      file: input.label,
      lines: program.lines,
      diagnostics: first!.diagnostics.length,
      shapes: first!.shapes.length,
      analyzeFirstMs: firstSample.wall,
      analyzeMs: med(analyzeSamples, 'wall'),
      analyzeCpuMs: med(analyzeSamples, 'cpu'),
      tscApiMs: med(apiSamples, 'wall'),
      tscApiCpuMs: med(apiSamples, 'cpu'),
      tscCliMs: med(cliSamples, 'wall'),
      tscCliCpuMs: med(cliSamples, 'cpu'),
      tscDiagnostics,
      reps,
    };
    log(`file: ${result.lines} lines, ${input.description}; ` +
      `the analysis found ${result.diagnostics} diagnostics and ${result.shapes} shapes; tsc reports ${tscDiagnostics} type errors`);
    const r = result;
    log(table(['measure', 'wall ms', 'CPU ms', 'analyzer ÷ this (wall)', '(CPU)'], [
      ['analyzeText, warm (median)', r.analyzeMs.toFixed(1), r.analyzeCpuMs.toFixed(1), '1', '1'],
      ['analyzeText, first call', r.analyzeFirstMs.toFixed(1), '', '', ''],
      ['tsc --noEmit, a process (median of 3)', r.tscCliMs.toFixed(1), r.tscCliCpuMs.toFixed(1),
        fmt(r.analyzeMs / r.tscCliMs), fmt(r.analyzeCpuMs / r.tscCliCpuMs)],
      ['tsc, compiler API in this process', r.tscApiMs.toFixed(1), r.tscApiCpuMs.toFixed(1),
        fmt(r.analyzeMs / r.tscApiMs), fmt(r.analyzeCpuMs / r.tscApiCpuMs)],
    ]));
    const verdict = (x: number) => `${fmt(x)} ${x <= 1 / 3 ? 'met' : 'MISSED'}`;
    log(`target: analyzer ≤ 1/3 of tsc --noEmit: wall ${verdict(r.analyzeMs / r.tscCliMs)}, CPU ${verdict(r.analyzeCpuMs / r.tscCliCpuMs)}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
