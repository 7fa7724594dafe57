// `npm start`: runs `tensor-lens check examples/` and explains what it found — the seed's bug (a
// `[N, 1, H, W]` mask into cross_entropy) caught in the segmentation example, the clean examples
// passing. Exits 0 when every example reports exactly what examples/expected.json says.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'tensor-lens.js');
const examples = join(root, 'examples');
const SEED = 'segmentation/unetTrainStep.ts';

if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.log('Building Tensor Lens first (npm run build)…');
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
}

function check(format) {
  const r = spawnSync(process.execPath, [bin, 'check', '.', '--format', format], { cwd: examples, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) {
    console.error(`tensor-lens check failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(2);
  }
  return r.stdout;
}

const started = performance.now();
const result = JSON.parse(check('json'));
const elapsed = performance.now() - started;
const text = check('text').split('\n');
const expected = JSON.parse(readFileSync(join(examples, 'expected.json'), 'utf8'));
delete expected.$comment;

const bold = s => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const red = s => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const green = s => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const yellow = s => (process.stdout.isTTY ? `\x1b[33m${s}\x1b[0m` : s);

console.log(bold(`Tensor Lens: checking examples/ (${result.files} files, ${Math.round(elapsed)} ms including start-up)\n`));

const byFile = new Map();
for (const d of result.diagnostics) {
  if (!byFile.has(d.file)) byFile.set(d.file, []);
  byFile.get(d.file).push(d);
}

/** The text-format line for a diagnostic and the reason printed under it. */
function reasonOf(d) {
  const head = `${d.file}:${d.line}:${d.column} - ${d.severity} ${d.code}: `;
  const i = text.findIndex(l => l.startsWith(head));
  return i >= 0 && text[i + 1]?.startsWith('    ') ? text[i + 1].trim() : undefined;
}

// The seed's bug first, in full.
const seed = (byFile.get(SEED) ?? [])[0];
if (seed) {
  console.log(`The seed bug, a segmentation mask that kept its channel dim, found before the code runs:\n`);
  console.log(`  ${red(`${seed.file}:${seed.line}:${seed.column} - ${seed.severity} ${seed.code}`)}`);
  console.log(`  ${bold(`RuntimeError: ${seed.message}`)}`);
  const reason = reasonOf(seed);
  if (reason) console.log(`  ${reason}`);
  console.log('');
}

const problems = [];
const lines = [];
for (const file of Object.keys(expected).sort()) {
  const want = expected[file];
  const got = byFile.get(file) ?? [];
  byFile.delete(file);
  const matched = new Set();
  for (const w of want) {
    const i = got.findIndex((d, k) => !matched.has(k) && d.line === w.line && d.code === w.code && (!w.message || d.message.includes(w.message)));
    if (i < 0) problems.push(`${file}: expected ${w.code} on line ${w.line}${w.message ? ` (${w.message})` : ''}, not reported`);
    else matched.add(i);
  }
  got.forEach((d, k) => {
    if (!matched.has(k)) problems.push(`${file}:${d.line}:${d.column}: unexpected ${d.severity} ${d.code}: ${d.message}`);
  });
  if (want.length === 0) lines.push(`  ${green('✓')} ${file.padEnd(36)} clean`);
  else for (const d of got) lines.push(`  ${d.severity === 'error' ? red('✗') : yellow('!')} ${`${file}:${d.line}`.padEnd(36)} ${d.code} ${d.message.length > 70 ? d.message.slice(0, 67) + '...' : d.message}`);
}
for (const [file, ds] of byFile) for (const d of ds) problems.push(`${file}:${d.line}:${d.column}: ${d.code} reported in a file examples/expected.json does not list`);

console.log('Every example (clean ones must stay clean; each buggy one reports its bug):\n');
console.log(lines.join('\n'));
console.log('');
if (problems.length) {
  console.log(red(bold('Unexpected results:')));
  for (const p of problems) console.log(`  ${p}`);
  process.exit(1);
}
console.log(green(bold(`All ${Object.keys(expected).length} examples check exactly as expected.`)));
console.log(`Next: open examples/ in VS Code with the extension for hovers and quick fixes, or run`);
console.log(`  npx tensor-lens check <your folder>     npx tensor-lens shapes <file>`);
