// `tensor-lens check [paths…] [--format text|json|sarif] [--config tensorlens.json]`: the editor's
// diagnostics for a whole tree, printed like tsc (`file:line:col - error TL2001: message`), as JSON,
// or as SARIF 2.1.0 for code-scanning services. Exit 0 clean, 1 any error, 2 usage or internal failure.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AnalysisProject, type Diagnostic } from '../server/analysis';
import { diagnosticTable } from '../server/analysis/diagnosticTable';
import { collectFiles, displayPath, fsHost, lineColumn, lineStarts, loadConfig, UsageError } from './files';

export const CHECK_USAGE = `usage: tensor-lens check [paths…] [--format text|json|sarif] [--config tensorlens.json]

Checks tensor shapes in TypeScript files (directories are walked for .ts/.tsx, skipping node_modules
and .gitignore'd paths) and prints PyTorch's and TF.js's runtime errors found before the code runs.
  --format text    file:line:col - error TL2001: message (default), with the reason indented below
  --format json    {"files": n, "diagnostics": [{file, line, column, endLine, endColumn, severity, code, message}]}
  --format sarif   SARIF 2.1.0
  --config FILE    tensorlens.json to use (default: found in the checked folder or its parents)
Exit status: 0 no errors, 1 at least one error, 2 usage or internal failure.`;

type Format = 'text' | 'json' | 'sarif';

export interface CheckOutput {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const processOutput: CheckOutput = {
  stdout: s => process.stdout.write(s),
  stderr: s => process.stderr.write(s),
};

export interface CheckedDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly severity: Diagnostic['severity'];
  readonly code: string;
  readonly message: string;
  readonly reason?: string;
}

interface ParsedArgs {
  readonly paths: string[];
  readonly format: string;
  readonly config?: string;
  readonly help: boolean;
}

export function parseArgs(args: readonly string[], formats: readonly string[]): ParsedArgs {
  const paths: string[] = [];
  let format = 'text';
  let config: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (name: string) => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--format' || a.startsWith('--format=')) format = value('--format');
    else if (a === '--config' || a.startsWith('--config=')) config = value('--config');
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else paths.push(a);
  }
  if (!formats.includes(format)) throw new UsageError(`unknown format '${format}' (use ${formats.join(', ')})`);
  return { paths, format, config, help };
}

/** Analyses the files; the diagnostics with 1-based positions, and how many files were checked. */
export function runCheck(paths: readonly string[], configPath?: string): { files: string[]; diagnostics: CheckedDiagnostic[]; configFile?: string } {
  const config = loadConfig(paths[0] ?? '.', configPath);
  const files = collectFiles(paths.length ? paths : ['.'], config.exclude, config.file ? dirname(config.file) : undefined);
  const project = new AnalysisProject(fsHost, config.options);
  const diagnostics: CheckedDiagnostic[] = [];
  for (const p of project.configProblems()) {
    diagnostics.push({ file: displayPath(config.file ?? 'tensorlens.json'), line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code: p.code, message: p.message });
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    project.updateFile(file, text);
    const result = project.analyze(file);
    project.closeFile(file);
    const starts = lineStarts(text);
    for (const d of result.diagnostics) {
      const s = lineColumn(starts, d.range.start);
      const e = lineColumn(starts, d.range.end);
      diagnostics.push({ file: displayPath(file), line: s.line, column: s.column, endLine: e.line, endColumn: e.column, severity: d.severity, code: d.code, message: d.message, reason: d.reason });
    }
  }
  return { files, diagnostics, configFile: config.file };
}

export function checkCommand(args: readonly string[], out: CheckOutput = processOutput): number {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(args, ['text', 'json', 'sarif']);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`tensor-lens check: ${e.message}\n\n${CHECK_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    out.stdout(CHECK_USAGE + '\n');
    return 0;
  }
  let result: ReturnType<typeof runCheck>;
  try {
    result = runCheck(parsed.paths, parsed.config);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`tensor-lens check: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const { files, diagnostics } = result;
  const format = parsed.format as Format;
  if (format === 'json') {
    const plain = diagnostics.map(({ reason: _reason, ...d }) => d);
    out.stdout(JSON.stringify({ files: files.length, diagnostics: plain }, null, 2) + '\n');
  } else if (format === 'sarif') {
    out.stdout(JSON.stringify(toSarif(diagnostics), null, 2) + '\n');
  } else {
    for (const d of diagnostics) {
      out.stdout(`${d.file}:${d.line}:${d.column} - ${d.severity} ${d.code}: ${d.message}\n`);
      if (d.reason) out.stdout(`    ${d.reason}\n`);
    }
    const count = (s: Diagnostic['severity']) => diagnostics.filter(d => d.severity === s).length;
    const parts = [plural(count('error'), 'error'), plural(count('warning'), 'warning')];
    if (count('information')) parts.push(`${count('information')} information`);
    out.stdout(`${diagnostics.length ? '\n' : ''}Checked ${plural(files.length, 'file')}: ${parts.join(', ')}.\n`);
  }
  return diagnostics.some(d => d.severity === 'error') ? 1 : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** GitHub-style heading anchor of `### TL2001 spatial-target-rank`. */
function anchor(code: string, name: string): string {
  return `${code} ${name}`.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

function docsUri(): string | undefined {
  // The bundle lives in dist/cli; docs/ is at the package root.
  return pathToFileURL(join(__dirname, '..', '..', 'docs', 'diagnostics.md')).href;
}

const SARIF_LEVEL = { error: 'error', warning: 'warning', information: 'note' } as const;

/** SARIF 2.1.0: one run, the rules from the diagnostic table, one result per diagnostic. */
export function toSarif(diagnostics: readonly CheckedDiagnostic[]): object {
  const docs = docsUri();
  const rules = diagnosticTable.map(d => ({
    id: d.code,
    name: d.name,
    shortDescription: { text: d.message.replace(/\{r?\d+\}/g, '…') },
    ...(d.reason && !/\{r\d+\}/.test(d.reason) ? { fullDescription: { text: d.reason } } : {}),
    ...(docs ? { helpUri: `${docs}#${anchor(d.code, d.name)}` } : {}),
    defaultConfiguration: { level: SARIF_LEVEL[d.severity] },
  }));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'tensor-lens', informationUri: docs, rules } },
      results: diagnostics.map(d => ({
        ruleId: d.code,
        ...(index.has(d.code) ? { ruleIndex: index.get(d.code) } : {}),
        level: SARIF_LEVEL[d.severity],
        message: { text: d.reason ? `${d.message}\n${d.reason}` : d.message },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: d.file },
            region: { startLine: d.line, startColumn: d.column, endLine: d.endLine, endColumn: d.endColumn },
          },
        }],
      })),
    }],
  };
}
