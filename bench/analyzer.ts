// The analyzer benchmark: `analyzeText` on a generated 4,000-line annotated training file against
// TypeScript checking the same file, in the same run — both `tsc --noEmit` as a user runs it (a
// process) and the compiler API in this process (no start-up cost: the stricter comparison).

import { execFileSync } from 'node:child_process';
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
  /** `ts.createProgram` + `getPreEmitDiagnostics` in this process, median. */
  readonly tscApiMs: number;
  /** `node tsc --noEmit` as a child process, wall time, median. */
  readonly tscCliMs: number;
  readonly tscDiagnostics: number;
  readonly reps: number;
}

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
    const tscApi = () => {
      const p = ts.createProgram([file, decls], compilerOptions);
      return ts.getPreEmitDiagnostics(p).length;
    };
    const tscBin = join(opts.root, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tscBin)) throw new Error(`${tscBin} not found`);
    const tscCli = () => {
      try {
        execFileSync(process.execPath, [tscBin, '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext',
          '--moduleResolution', 'bundler', '--types', '', file, decls], { stdio: 'pipe' });
      } catch (err) {
        // tsc exits 2 when it reports errors; a crash would have no output to speak of.
        const out = String((err as { stdout?: Buffer }).stdout ?? '');
        if (!/error TS\d+/.test(out)) throw err;
      }
    };

    let t0 = performance.now();
    const first = analyzeText(file, program.text);
    const analyzeFirstMs = performance.now() - t0;
    const tscDiagnostics = tscApi(); // warm-up of the compiler API, and its diagnostics count
    const analyzeTimes: number[] = [];
    const apiTimes: number[] = [];
    const cliTimes: number[] = [];
    for (let r = 0; r < reps; r++) {
      t0 = performance.now();
      analyzeText(file, program.text);
      analyzeTimes.push(performance.now() - t0);
      t0 = performance.now();
      tscApi();
      apiTimes.push(performance.now() - t0);
      if (r < 3) {
        t0 = performance.now();
        tscCli();
        cliTimes.push(performance.now() - t0);
      }
    }
    const result: AnalyzerResult = {
      lines: program.lines,
      diagnostics: first.diagnostics.length,
      shapes: first.shapes.length,
      analyzeFirstMs,
      analyzeMs: median(analyzeTimes),
      tscApiMs: median(apiTimes),
      tscCliMs: median(cliTimes),
      tscDiagnostics,
      reps,
    };
    log(`file: ${result.lines} lines, ${program.blocks} functions (${program.brokenBlocks} with a deliberate shape error); ` +
      `the analysis found ${result.diagnostics} diagnostics and ${result.shapes} shapes; tsc reports ${tscDiagnostics} type errors`);
    log(table(['measure', 'median ms', 'analyzer ÷ this'], [
      ['analyzeText (warm)', result.analyzeMs.toFixed(1), '1'],
      ['analyzeText (first call)', analyzeFirstMs.toFixed(1), ''],
      ['tsc via the compiler API, in process', result.tscApiMs.toFixed(1), fmt(result.analyzeMs / result.tscApiMs)],
      ['tsc --noEmit (process)', result.tscCliMs.toFixed(1), fmt(result.analyzeMs / result.tscCliMs)],
    ]));
    const want = 1 / 3;
    log(`target: analyzer ≤ 1/3 of tsc: ${fmt(result.analyzeMs / result.tscCliMs)} of tsc --noEmit ` +
      `${result.analyzeMs / result.tscCliMs <= want ? 'met' : 'MISSED'}; ${fmt(result.analyzeMs / result.tscApiMs)} of the in-process check ` +
      `${result.analyzeMs / result.tscApiMs <= want ? 'met' : 'MISSED'}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
