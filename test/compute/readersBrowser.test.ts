// The readers in real headless Chromium, on a page and in a Web Worker (where the loss panel reads
// files): deflate through the browser's own DecompressionStream, BigInt64Array, TextDecoder.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = join(__dirname, '..', '..');
const fixtures = join(__dirname, 'readerFixtures');

/** Runs in the browser: reads each file and summarises its arrays (or the error) as text. */
const CHECK = `
import { readTensorFile } from './compute/readers/index';
declare const FILES: Record<string, string>;
(globalThis as any).runCheck = async () => {
  const out: Record<string, string> = {};
  for (const [name, b64] of Object.entries(FILES)) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    try {
      const c = await readTensorFile(name, bytes);
      out[name] = c.arrays.map(a => a.name + ' ' + a.tensor.dtype + ' [' + a.tensor.shape.join(',') + '] '
        + Array.from(a.tensor.data as ArrayLike<number | bigint>, String).join(',')).join('; ');
    } catch (e) {
      out[name] = (e as Error).name + ': ' + (e as Error).message;
    }
  }
  return out;
};
`;

function files(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of ['deflated.npz', 'zip64.npz', 'stored.npz', 'model.safetensors', 'float32_be_F.npy', 'int64_le_C.npy']) {
    out[n] = readFileSync(join(fixtures, n)).toString('base64');
  }
  const corrupt = readFileSync(join(fixtures, 'deflated.npz'));
  corrupt[120] = corrupt[120]! ^ 0xff;
  out['corrupt.npz'] = corrupt.toString('base64');
  out['batch.json'] = Buffer.from('{"input": [[0.5, -1]], "target": [9007199254740993]}').toString('base64');
  return out;
}

describe('readers in Chromium', () => {
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
    const built = await esbuild.build({
      stdin: { contents: CHECK, loader: 'ts', resolveDir: root },
      bundle: true, platform: 'browser', format: 'iife', target: 'chrome120', write: false,
      define: { FILES: JSON.stringify(files()) }, logLevel: 'warning',
    });
    bundle = built.outputFiles[0]!.text;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** What Node reads from the same bytes, summarised the same way. */
  async function inNode(): Promise<Record<string, string>> {
    const run = new Function('FILES', 'atob', `${bundle}; return globalThis.runCheck();`) as
      (f: Record<string, string>, a: (s: string) => string) => Promise<Record<string, string>>;
    return run(files(), s => Buffer.from(s, 'base64').toString('latin1'));
  }

  it('reads every format on a page and in a Worker exactly as in Node', async () => {
    const page = await browser.newPage();
    try {
      await page.addScriptTag({ content: bundle });
      const onPage = await page.evaluate(() => (globalThis as unknown as { runCheck(): Promise<Record<string, string>> }).runCheck());
      const inWorker = await page.evaluate(async src => {
        const blob = new Blob([`${src}\nrunCheck().then(r => postMessage(r), e => postMessage({ error: String(e) }));`], { type: 'text/javascript' });
        const w = new Worker(URL.createObjectURL(blob));
        return new Promise<Record<string, string>>(resolve => { w.onmessage = e => resolve(e.data); });
      }, bundle);
      const node = await inNode();
      expect(onPage).toEqual(node);
      expect(inWorker).toEqual(node);
      expect(node['deflated.npz']).toMatch(/^logits float32 \[2,3,4\] -2,.*; target int64 \[2,3\] 0,2,1,1,1,0; weight_be float32 \[3\] 0.5,1,2; fortran int32 \[3,4\] 0,1,2,3/);
      expect(node['corrupt.npz']).toMatch(/^TensorFileError: corrupt\.npz: member 'logits\.npy' is corrupt: CRC-32 0x[0-9a-f]{8} does not match/);
      expect(node['batch.json']).toBe('input float32 [1,2] 0.5,-1; target int64 [1] 9007199254740993');
    } finally {
      await page.close();
    }
  });
});
