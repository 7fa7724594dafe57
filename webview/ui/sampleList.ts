// Per-sample losses as a sortable, virtualised list: only the rows in view exist in the DOM, so a
// batch of a million samples scrolls as smoothly as one of ten.
import { formatLoss } from '../model/format';

const ROW_HEIGHT = 22;
const VIEW_ROWS = 12;

export type SortKey = 'index' | 'loss-desc' | 'loss-asc';

/** Sample order for a sort key; NaN losses sort last either way. Pure, for the tests. */
export function sortOrder(values: ArrayLike<number>, key: SortKey): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (key === 'index') return order;
  const sign = key === 'loss-desc' ? -1 : 1;
  return order.sort((a, b) => {
    const va = values[a], vb = values[b];
    const na = Number.isNaN(va), nb = Number.isNaN(vb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    return va === vb ? a - b : sign * (va < vb ? -1 : 1);
  });
}

export class SampleList {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rows: HTMLElement;
  private order: Uint32Array;
  private key: SortKey = 'index';
  private selected = -1;
  private readonly max: number;

  constructor(private readonly values: Float64Array, private readonly onSelect?: (sample: number) => void, label = 'sample') {
    this.order = sortOrder(values, 'index');
    let max = 0;
    for (const v of values) if (Number.isFinite(v) && v > max) max = v;
    this.max = max;
    this.element = document.createElement('div');
    this.element.className = 'sample-list';
    const header = document.createElement('div');
    header.className = 'sample-list-header';
    const byIndex = document.createElement('button');
    byIndex.className = 'sort';
    byIndex.textContent = `${label} #`;
    const byLoss = document.createElement('button');
    byLoss.className = 'sort';
    byLoss.id = 'sort-by-loss';
    const update = () => {
      byIndex.setAttribute('aria-pressed', String(this.key === 'index'));
      byLoss.setAttribute('aria-pressed', String(this.key !== 'index'));
      byLoss.textContent = this.key === 'loss-asc' ? 'loss ▲' : this.key === 'loss-desc' ? 'loss ▼' : 'loss';
    };
    byIndex.addEventListener('click', () => { this.sort('index'); update(); });
    byLoss.addEventListener('click', () => { this.sort(this.key === 'loss-desc' ? 'loss-asc' : 'loss-desc'); update(); });
    update();
    header.append(byIndex, byLoss);
    this.viewport = document.createElement('div');
    this.viewport.className = 'sample-list-viewport';
    this.viewport.style.height = `${Math.min(VIEW_ROWS, Math.max(1, values.length)) * ROW_HEIGHT}px`;
    this.viewport.tabIndex = 0;
    this.spacer = document.createElement('div');
    this.spacer.style.height = `${values.length * ROW_HEIGHT}px`;
    this.spacer.style.position = 'relative';
    this.rows = document.createElement('div');
    this.spacer.append(this.rows);
    this.viewport.append(this.spacer);
    this.viewport.addEventListener('scroll', () => this.render());
    this.element.append(header, this.viewport);
    this.render();
  }

  sort(key: SortKey): void {
    this.key = key;
    this.order = sortOrder(this.values, key);
    this.viewport.scrollTop = 0;
    this.render();
  }

  private render(): void {
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - 2);
    const last = Math.min(this.order.length, first + VIEW_ROWS + 4);
    const out: HTMLElement[] = [];
    for (let r = first; r < last; r++) {
      const i = this.order[r];
      const v = this.values[i];
      const row = document.createElement('div');
      row.className = 'sample-row' + (i === this.selected ? ' selected' : '');
      row.style.top = `${r * ROW_HEIGHT}px`;
      row.style.height = `${ROW_HEIGHT}px`;
      const idx = document.createElement('span');
      idx.className = 'idx';
      idx.textContent = String(i);
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${this.max > 0 && Number.isFinite(v) ? Math.max(0, v / this.max) * 100 : 0}%`;
      const val = document.createElement('span');
      val.className = 'val';
      val.textContent = formatLoss(v);
      row.append(idx, bar, val);
      if (this.onSelect) {
        row.addEventListener('click', () => {
          this.selected = i;
          this.onSelect?.(i);
          this.render();
        });
      }
      out.push(row);
    }
    this.rows.replaceChildren(...out);
  }
}
