// `tensor-lens lsp --stdio` loads the language server bundle and answers over stdio.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, builtCliPath, type CliResult } from '../helpers/cli';

const hasServer = existsSync(join(__dirname, '..', '..', 'server', 'server.ts'));
let run: (args: readonly string[], cwd: string) => CliResult;

beforeAll(async () => {
  run = await buildCli(hasServer);
});

describe.runIf(hasServer)('tensor-lens lsp', () => {
  it('answers initialize over stdio', async () => {
    const child = spawn(process.execPath, [builtCliPath(), 'lsp', '--stdio']);
    const msg = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    child.stdin.write(`Content-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
    const reply = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no reply: ${out}`)), 30_000);
      child.stdout.on('data', d => {
        out += d;
        if (out.includes('"id":1')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    child.kill();
    const body = JSON.parse(reply.slice(reply.indexOf('{')));
    expect(body.result.capabilities).toBeDefined();
  });

  it('insists on --stdio', () => {
    expect(run(['lsp'], __dirname).status).toBe(2);
    expect(run(['lsp', '--help'], __dirname).status).toBe(0);
  });
});
