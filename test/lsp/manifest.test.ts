// The extension manifest agrees with the code: every command the client registers is contributed with
// its category, every setting the server reads is declared, and the files the manifest names exist.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientCommands } from '../../protocol/server';
import { parseProjectConfig, parseSettings } from '../../server/lsp/config';
import { ROOT } from './harness';

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

describe('package.json', () => {
  it('contributes every client command under the "Tensor Lens" category', () => {
    const contributed = new Map<string, { category?: string; title: string }>(manifest.contributes.commands.map((c: { command: string }) => [c.command, c]));
    for (const id of Object.values(ClientCommands)) {
      expect(contributed.get(id), id).toBeDefined();
      expect(contributed.get(id)!.category).toBe('Tensor Lens');
    }
    expect([...contributed.values()].map(c => c.title)).toEqual(expect.arrayContaining(['Check Workspace', 'Open Loss Panel', 'Restart Server']));
  });

  it('declares the settings the server reads, with defaults the server also assumes', () => {
    const props = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;
    expect(Object.keys(props).sort()).toEqual(['tensorLens.codeLens.enabled', 'tensorLens.inlayHints.enabled', 'tensorLens.torchModules', 'tensorLens.trace.server']);
    // The defaults, nested as VS Code hands the section to the server, parse to the server's defaults.
    const section = { torchModules: props['tensorLens.torchModules']!.default, inlayHints: { enabled: props['tensorLens.inlayHints.enabled']!.default }, codeLens: { enabled: props['tensorLens.codeLens.enabled']!.default } };
    expect(parseSettings(section)).toEqual(parseSettings({}));
  });

  it('activates on TypeScript and starts the bundled client, for VS Code 1.100', () => {
    expect(manifest.main).toBe('./dist/client/extension.js');
    expect(manifest.activationEvents).toEqual(expect.arrayContaining(['onLanguage:typescript', 'onLanguage:typescriptreact']));
    expect(manifest.engines.vscode).toBe('^1.100.0');
    expect(manifest.scripts.package).toMatch(/vsce package --no-dependencies/);
  });

  it('validates tensorlens.json with a schema that accepts what the server accepts', () => {
    const [validation] = manifest.contributes.jsonValidation;
    const schemaPath = join(ROOT, validation.url);
    expect(existsSync(schemaPath)).toBe(true);
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', 'functions', 'torchModules']);
    const sample = { torchModules: ['@acme/torch'], functions: { 'myLib.diceLoss': '(pred: [N, C, *s], target: [N, C, *s]) -> []' } };
    expect(new RegExp(schema.properties.functions.additionalProperties.pattern).test(sample.functions['myLib.diceLoss'])).toBe(true);
    expect(parseProjectConfig(JSON.stringify(sample)).problems).toEqual([]);
    expect(parseProjectConfig('{ "torchModule": [] }').problems[0]!.message).toMatch(/unknown key "torchModule"/);
  });

  it('ships the schema and the diagnostics reference in the .vsix', () => {
    const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['!client/tensorlens.schema.json', '!docs/diagnostics.md', '!package.json']));
  });
});
