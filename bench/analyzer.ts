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
import { JS_PYTORCH_DECLARATIONS, generateProgram } from './generateProgram';
import { fmt, table } from './machine';

export interface AnalyzerResult {
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

export async function analyzerBench(opts: { root: string; quick: boolean; log: (line: string) => void }): Promise<AnalyzerResult> {
  const { log } = opts;
  const reps = opts.quick ? 3 : 7;
  const program = generateProgram(opts.quick ? 1000 : 4000);
  const dir = mkdtempSync(join(tmpdir(), 'tl-analyzer-bench-'));
  try {
    const file = join(dir, 'train.ts');
    const decls = join(dir, 'js-pytorch.d.ts');
    writeFileSync(file, program.text);
    writeFileSync(decls, JS_PYTORCH_DECLARATIONS);
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
    log(`file: ${result.lines} lines, ${program.blocks} functions (${program.brokenBlocks} with a deliberate shape error); ` +
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
