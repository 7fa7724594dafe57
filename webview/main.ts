// The loss panel page: settings form, file transfers from the extension host, the evaluation worker,
// and the results (loss, ln C, per-sample list, heatmap, confusion summary, steps, timing).
import { selectEngineFile } from '../compute/engine';
import {
  validateHostToWebview, type ArrayInfo, type EvaluationDetails, type EvaluationResult, type HostToWebview,
  type PanelError, type PanelState, type PreselectFile, type RoleChoice, type TensorRole, type WebviewToHost,
  type WorkspaceFile,
} from '../protocol/webview';
import { EngineClient } from './engineClient';
import { formatBytes, formatCount, formatLoss, formatMs, formatPrecise, formatThroughput } from './model/format';
import {
  buildSpec, defaultState, editableSymbols, noteText, OptionError, parseDimValue, parseIgnoreIndex, parseLabelSmoothing,
  stateForCall,
} from './model/options';
import { hintFor } from './model/hints';
import { guessRole, pickArray } from './model/roles';
import { defaultDimValue, formatShape, parseShapeText, ShapeTextError } from './model/shapeText';
import { Heatmap } from './ui/heatmap';
import { SampleList } from './ui/sampleList';
import * as ui from './ui/toolkit';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const body = document.body;
const webviewBase = body.dataset.webviewBase ?? '.';
const computeBase = body.dataset.computeBase ?? '.';

