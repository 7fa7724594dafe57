// The examples are real TypeScript: they type-check with the compiler the project uses, against
// @tensorflow/tfjs's own typings. js-pytorch is not a dependency of this repository, so its two
// modules are declared here as untyped (every member `any`): that checks syntax, scoping and
// class-field order in the torch examples, not js-pytorch's API.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const examples = path.join(root, 'examples');
const AMBIENT = path.join(examples, '__jsPytorchUntyped.d.ts');
const AMBIENT_TEXT = [
  "declare module 'js-pytorch' { export const torch: any; export type Tensor = any; }",
  "declare module 'js-pytorch/functional' { const F: any; export = F; }",
].join('\n');

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap(e => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : /\.ts$/.test(e) ? [p] : [];
  });
}

describe('examples type-check', () => {
  it('no TypeScript errors', () => {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === AMBIENT ? ts.createSourceFile(f, AMBIENT_TEXT, lang) : getSourceFile(f, lang, ...rest));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = f => path.resolve(f) === AMBIENT || fileExists(f);
    const program = ts.createProgram([...walk(examples), AMBIENT], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map(d => {
      const where = d.file && d.start !== undefined ? `${path.relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);
});
