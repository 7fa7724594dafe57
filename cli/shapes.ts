// `tensor-lens shapes <file> [--format text|json]`: every tensor-valued declaration and parameter
// with its inferred shape, as the editor's hover and inlay hints show them.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AnalysisProject } from '../server/analysis';
import { parseArgs } from './check';
import { displayPath, fsHost, lineColumn, lineStarts, loadConfig, UsageError } from './files';
import type { CheckOutput } from './check';

export const SHAPES_USAGE = `usage: tensor-lens shapes <file> [--format text|json] [--config tensorlens.json]

Lists every tensor-valued declaration and parameter of a file with its inferred shape and dtype.
  --format text   file:line:col name: [N, 3, H, W] float32 (default)
  --format json   {"shapes": [{line, column, name, shape, dtype}]}: dims are numbers, names or
                  expressions ("H*W"), "*batch" for a variadic group, "?" when unknown; shape is
                  null when even the rank is unknown, dtype null when unknown.`;

export function shapesCommand(args: readonly string[], out: CheckOutput = { stdout: s => process.stdout.write(s), stderr: s => process.stderr.write(s) }): number {
  let parsed;
  try {
    parsed = parseArgs(args, ['text', 'json']);
    if (parsed.help) {
      out.stdout(SHAPES_USAGE + '\n');
      return 0;
    }
    if (parsed.paths.length !== 1) throw new UsageError('expected exactly one file');
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`tensor-lens shapes: ${e.message}\n\n${SHAPES_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const file = resolve(parsed.paths[0]);
  let text: string;
  let project: AnalysisProject;
  try {
    text = readFileSync(file, 'utf8');
    project = new AnalysisProject(fsHost, loadConfig(file, parsed.config).options);
  } catch (e) {
    out.stderr(`tensor-lens shapes: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  project.updateFile(file, text);
  const result = project.analyze(file);
  const starts = lineStarts(text);
  const shapes = result.shapes
    .filter(s => s.kind !== 'expression')
    .map(s => ({ ...lineColumn(starts, s.range.start), name: s.name ?? '', shape: s.shape, dtype: s.dtype, shapeText: s.shapeText }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
  if (parsed.format === 'json') {
    out.stdout(JSON.stringify({ shapes: shapes.map(({ shapeText: _t, ...s }) => s) }, null, 2) + '\n');
  } else {
    const path = displayPath(file);
    for (const s of shapes) out.stdout(`${path}:${s.line}:${s.column} ${s.name}: ${s.shapeText}${s.dtype ? ' ' + s.dtype : ''}\n`);
  }
  return 0;
}
