// How the panel prints numbers: losses with 4–6 significant digits, times, throughput and sizes.

/** A loss for people: 5 significant digits (`3.0451`, `0.00012346`, `1.2346e+06`); NaN and ±∞ by name. */
export function formatLoss(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(4);
  return v.toPrecision(5);
}

/** A loss with more digits, for the step-by-step comparison (`3.045112`). */
export function formatPrecise(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return formatLoss(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(6);
  return v.toPrecision(7);
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Elements per second as `123 M el/s`. */
export function formatThroughput(elements: number, ms: number): string {
  if (!(ms > 0) || elements === 0) return '—';
  const perSecond = elements / (ms / 1000);
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)} G el/s`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M el/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k el/s`;
  return `${Math.round(perSecond)} el/s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A legend tick: as short as the value allows (`10`, `2.5`, `0.002`, `1e+6`). */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e');
  return String(Number(v.toPrecision(4)));
}
