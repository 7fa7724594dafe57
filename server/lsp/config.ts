// The server's configuration: the `tensorLens.*` settings (pulled from the client) merged with each
// workspace folder's `tensorlens.json`. Bad input is reported with its position and never loses the
// rest: an invalid field is skipped, an unreadable file keeps the previous good value.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisOptions } from '../analysis/api';

export interface Settings {
  readonly torchModules: readonly string[];
  readonly inlayHintsEnabled: boolean;
  readonly codeLensEnabled: boolean;
}

export const defaultSettings: Settings = { torchModules: [], inlayHintsEnabled: true, codeLensEnabled: true };

/** Reads the `tensorLens` settings section as a client sends it (`workspace/configuration` or initializationOptions). */
export function parseSettings(raw: unknown): Settings {
  const section = isRecord(raw) ? raw : {};
  const inlay = isRecord(section.inlayHints) ? section.inlayHints : {};
  const lens = isRecord(section.codeLens) ? section.codeLens : {};
  return {
    torchModules: stringArray(section.torchModules) ?? [],
    inlayHintsEnabled: typeof inlay.enabled === 'boolean' ? inlay.enabled : defaultSettings.inlayHintsEnabled,
    codeLensEnabled: typeof lens.enabled === 'boolean' ? lens.enabled : defaultSettings.codeLensEnabled,
  };
}

export interface ProjectConfig {
  readonly torchModules: readonly string[];
  readonly functions: Readonly<Record<string, string>>;
}

export interface ConfigProblem {
  readonly message: string;
  /** UTF-16 offset into the file, when the problem has a place. */
  readonly offset?: number;
}

export interface LoadedProjectConfig {
  readonly fileName: string;
  readonly config: ProjectConfig;
  readonly problems: readonly ConfigProblem[];
  /** The file's text, for placing problems; undefined when the file does not exist. */
  readonly text: string | undefined;
}

export const CONFIG_FILE_NAME = 'tensorlens.json';

/** Reads `<folder>/tensorlens.json`; a missing file is an empty config, a broken one a list of problems. */
export function loadProjectConfig(folder: string): LoadedProjectConfig {
  const fileName = join(folder, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(fileName, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problems = code === 'ENOENT' || code === 'ENOTDIR' ? [] : [{ message: `cannot read ${CONFIG_FILE_NAME}: ${(err as Error).message}` }];
    return { fileName, config: emptyProjectConfig, problems, text: undefined };
  }
  const parsed = parseProjectConfig(text);
  return { fileName, text, ...parsed };
}

export const emptyProjectConfig: ProjectConfig = { torchModules: [], functions: {} };

export function parseProjectConfig(text: string): { config: ProjectConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  if (text.trim() === '') return { config: emptyProjectConfig, problems };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    problems.push({ message: `${CONFIG_FILE_NAME} is not valid JSON: ${message}`, offset: at ? Number(at[1]) : 0 });
    return { config: emptyProjectConfig, problems };
  }
  if (!isRecord(raw)) {
    problems.push({ message: `${CONFIG_FILE_NAME} must hold an object: { "torchModules": [...], "functions": {...} }`, offset: 0 });
    return { config: emptyProjectConfig, problems };
  }
  let torchModules: string[] = [];
  if (raw.torchModules !== undefined) {
    const list = stringArray(raw.torchModules);
    if (list) torchModules = list;
    else problems.push({ message: '"torchModules" must be an array of module names (strings)', offset: keyOffset(text, 'torchModules') });
  }
  const functions: Record<string, string> = {};
  if (raw.functions !== undefined) {
    if (!isRecord(raw.functions)) {
      problems.push({ message: '"functions" must be an object mapping a function name to its signature, e.g. "(pred: [N, C], target: [N]) -> []"', offset: keyOffset(text, 'functions') });
    } else {
      for (const [name, sig] of Object.entries(raw.functions)) {
        if (typeof sig === 'string') functions[name] = sig;
        else problems.push({ message: `"functions.${name}" must be a signature string such as "(pred: [N, C], target: [N]) -> []"`, offset: keyOffset(text, name) });
      }
    }
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'torchModules' && key !== 'functions' && key !== '$schema') {
      problems.push({ message: `unknown key "${key}" in ${CONFIG_FILE_NAME} (known: "torchModules", "functions")`, offset: keyOffset(text, key) });
    }
  }
  return { config: { torchModules, functions }, problems };
}

/** Settings and every folder's tensorlens.json, as the analysis takes them. */
export function analysisOptions(settings: Settings, projects: readonly ProjectConfig[]): AnalysisOptions {
  const torchModules = new Set<string>(settings.torchModules);
  const functions: Record<string, string> = {};
  for (const p of projects) {
    for (const m of p.torchModules) torchModules.add(m);
    Object.assign(functions, p.functions);
  }
  return { torchModules: [...torchModules], functions };
}

function keyOffset(text: string, key: string): number | undefined {
  const i = text.indexOf(JSON.stringify(key));
  return i < 0 ? undefined : i;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every(x => typeof x === 'string') ? [...v] : undefined;
}