/** A restored state is used only when it has this version's shape; otherwise the defaults. */
function restoredState(): PanelState | undefined {
  const s = vscode.getState() as Partial<PanelState> | undefined;
  if (!s || s.version !== 1 || typeof s.sources !== 'object' || typeof s.inputShapeText !== 'string') return undefined;
  return { ...defaultState(), ...s } as PanelState;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

interface Transfer {
  readonly fileId: string;
  name: string;
  bytes?: Uint8Array;
  received: number;
  resolve(v: { name: string; buffer: ArrayBuffer }): void;
  reject(e: PanelError): void;
}

const ROLE_LABEL: Record<TensorRole, string> = { input: 'Input (logits)', target: 'Target', weight: 'Class weight' };

class LossPanel {
  private state: PanelState;
  private files: readonly WorkspaceFile[] = [];
  private readonly arrays = new Map<string, readonly ArrayInfo[]>();
  private readonly fileBytes = new Map<string, Promise<{ name: string; buffer: ArrayBuffer }>>();
  private readonly transfers = new Map<number, Transfer>();
  private nextRequest = 1;
  private engine: EngineClient | undefined;
  private engineFailure: string | undefined;
  /** Bumped by every new evaluation and by Cancel: replies for an older generation are dropped. */
  private generation = 0;
  private autoRun: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private heatmap: Heatmap | undefined;
  private lastResult: EvaluationResult | undefined;
  /** Results and errors shown so far, as `data-outcomes` on <body>: tests and the e2e journey wait on it. */
  private outcomes = 0;
  private readonly restored: boolean;

  // Page regions
  private readonly app = document.getElementById('app')!;
  private readonly header = el('header', 'panel-header');
  private readonly sourcesBox = el('section', 'box sources');
  private readonly optionsBox = el('section', 'box options');
  private readonly actions = el('div', 'actions');
  private readonly progress = el('div', 'progress');
  private readonly resultBox = el('section', 'result');
  private readonly detailsBox = el('div', 'details');
  private readonly formError = el('div', 'form-error');
  private runButton!: ui.Control;
  private cancelButton!: ui.Control;

  constructor() {
    const restored = restoredState();
    this.restored = restored !== undefined;
    this.state = restored ?? defaultState();
    this.formError.id = 'form-error';
    this.progress.id = 'progress';
    this.resultBox.id = 'result';
    this.detailsBox.id = 'details';
    this.progress.hidden = true;
  }

  async start(): Promise<void> {
    const toolkit = ui.loadToolkit(webviewBase).catch(err => this.problem(String(err.message ?? err)));
    this.layout();
    window.addEventListener('message', e => this.onHostMessage(e.data));
    // VS Code signals a theme change with the body class (light/dark/high contrast) and new
    // `--vscode-*` values on <html>; either redraws the heatmap in the new colours.
    const redraw = new MutationObserver(() => this.heatmap?.draw());
    redraw.observe(body, { attributes: true, attributeFilter: ['class'] });
    redraw.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
    const engine = this.startEngine();
    await toolkit;
    this.app.removeAttribute('aria-busy');
    vscode.postMessage({ type: 'ready' });
    await engine;
  }

  private async startEngine(): Promise<void> {
    try {
      const file = selectEngineFile();
      const [workerUrl, module] = await Promise.all([
        EngineClient.workerBlobUrl(`${webviewBase}/worker.js`),
        WebAssembly.compileStreaming(fetch(`${computeBase}/${file}`)),
      ]);
      this.engine = new EngineClient(workerUrl, { module }, m => this.problem(m));
      await this.engine.start();
      body.dataset.engine = this.engine.engine;
    } catch (err) {
      this.engineFailure = `The engine could not start: ${(err as Error).message ?? String(err)}`;
      this.showError({ type: 'Error', message: this.engineFailure });
    }
  }

  private problem(message: string): void {
    console.warn(`[loss panel] ${message}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Host messages

  private onHostMessage(raw: unknown): void {
    let m: HostToWebview;
    try {
      m = validateHostToWebview(raw);
    } catch (err) {
      this.problem(`dropped a malformed host message: ${(err as Error).message}`);
      return;
    }
    switch (m.type) {
      case 'init':
        this.files = m.files;
        if (m.call) this.setState(stateForCall(m.call, this.state));
        this.renderAll();
        if (m.preselect) void this.useFile(m.preselect);
        else if (m.call || this.restored || this.state.sources.input.kind !== 'file') this.scheduleRun(0);
        break;
      case 'setCall':
        this.setState(stateForCall(m.call, this.state));
        this.renderAll();
        this.scheduleRun(0);
        break;
      case 'useFile':
        if (!this.files.some(f => f.fileId === m.file.file.fileId)) this.files = [...this.files, m.file.file];
        void this.useFile(m.file);
        break;
      case 'files':
        this.files = m.files;
        this.renderSources();
        break;
      case 'fileChanged': {
        // Drop every copy of the old bytes; a batch that uses the file is evaluated again.
        this.fileBytes.delete(m.fileId);
        this.arrays.delete(m.fileId);
        this.engine?.forgetFile(m.fileId);
        const inUse = Object.values(this.state.sources).some(c => c.kind === 'file' && c.fileId === m.fileId);
        this.renderSources();
        if (inUse) this.scheduleRun(300);
        break;
      }
      case 'fileBegin': {
        const t = this.transfers.get(m.requestId);
        if (!t) return;
        t.name = m.name;
        t.bytes = new Uint8Array(m.byteLength);
        this.transferProgress(t);
        if (m.byteLength === 0) this.finishTransfer(m.requestId, t);
        break;
      }
      case 'fileChunk': {
        const t = this.transfers.get(m.requestId);
        if (!t?.bytes) return;
        if (m.offset + m.bytes.byteLength > t.bytes.byteLength) {
          this.transfers.delete(m.requestId);
          t.reject({ type: 'Error', message: `${t.name}: the transfer sent more bytes than announced` });
          return;
        }
        t.bytes.set(m.bytes, m.offset);
        t.received += m.bytes.byteLength;
        this.transferProgress(t);
        if (t.received >= t.bytes.byteLength) this.finishTransfer(m.requestId, t);
        break;
      }
      case 'fileError': {
        const t = this.transfers.get(m.requestId);
        if (!t) return;
        this.transfers.delete(m.requestId);
        t.reject({ type: 'TensorFileError', message: m.message });
        break;
      }
    }
  }

  private finishTransfer(requestId: number, t: Transfer): void {
    this.transfers.delete(requestId);
    t.resolve({ name: t.name, buffer: t.bytes!.buffer as ArrayBuffer });
  }

  private transferProgress(t: Transfer): void {
    const total = t.bytes?.byteLength ?? 0;
    this.showProgress(`Reading ${t.name} from the workspace · ${formatBytes(t.received)} of ${formatBytes(total)}`, total ? t.received / total : undefined);
  }

  /** The bytes of a workspace file, read once per panel (the host streams them in chunks). */
  private fileData(fileId: string): Promise<{ name: string; buffer: ArrayBuffer }> {
    let p = this.fileBytes.get(fileId);
    if (!p) {
      const requestId = this.nextRequest++;
      p = new Promise((resolve, reject) => {
        this.transfers.set(requestId, { fileId, name: labelOf(this.files, fileId), received: 0, resolve, reject });
      });
      vscode.postMessage({ type: 'readFile', requestId, fileId });
      this.fileBytes.set(fileId, p);
      p.catch(() => this.fileBytes.delete(fileId)); // a failed read may be retried
    }
    return p;
  }

  /** Loads a file into the worker and lists its arrays. */
  private async loadArrays(fileId: string): Promise<readonly ArrayInfo[]> {
    const known = this.arrays.get(fileId);
    if (known) return known;
    if (!this.engine) throw { type: 'Error', message: this.engineFailure ?? 'the engine is still starting' } satisfies PanelError;
    const { name, buffer } = await this.fileData(fileId);
    await this.engine.ensureFile(fileId, name, buffer);
    const arrays = await this.engine.list(fileId);
    this.arrays.set(fileId, arrays);
    return arrays;
  }

  /** A file from the explorer or a quick pick: its arrays fill the roles their names suggest. */
  private async useFile(pre: PreselectFile): Promise<void> {
    const fileId = pre.file.fileId;
    const gen = ++this.generation;
    this.engine?.cancel();
    this.setBusy(true);
    try {
      await this.waitForEngine();
      const arrays = await this.loadArrays(fileId);
      if (gen !== this.generation) return;
      const sources = { ...this.state.sources };
      if (pre.role) {
        sources[pre.role] = { kind: 'file', fileId, array: (pickArray(arrays, pre.role) ?? arrays[0])?.name ?? '' };
      } else if (arrays.length > 1) {
        for (const role of ['input', 'target', 'weight'] as const) {
          const a = pickArray(arrays, role);
          if (a) sources[role] = { kind: 'file', fileId, array: a.name };
        }
      } else {
        const role = guessRole(pre.file.label.replace(/^.*\//, '').replace(/\.[a-z]+$/i, ''), arrays[0]);
        sources[role] = { kind: 'file', fileId, array: arrays[0]?.name ?? '' };
        // A logits file alone: its partner target is often next to it under the matching name.
        this.pairSibling(sources, role, pre.file);
      }
      this.setState({ ...this.state, sources });
      this.renderAll();
      this.setBusy(false);
      this.scheduleRun(0);
    } catch (err) {
      if (gen !== this.generation) return;
      this.setBusy(false);
      this.renderAll();
      this.showError(asPanelError(err));
    }
  }

  /** `segLogits.npy` picked: use `segTarget.npy` beside it for the target (and vice versa). */
  private pairSibling(sources: Record<TensorRole, RoleChoice>, role: TensorRole, file: WorkspaceFile): void {
    const other: TensorRole | undefined = role === 'input' ? 'target' : role === 'target' ? 'input' : undefined;
    if (!other || sources[other].kind === 'file') return;
    const dir = file.label.slice(0, file.label.lastIndexOf('/') + 1);
    const sibling = this.files.find(f => f.fileId !== file.fileId && f.label.startsWith(dir) && !f.label.slice(dir.length).includes('/') &&
      /\.npy$/i.test(f.label) && guessRole(f.label.slice(dir.length).replace(/\.npy$/i, '')) === other);
    if (sibling) sources[other] = { kind: 'file', fileId: sibling.fileId, array: '' };
  }

  private async waitForEngine(): Promise<void> {
    for (let i = 0; i < 200 && !this.engine && !this.engineFailure; i++) await new Promise(r => setTimeout(r, 50));
    if (!this.engine) throw { type: 'Error', message: this.engineFailure ?? 'the engine did not start' } satisfies PanelError;
  }

  // ---------------------------------------------------------------------------------------------
  // State

  private setState(s: PanelState): void {
    this.state = s;
    vscode.setState(s);
  }

  private update(patch: Partial<PanelState>, opts: { rerender?: boolean; run?: boolean } = {}): void {
    this.setState({ ...this.state, ...patch });
    if (opts.rerender) this.renderAll();
    if (opts.run !== false) this.scheduleRun(250);
  }

  // ---------------------------------------------------------------------------------------------
  // Layout

  private layout(): void {
    this.runButton = ui.button('Evaluate', { primary: true, id: 'run' });
    this.runButton.addEventListener('click', () => this.scheduleRun(0));
    this.cancelButton = ui.button('Cancel', { id: 'cancel' });
    this.cancelButton.addEventListener('click', () => this.cancel());
    this.cancelButton.hidden = true;
    this.actions.append(this.runButton, this.cancelButton, this.progress);
    this.app.replaceChildren(this.header, this.sourcesBox, this.optionsBox, this.formError, this.actions, this.resultBox, this.detailsBox);
    this.renderAll();
    if (this.state.lastSummary) {
      this.resultBox.replaceChildren(el('div', 'stale', `Last result: ${this.state.lastSummary} (re-evaluating…)`));
    }
  }

  private renderAll(): void {
    this.renderHeader();
    this.renderSources();
    this.renderOptions();
  }

  private renderHeader(): void {
    const call = this.state.call?.call;
    const title = el('h1', undefined, 'Loss panel');
    if (!call) {
      this.header.replaceChildren(title, el('div', 'subtitle', 'Random batch, tensor literals or workspace files — PyTorch semantics, SIMD WebAssembly'));
      return;
    }
    const file = call.fileName.replace(/^.*[\\/]/, '');
    const sub = el('div', 'subtitle');
    const code = el('code', undefined, `${call.function.replace(/^tfjs\./, 'tf.losses.')}(${call.input.text}, ${call.target.text})`);
    sub.append(code, document.createTextNode(` · ${file}`));
    const shapes = el('div', 'call-shapes', `input ${call.input.shapeText || '[?]'} · target ${call.target.shapeText || '[?]'}${call.target.dtype ? ` ${call.target.dtype}` : ''}`);
    this.header.replaceChildren(title, sub, shapes);
  }

  private renderSources(): void {
    const grid = el('div', 'grid sources-grid');
    for (const role of ['input', 'target', 'weight'] as const) grid.append(...this.sourceRow(role));
    const dims = this.dimsRow();
    this.sourcesBox.replaceChildren(el('h2', undefined, 'Batch'), grid, ...(dims ? [dims] : []));
  }

  private sourceRow(role: TensorRole): HTMLElement[] {
    const choice = this.state.sources[role];
    const call = this.state.call?.call;
    const summary = role === 'input' ? call?.input : role === 'target' ? call?.target : call?.weight;
    const kinds: ui.Choice[] = [];
    if (role === 'weight') kinds.push({ value: 'none', label: 'None' });
    kinds.push({ value: 'random', label: role === 'input' ? 'Random logits' : role === 'target' ? 'Random targets' : 'Random weights' });
    if (summary?.values) kinds.push({ value: 'literal', label: 'Values in the code' });
    kinds.push({ value: 'file', label: 'Workspace file' });
    const kind = ui.dropdown(kinds, choice.kind, { id: `${role}-source`, label: `${ROLE_LABEL[role]} source` });
    ui.onEdit(kind, () => {
      const k = kind.value as RoleChoice['kind'];
      const next: RoleChoice = k === 'file' ? { kind: 'file', fileId: this.likelyFile(role)?.fileId, array: '' } : { kind: k };
      // Choosing where a tensor comes from is part of assembling a batch: a half-assembled batch
      // would only produce a misleading error, so this waits for Evaluate (or the next option edit).
      this.update({ sources: { ...this.state.sources, [role]: next } }, { rerender: true, run: false });
      if (k === 'file' && next.fileId) void this.refreshArrays(role, next.fileId);
    });
    const label = el('label', 'role', ROLE_LABEL[role]);
    label.htmlFor = kind.id;
    const detail = el('div', 'source-detail');
    detail.id = `${role}-detail`;
    if (choice.kind === 'file') {
      const fileChoices: ui.Choice[] = this.files.map(f => ({ value: f.fileId, label: f.label + (f.byteLength !== undefined ? ` (${formatBytes(f.byteLength)})` : '') }));
      const fileDd = ui.sized(ui.dropdown(fileChoices.length ? fileChoices : [{ value: '', label: 'No .npy/.npz/.safetensors in the workspace' }], choice.fileId ?? '', { id: `${role}-file`, label: `${ROLE_LABEL[role]} file` }), 'wide');
      ui.onEdit(fileDd, () => {
        this.update({ sources: { ...this.state.sources, [role]: { kind: 'file', fileId: fileDd.value, array: '' } } }, { run: false });
        void this.refreshArrays(role, fileDd.value);
      });
      const browse = ui.button('Pick…', { title: 'Choose a tensor file (quick pick)' });
      browse.addEventListener('click', () => vscode.postMessage({ type: 'pickFile', role }));
      detail.append(fileDd, browse);
      const arrays = choice.fileId ? this.arrays.get(choice.fileId) : undefined;
      if (arrays && arrays.length > 1) {
        const arr = ui.sized(ui.dropdown(arrays.map(a => ({ value: a.name, label: `${a.name} ${formatShape(a.shape)} ${a.dtype}` })), choice.array ?? '', { id: `${role}-array`, label: `${ROLE_LABEL[role]} array` }), 'wide');
        ui.onEdit(arr, () => this.update({ sources: { ...this.state.sources, [role]: { ...choice, array: arr.value } } }, { run: false }));
        detail.append(arr);
      } else if (arrays && arrays.length === 1) {
        detail.append(el('span', 'shape-note', `${formatShape(arrays[0].shape)} ${arrays[0].dtype}`));
      } else if (choice.fileId && !arrays) {
        void this.refreshArrays(role, choice.fileId);
      }
    } else if (choice.kind === 'random' && role === 'input') {
      const shape = ui.textField(this.state.inputShapeText, { id: 'input-shape', label: 'Input shape', size: 18 });
      ui.onEdit(shape, () => this.editShape('inputShapeText', shape.value));
      detail.append(shape);
      const scale = ui.textField(String(this.state.logitScale), { id: 'logit-scale', label: 'Logit scale (standard deviation)', size: 5 });
      ui.onEdit(scale, () => {
        const v = Number(scale.value);
        if (Number.isFinite(v) && v >= 0) this.update({ logitScale: v });
      });
      detail.append(el('span', 'hint', 'logit σ'), scale);
    } else if (choice.kind === 'random' && role === 'target') {
      const shape = ui.textField(this.state.targetShapeText, { id: 'target-shape', label: 'Target shape', size: 18, placeholder: 'input without its class dim' });
      ui.onEdit(shape, () => this.editShape('targetShapeText', shape.value));
      const dtypes: ui.Choice[] = ['int64', 'uint8', 'int32', 'float32'].map(d => ({ value: d, label: d }));
      const dtype = ui.dropdown(dtypes, this.state.targetDtype, { id: 'target-dtype', label: 'Target dtype' });
      ui.onEdit(dtype, () => this.update({ targetDtype: dtype.value as PanelState['targetDtype'] }));
      detail.append(shape, dtype);
    } else if (choice.kind === 'literal' && summary) {
      detail.append(el('code', 'literal', `${summary.text.length > 48 ? summary.text.slice(0, 47) + '…' : summary.text} ${summary.shapeText}`));
    }
    return [label, kind, detail];
  }

  /** The workspace file a role most likely wants: one whose name says so (`segTarget.npy`), else the first. */
  private likelyFile(role: TensorRole): WorkspaceFile | undefined {
    const stem = (f: WorkspaceFile) => f.label.replace(/^.*\//, '').replace(/\.[a-z]+$/i, '');
    return this.files.find(f => guessRole(stem(f)) === role) ?? this.files[0];
  }

  private editShape(key: 'inputShapeText' | 'targetShapeText', text: string): void {
    const before = editableSymbols(this.state).join(',');
    try {
      parseShapeText(text);
    } catch (err) {
      this.setState({ ...this.state, [key]: text });
      this.showFormError(err instanceof ShapeTextError ? `${key === 'inputShapeText' ? 'input' : 'target'} shape: ${err.message}` : String(err));
      return;
    }
    const dims = { ...this.state.dims };
    const next = { ...this.state, [key]: text, dims };
    for (const s of editableSymbols(next)) if (dims[s] === undefined) dims[s] = defaultDimValue(s, this.state.call?.call.knownDims);
    this.update({ [key]: text, dims });
    if (editableSymbols(this.state).join(',') !== before) this.renderSources();
  }

  private dimsRow(): HTMLElement | undefined {
    const symbols = editableSymbols(this.state);
    const row = el('div', 'dims');
    row.id = 'dims';
    row.append(el('span', 'dims-label', 'Sizes'));
    for (const s of symbols) {
      const f = ui.sized(ui.textField(String(this.state.dims[s] ?? ''), { id: `dim-${s.replace(/\W/g, '_')}`, label: `size of ${s}`, size: 4 }), 'compact');
      ui.onEdit(f, () => {
        try {
          const v = parseDimValue(s, f.value);
          this.update({ dims: { ...this.state.dims, [s]: v } });
        } catch (err) {
          this.showFormError((err as Error).message);
        }
      });
      const wrap = el('span', 'dim');
      wrap.append(el('span', 'dim-name', `${s} =`), f);
      row.append(wrap);
    }
    const seed = ui.sized(ui.textField(String(this.state.seed), { id: 'seed', label: 'Random seed', size: 4 }), 'compact');
    ui.onEdit(seed, () => {
      if (/^\d+$/.test(seed.value.trim())) this.update({ seed: Number(seed.value) });
    });
    const wrap = el('span', 'dim seed');
    wrap.append(el('span', 'dim-name', 'seed'), seed);
    const anyRandom = Object.values(this.state.sources).some(c => c.kind === 'random');
    if (!anyRandom) return undefined;
    row.append(wrap);
    return row;
  }

  private renderOptions(): void {
    const s = this.state;
    const fn = ui.dropdown([{ value: 'cross_entropy', label: 'cross_entropy' }, { value: 'nll_loss', label: 'nll_loss' }], s.function, { id: 'function', label: 'Loss function' });
    ui.onEdit(fn, () => this.update({ function: fn.value as PanelState['function'] }));
    const red = ui.dropdown(['mean', 'sum', 'none'].map(v => ({ value: v, label: v })), s.reduction, { id: 'reduction', label: 'Reduction' });
    ui.onEdit(red, () => this.update({ reduction: red.value as PanelState['reduction'] }));
    const ign = ui.textField(String(s.ignoreIndex), { id: 'ignore-index', label: 'ignore_index', size: 6 });
    ui.onEdit(ign, () => this.typed(() => this.update({ ignoreIndex: parseIgnoreIndex(ign.value) })));
    const ls = ui.textField(String(s.labelSmoothing), { id: 'label-smoothing', label: 'label_smoothing', size: 5 });
    ui.onEdit(ls, () => this.typed(() => this.update({ labelSmoothing: parseLabelSmoothing(ls.value) })));
    const axis = ui.dropdown([{ value: 'first', label: 'dim 1 (PyTorch)' }, { value: 'last', label: 'last (TF.js)' }], s.classAxis, { id: 'class-axis', label: 'Class axis' });
    ui.onEdit(axis, () => this.update({ classAxis: axis.value as PanelState['classAxis'] }));
    const kind = ui.dropdown([{ value: 'index', label: 'class indices' }, { value: 'probability', label: 'class probabilities' }], s.targetKind, { id: 'target-kind', label: 'Target kind' });
    ui.onEdit(kind, () => this.update({ targetKind: kind.value as PanelState['targetKind'] }));
    const field = (label: string, control: HTMLElement) => {
      ui.sized(control, 'fill');
      const f = el('div', 'field');
      const l = el('label', undefined, label);
      l.htmlFor = control.id;
      f.append(l, control);
      return f;
    };
    const grid = el('div', 'options-grid');
    grid.append(
      field('function', fn), field('reduction', red), field('ignore_index', ign), field('label_smoothing', ls),
      field('class axis', axis), field('targets', kind),
    );
    this.optionsBox.replaceChildren(el('h2', undefined, 'Options'), grid);
  }

  private typed(apply: () => void): void {
    try {
      apply();
    } catch (err) {
      this.showFormError((err as Error).message);
    }
  }

  private showFormError(message: string): void {
    this.formError.textContent = message;
    this.formError.hidden = false;
  }

  private async refreshArrays(role: TensorRole, fileId: string): Promise<void> {
    if (!fileId) return;
    try {
      await this.waitForEngine();
      const arrays = await this.loadArrays(fileId);
      const choice = this.state.sources[role];
      if (choice.kind === 'file' && choice.fileId === fileId) {
        const keep = arrays.some(a => a.name === choice.array);
        const array = keep ? choice.array! : (pickArray(arrays, role) ?? arrays[0])?.name ?? '';
        this.setState({ ...this.state, sources: { ...this.state.sources, [role]: { kind: 'file', fileId, array } } });
      }
      this.hideProgressIfIdle();
      this.renderSources();
    } catch (err) {
      this.hideProgressIfIdle();
      this.showError(asPanelError(err));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Evaluation

  private scheduleRun(delay: number): void {
    if (this.autoRun) clearTimeout(this.autoRun);
    this.autoRun = setTimeout(() => {
      this.autoRun = undefined;
      void this.run();
    }, delay);
  }

  /** Runs the settings as they are now; a run in progress is cancelled first. */
  private async run(): Promise<void> {
    const gen = ++this.generation;
    this.engine?.cancel();
    this.formError.hidden = true;
    let spec;
    try {
      spec = buildSpec(this.state);
    } catch (err) {
      if (err instanceof OptionError || err instanceof ShapeTextError) {
        this.showFormError(err.message);
        this.setBusy(false);
        return;
      }
      throw err;
    }
    this.setBusy(true);
    const started = performance.now();
    this.startTicker(started);
    try {
      await this.waitForEngine();
      for (const src of [spec.input, spec.target, spec.weight]) {
        if (src?.kind !== 'file') continue;
        const { name, buffer } = await this.fileData(src.fileId);
        if (gen !== this.generation) return;
        await this.engine!.ensureFile(src.fileId, name, buffer);
      }
      if (gen !== this.generation) return;
      this.showProgress('Evaluating');
      await this.engine!.evaluate(spec, {
        progress: (stage, fraction) => {
          if (gen === this.generation) this.showProgress(stage, fraction);
        },
        result: r => {
          if (gen === this.generation) this.showResult(r, performance.now() - started);
        },
        details: d => {
          if (gen !== this.generation) return;
          this.showDetails(d);
          this.setBusy(false);
        },
        error: e => {
          if (gen !== this.generation) return;
          this.setBusy(false);
          this.showError(e);
        },
      });
    } catch (err) {
      if (gen !== this.generation) return;
      this.setBusy(false);
      this.showError(asPanelError(err));
    }
  }

  private cancel(): void {
    this.generation++;
    if (this.autoRun) clearTimeout(this.autoRun);
    this.engine?.cancel();
    this.setBusy(false);
    const note = el('div', 'cancelled', 'Cancelled. The worker was stopped; Evaluate runs again.');
    note.id = 'cancelled';
    this.resultBox.replaceChildren(note);
    this.detailsBox.replaceChildren();
  }

  private setBusy(busy: boolean): void {
    this.cancelButton.hidden = !busy;
    this.app.setAttribute('aria-busy', String(busy));
    body.dataset.busy = String(busy);
    if (!busy) {
      this.progress.hidden = true;
      if (this.ticker) clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private hideProgressIfIdle(): void {
    if (body.dataset.busy !== 'true') this.progress.hidden = true;
  }

  private startTicker(started: number): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = setInterval(() => {
      const t = this.progress.querySelector('.elapsed');
      if (t) t.textContent = formatMs(performance.now() - started);
    }, 100);
  }

  private showProgress(stage: string, fraction?: number): void {
    this.progress.hidden = false;
    const ring = ui.progressRing();
    const text = el('span', 'stage', stage);
    const parts: HTMLElement[] = [ring, text];
    if (fraction !== undefined) {
      const bar = el('div', 'bar');
      const fill = el('div', 'fill');
      fill.style.width = `${Math.round(fraction * 100)}%`;
      bar.append(fill);
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
      parts.push(bar);
    }
    parts.push(el('span', 'elapsed', ''));
    this.progress.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------------------------------------
  // Results

  private countOutcome(): void {
    body.dataset.outcomes = String(++this.outcomes);
  }

  private showError(e: PanelError): void {
    this.countOutcome();
    const box = el('div', 'error');
    box.id = 'error';
    box.setAttribute('role', 'alert');
    const type = e.type === 'Error' || e.type === 'TensorFileError' ? '' : `${e.type}: `;
    box.append(el('span', 'error-text', `${type}${e.message}`));
    if (e.type === 'TensorFileError') box.append(el('div', 'error-hint', 'The file could not be read.'));
    else if (/Error$/.test(e.type) && e.type !== 'Error') {
      box.append(el('div', 'error-hint', 'PyTorch raises exactly this for this batch and these options.'));
      const hint = hintFor(e);
      if (hint) {
        const h = el('div', 'error-fix', hint);
        h.id = 'error-fix';
        box.append(h);
      }
    }
    this.resultBox.replaceChildren(box);
    this.detailsBox.replaceChildren();
    this.heatmap = undefined;
    this.setState({ ...this.state, lastSummary: undefined });
    vscode.postMessage({ type: 'clearResult' });
  }

  private showResult(r: EvaluationResult, wallMs: number): void {
    this.countOutcome();
    body.dataset.engine = r.engine;
    this.lastResult = r;
    const s = this.state;
    const value = el('div', 'loss');
    const num = el('span', 'loss-value');
    num.id = 'loss-value';
    let summaryValue: number | null = r.loss;
    if (r.loss === null) {
      // 'none': the headline is the mean of the per-element losses, labelled as such.
      summaryValue = r.noneMean ?? NaN;
      num.textContent = formatLoss(summaryValue);
      value.append(el('span', 'loss-label', `${s.function} · none · mean of ${formatCount(r.shape.reduce((a, b) => a * b, 1))}`), num);
    } else {
      num.textContent = formatLoss(r.loss);
      value.append(el('span', 'loss-label', `${s.function} · ${s.reduction}`), num);
    }
    num.dataset.value = String(summaryValue);
    const rows: HTMLElement[] = [value];
    if (r.lnClasses !== undefined) {
      const ln = el('div', 'ln-c');
      ln.id = 'ln-c';
      ln.textContent = `untrained classifier: ln ${r.classes} = ${formatLoss(r.lnClasses)}`;
      rows.push(ln);
    }
    const meta = el('div', 'meta');
    meta.id = 'result-meta';
    meta.textContent = [
      `input ${formatShape(r.inputShape)} → target ${formatShape(r.targetShape)}`,
      r.loss === null ? `output ${formatShape(r.shape)}` : undefined,
      r.workers > 1 ? `${r.engine} × ${r.workers} workers` : r.engine,
      `${r.workers > 1 ? 'engine' : 'kernel'} ${formatMs(r.elapsedMs)} (${formatThroughput(r.elements, r.elapsedMs)})`,
      `worker ${formatMs(r.totalMs)}`,
      `total ${formatMs(wallMs)}`,
    ].filter(Boolean).join(' · ');
    rows.push(meta);
    this.resultBox.replaceChildren(...rows);
    const lossText = formatLoss(summaryValue);
    const summary = noteText(r.loss === null ? `${lossText} (mean of none)` : lossText, r.lnClasses !== undefined, r.classes, r.lnClasses !== undefined ? formatLoss(r.lnClasses) : undefined);
    this.setState({ ...this.state, lastSummary: summary });
    const call = this.state.call;
    if (call) {
      vscode.postMessage({ type: 'result', uri: call.uri, callStart: call.call.range.start, callEnd: call.call.range.end, text: summary });
    }
  }

  private showDetails(d: EvaluationDetails): void {
    const r = this.lastResult;
    const parts: HTMLElement[] = [];
    this.heatmap = undefined;
    if (d.steps) parts.push(this.stepsView(d.steps));
    if (d.perElement && d.perElementShape) {
      const shape = d.perElementShape;
      if (shape.length === 3 && shape[1] * shape[2] > 1) {
        parts.push(this.heatmapView(d.perElement, shape, d.ignoredMask, d.perElementRange));
      }
      if (d.perSample && shape.length >= 1) {
        const per = d.perSample;
        const section = el('section', 'box samples');
        section.id = 'samples';
        const title = shape.length === 1 ? `Per-sample losses (${formatCount(per.length)})` : `Per-sample losses (${formatCount(per.length)}, mean over ${shape.slice(1).join('×')} elements)`;
        section.append(el('h2', undefined, title), new SampleList(per, shape.length === 3 ? n => this.heatmap?.show(n) : undefined).element);
        parts.push(section);
      }
    }
    if (d.classSummary) parts.push(this.confusionView(d.classSummary));
    if (r && parts.length === 0) parts.push(el('div', 'hint', 'No details for this batch.'));
    this.detailsBox.replaceChildren(...parts);
  }

  private stepsView(st: NonNullable<EvaluationDetails['steps']>): HTMLElement {
    const section = el('section', 'box steps');
    section.id = 'steps';
    section.append(el('h2', undefined, 'Step by step: softmax → log → nll_loss'));
    const flow = el('div', 'flow');
    const step = (label: string, value: string) => {
      const s = el('div', 'step');
      s.append(el('div', 'step-label', label), el('div', 'step-value', value));
      return s;
    };
    flow.append(
      step(`softmax(x)[${st.targetClass}] at element ${st.element}`, formatPrecise(st.softmax)),
      el('span', 'arrow', '→'),
      step('log', formatPrecise(st.logSoftmax)),
      el('span', 'arrow', '→'),
      step(`nll_loss(log softmax(x), target) · ${this.state.reduction}`, formatPrecise(st.decomposed)),
    );
    section.append(flow);
    if (st.note) {
      section.append(el('div', 'hint', st.note));
    } else if (st.decomposed !== null && st.fused !== null) {
      const diff = Math.abs(st.decomposed - st.fused);
      const rel = diff / Math.max(Math.abs(st.fused), 1e-30);
      const agree = (Number.isNaN(st.decomposed) && Number.isNaN(st.fused)) || st.decomposed === st.fused || rel <= 1e-5;
      const verdict = el('div', agree ? 'agree' : 'disagree');
      verdict.id = 'steps-verdict';
      verdict.textContent = `fused cross_entropy = ${formatPrecise(st.fused)} · |Δ| = ${diff.toExponential(2)}${agree ? ' · the same loss' : ' · they differ'}`;
      section.append(verdict);
      if (st.sampleOnly !== undefined) section.append(el('div', 'hint', `both on sample ${st.sampleOnly} alone: the batch is large`));
    }
    return section;
  }

  private heatmapView(values: Float32Array, shape: readonly number[], ignored?: Uint8Array, range?: readonly [number, number]): HTMLElement {
    const section = el('section', 'box heat');
    section.id = 'heatmap';
    const heat = new Heatmap({ values, shape, ignored, range });
    this.heatmap = heat;
    const nav = el('div', 'heat-nav');
    if (heat.samples > 1) {
      let sample = 0;
      const prev = ui.iconButton('‹', 'Previous sample');
      const next = ui.iconButton('›', 'Next sample');
      prev.addEventListener('click', () => heat.show(sample = Math.max(0, sample - 1)));
      next.addEventListener('click', () => heat.show(sample = Math.min(heat.samples - 1, sample + 1)));
      nav.append(prev, next);
    }
    section.append(el('h2', undefined, 'Per-pixel loss'), nav, heat.element);
    return section;
  }

  private confusionView(c: NonNullable<EvaluationDetails['classSummary']>): HTMLElement {
    const section = el('section', 'box confusion');
    section.id = 'confusion';
    const acc = c.counted ? c.correct / c.counted : NaN;
    const head = el('div', 'accuracy');
    head.id = 'accuracy';
    head.textContent = `accuracy ${Number.isNaN(acc) ? '—' : `${(acc * 100).toFixed(1)}%`} (${formatCount(c.correct)} of ${formatCount(c.counted)} ${c.counted === 1 ? 'element' : 'elements'})`;
    section.append(el('h2', undefined, 'Accuracy and classes'), head);
    const table = el('table', 'classes');
    const thead = el('thead');
    const hr = el('tr');
    for (const h of ['class', 'target', 'predicted', 'correct', 'recall']) hr.append(el('th', undefined, h));
    thead.append(hr);
    const tbody = el('tbody');
    // Many classes: the most frequent targets first, at most 24 rows.
    const order = [...Array(c.classes).keys()].filter(k => c.targetCounts[k] || c.predictedCounts[k]);
    if (c.classes > 24) order.sort((a, b) => c.targetCounts[b] - c.targetCounts[a] || a - b);
    for (const k of order.slice(0, 24)) {
      const tr = el('tr');
      const recall = c.targetCounts[k] ? c.truePositives[k] / c.targetCounts[k] : NaN;
      tr.append(
        el('td', undefined, String(k)), el('td', 'num', formatCount(c.targetCounts[k])), el('td', 'num', formatCount(c.predictedCounts[k])),
        el('td', 'num', formatCount(c.truePositives[k])), el('td', 'num', Number.isNaN(recall) ? '—' : `${(recall * 100).toFixed(0)}%`),
      );
      tbody.append(tr);
    }
    table.append(thead, tbody);
    section.append(table);
    if (order.length > 24) section.append(el('div', 'hint', `${order.length - 24} more classes not shown`));
    if (c.topConfusions.length) {
      section.append(el('div', 'hint', `most confused: ${c.topConfusions.map(p => `${p.target} → ${p.predicted} (${formatCount(p.count)})`).join(', ')}`));
    }
    return section;
  }
}

function labelOf(files: readonly WorkspaceFile[], fileId: string): string {
  return files.find(f => f.fileId === fileId)?.label ?? fileId.replace(/^.*\//, '');
}

function asPanelError(err: unknown): PanelError {
  if (err && typeof err === 'object' && typeof (err as PanelError).type === 'string' && typeof (err as PanelError).message === 'string') {
    return { ...(err as PanelError) };
  }
  return { type: 'Error', message: err instanceof Error ? err.message : String(err) };
}

void new LossPanel().start().catch(err => {
  const app = document.getElementById('app');
  if (app) app.textContent = `The loss panel could not start: ${(err as Error).message ?? String(err)}`;
});
