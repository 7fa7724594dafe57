// Every op and module in the registry is exercised by a fixture of its profile under test/fixtures/ops.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registryNames } from '../../server/analysis/registry';

const dir = join(__dirname, '..', 'fixtures', 'ops');
const texts = { torch: '', tfjs: '' };
for (const f of readdirSync(dir)) {
  const t = readFileSync(join(dir, f), 'utf8');
  texts[t.includes('@tensorflow/tfjs') ? 'tfjs' : 'torch'] += t;
}

describe('registry coverage', () => {
  for (const profile of ['torch', 'tfjs'] as const) {
    it(`${profile}: every op and module appears in an ops fixture`, () => {
      const { ops, modules } = registryNames(profile);
      expect(ops.length + modules.length).toBeGreaterThan(50);
      const missing = [...ops, ...modules].filter(n => !new RegExp(`[.\\s]${n}\\(`).test(texts[profile]));
      expect(missing).toEqual([]);
    });
  }
});
