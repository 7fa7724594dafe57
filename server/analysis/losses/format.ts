// How the loss rules print dims, shapes and numbers: in each runtime's own notation (PyTorch's
// `[2, 3]` and `torch.Size([2, 3])`, TF.js's `2,3` and `[2,3]`, C++ ostream doubles), with the
// user's own dim names where sizes are symbolic.

import { formatDim, formatShape, type Dim, type Shape } from '../dims';

/** PyTorch's C++ `IntArrayRef` printing: `[2, 3, 4]`, `[]` for 0-d. */
export function torchShape(s: Shape): string {
  return formatShape(s);
}

/** Python's `torch.Size` argument text: `[3, 1]` (the template wraps it in `torch.Size(…)`). */
export function torchSize(s: Shape): string {
  return formatShape(s);
}

/** TF.js `${shape}` (Array.prototype.toString): `32,10`; a 0-d shape prints as the empty string. */
export function tfjsShape(s: Shape): string {
  return s.dims.map(d => formatDim(d).replace(/ /g, '')).join(',');
}

/** TF.js `JSON.stringify(shape)`: `[32,10]`. */
export function tfjsJsonShape(s: Shape): string {
  return `[${tfjsShape(s)}]`;
}

/**
 * A double as C++ `std::ostream << double` prints it by default (`%g` with 6 significant digits):
 * `1.5`, `2`, `1.12346`, `1e-07`, `1.5e+06`.
 */
export function cppDouble(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const precision = 6;
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mantissa, e] = v.toExponential(precision - 1).split('e');
    const n = Number(e);
    return `${trimZeros(mantissa)}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return trimZeros(v.toFixed(Math.max(0, precision - 1 - exp)));
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** Symbolic dim names appearing in the given shapes, for "`C` was bound here" related locations. */
export function symbolNames(...shapes: readonly (Shape | Dim | undefined)[]): string[] {
  const names = new Set<string>();
  for (const s of shapes) {
    if (!s) continue;
    const dims = 'dims' in s ? s.dims : [s];
    for (const d of dims) {
      if (d.kind === 'sym') {
        for (const key of d.poly.keys()) for (const atom of key.split('*')) if (/^[A-Za-z_$][\w$]*$/.test(atom)) names.add(atom);
      } else if (d.kind === 'variadic') {
        names.add(d.name);
      }
    }
  }
  return [...names];
}
