// Type-checks every part with its own tsconfig (each runtime has its own libs and types).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const projects = ['server', 'cli', 'compute', 'compute/node', 'protocol', 'client', 'webview', 'test', 'bench']
  .map(p => join(root, p, 'tsconfig.json'))
  .filter(existsSync);
let failed = false;
for (const p of projects) {
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', p], { stdio: 'inherit' });
  } catch {
    failed = true;
  }
}
console.log(failed ? 'typecheck failed' : `typecheck ok (${projects.length} projects)`);
process.exit(failed ? 1 : 0);
