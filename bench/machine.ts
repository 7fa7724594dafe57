// The machine a benchmark ran on (CPU model, cores, memory, load, Node and V8 versions) and the
// small table printer the benchmark sections share.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
}

export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    // /proc/cpuinfo names the model even where os.cpus() is vague (some VMs report "unknown").
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // Not Linux: os.cpus() is what there is.
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map(l => Math.round(l * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

export function machineHeader(m: Machine): string {
  return [
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}`,
    `runtime: Node ${m.node} (V8 ${m.v8}); load average at start ${m.loadAverage.join(' ')}`,
  ].join('\n');
}

/** Left-aligns the first column and right-aligns the rest. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A number with 3 significant digits (`1.23k`-free: the tables are read next to each other). */
export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 10 ** digits) return n.toFixed(0);
  return n.toPrecision(digits);
}

/** Loads an optional package (a peer in the benchmark) without letting a bundler follow it. */
export function optionalRequire<T>(name: string): T | undefined {
  try {
    // A require made at run time keeps esbuild from bundling native addons and multi-megabyte peers;
    // it resolves from the bundle's folder, i.e. the checkout's node_modules.
    return createRequire(__filename)(name) as T;
  } catch {
    return undefined;
  }
}
