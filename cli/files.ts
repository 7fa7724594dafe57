// Finding the files `tensor-lens check` analyses and the `tensorlens.json` that configures them:
// directories are walked for `.ts`/`.tsx` (not `.d.ts`), skipping `node_modules`, dot-folders and
// whatever `.gitignore` files (and the config's `exclude`) name.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { AnalysisOptions } from '../server/analysis';

export class UsageError extends Error {}

export interface Config {
  /** Where it was read from, or undefined when none was found. */
  readonly file?: string;
  readonly options: AnalysisOptions;
  readonly exclude: readonly string[];
}

/**
 * `tensorlens.json`: `{ "torchModules": [...], "functions": { "name": "(a: [N]) -> []" }, "exclude": [globs] }`.
 * Found in `start` or its parents unless given. A malformed file is a usage error naming the problem.
 */
export function loadConfig(start: string, explicit?: string): Config {
  let file = explicit ? resolve(explicit) : undefined;
  if (explicit && !existsSync(file!)) throw new UsageError(`config file not found: ${explicit}`);
  if (!file) {
    let dir = resolve(start);
    if (existsSync(dir) && statSync(dir).isFile()) dir = dirname(dir);
    for (;;) {
      const candidate = join(dir, 'tensorlens.json');
      if (existsSync(candidate)) { file = candidate; break; }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  if (!file) return { options: {}, exclude: [] };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const strings = (k: string): string[] => {
    const v = o[k];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(x => typeof x === 'string')) throw new UsageError(`${file}: "${k}" must be an array of strings`);
    return v as string[];
  };
  const functions = o.functions;
  if (functions !== undefined && (typeof functions !== 'object' || functions === null || Array.isArray(functions) || !Object.values(functions).every(v => typeof v === 'string'))) {
    throw new UsageError(`${file}: "functions" must map names to signature strings such as "(pred: [N, C], target: [N]) -> []"`);
  }
  return {
    file,
    options: { torchModules: strings('torchModules'), functions: functions as Record<string, string> | undefined },
    exclude: strings('exclude'),
  };
}

/** A `.gitignore`-style pattern as a test on a path relative to the folder that holds the pattern. */
export function globToRegExp(pattern: string): RegExp {
  let p = pattern.trim();
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  const anchored = p.startsWith('/') || p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${anchored ? '^' : '(^|/)'}${re}(/.*)?$`);
}

interface Ignore {
  readonly base: string;
  readonly re: RegExp;
}

function readIgnores(dir: string): Ignore[] {
  const f = join(dir, '.gitignore');
  if (!existsSync(f)) return [];
  // FIXME: negated patterns (`!keep.ts`) are not supported; they are skipped rather than misread.
  return readFileSync(f, 'utf8').split(/\r?\n/).map(l => l.trim()).filter(l => l && !l.startsWith('#') && !l.startsWith('!'))
    .map(l => ({ base: dir, re: globToRegExp(l) }));
}

function ignored(path: string, ignores: readonly Ignore[]): boolean {
  for (const ig of ignores) {
    const rel = relative(ig.base, path).split(sep).join('/');
    if (!rel.startsWith('..') && ig.re.test(rel)) return true;
  }
  return false;
}

/** The files to check: explicit files as given, directories walked. Sorted, without duplicates. */
export function collectFiles(paths: readonly string[], exclude: readonly string[], configDir: string | undefined): string[] {
  const out = new Set<string>();
  const base: Ignore[] = exclude.map(e => ({ base: configDir ?? process.cwd(), re: globToRegExp(e) }));
  const walk = (dir: string, ignores: Ignore[]) => {
    const here = [...ignores, ...readIgnores(dir)];
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (ignored(p, here)) continue;
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p, here);
      else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.add(p);
    }
  };
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new UsageError(`no such file or directory: ${p}`);
    if (statSync(abs).isDirectory()) {
      // .gitignore files above the walked folder (up to the repository root) apply too.
      const inherited: Ignore[] = [];
      for (let d = dirname(abs); ; d = dirname(d)) {
        inherited.push(...readIgnores(d));
        if (existsSync(join(d, '.git')) || dirname(d) === d) break;
      }
      walk(abs, [...base, ...inherited]);
    } else {
      out.add(abs);
    }
  }
  return [...out].sort();
}

/** Reads files from disk for the analysis host (imports of checked files). */
export const fsHost = {
  readFile(fileName: string): string | undefined {
    try {
      return readFileSync(fileName, 'utf8');
    } catch {
      return undefined;
    }
  },
  fileExists(fileName: string): boolean {
    try {
      return statSync(fileName).isFile();
    } catch {
      return false;
    }
  },
};

/** 1-based line and column (UTF-16 code units, as tsc counts) of an offset. */
export function lineColumn(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}

export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** `a/b.ts` relative to the working directory, with forward slashes (what tsc prints). */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return (rel.startsWith('..') ? file : rel).split(sep).join('/');
}
