// The one module that knows the UI component library: @vscode/webview-ui-toolkit 1.4.0 (archived
// upstream). It loads the library and creates its elements; the rest of the panel sees plain
// `HTMLElement`s with `value`/`disabled` and standard events, so a move to @vscode-elements/elements
// changes this file (and the copied asset name in scripts/build.mjs) only.

/** The library's file in `dist/webview/`, copied there by the build. */
const TOOLKIT_FILE = 'toolkit.min.js';
/** Elements the panel uses; it waits for their definitions before measuring or focusing anything. */
const TAGS = ['vscode-button', 'vscode-dropdown', 'vscode-option', 'vscode-text-field', 'vscode-progress-ring', 'vscode-divider', 'vscode-checkbox'];

/**
 * Loads the library as a module script carrying the page's CSP nonce (the toolkit is an ES module;
 * a classic bundle cannot `import` it, and the nonce is the only script source the CSP allows).
 * Resolves when the components are defined; rejects after 10 s with a message for the page.
 */
export function loadToolkit(webviewBase: string): Promise<void> {
  const nonce = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.content ?? '';
  const script = document.createElement('script');
  script.type = 'module';
  script.nonce = nonce;
  script.src = `${webviewBase}/${TOOLKIT_FILE}`;
  const failed = new Promise<never>((_, reject) => {
    script.addEventListener('error', () => reject(new Error(`could not load ${TOOLKIT_FILE}`)));
    setTimeout(() => reject(new Error(`${TOOLKIT_FILE} did not define its components within 10 s`)), 10_000);
  });
  document.head.appendChild(script);
  adoptSizing();
  return Promise.race([Promise.all(TAGS.map(t => customElements.whenDefined(t))).then(() => undefined), failed]);
}

/**
 * How the panel sizes the library's elements, kept here with the only code that knows their tag
 * names and design tokens. A constructed stylesheet: CSP governs neither it nor the toolkit's own.
 * The panel marks controls by role (`compact`, `fill`) and this maps the roles to the library.
 */
function adoptSizing(): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    vscode-text-field.compact { --input-min-width: 48px; width: 72px; }
    vscode-text-field.fill, vscode-dropdown.fill { --input-min-width: 60px; width: 100%; }
    vscode-dropdown.wide { min-width: 160px; max-width: 100%; }
    vscode-progress-ring { height: 20px; width: 20px; flex: none; }
  `);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

/** Size roles a control can take (see adoptSizing). */
export type SizeRole = 'compact' | 'fill' | 'wide';

export function sized<T extends HTMLElement>(control: T, role: SizeRole): T {
  control.classList.add(role);
  return control;
}

export interface Choice {
  readonly value: string;
  readonly label: string;
}

/** A form control: `value` to read and write, `change` events, `disabled`. */
export type Control = HTMLElement & { value: string; disabled: boolean };

export function button(label: string, opts: { primary?: boolean; id?: string; title?: string } = {}): Control {
  const b = document.createElement('vscode-button') as Control;
  b.textContent = label;
  b.setAttribute('appearance', opts.primary ? 'primary' : 'secondary');
  if (opts.id) b.id = opts.id;
  if (opts.title) b.title = opts.title;
  return b;
}

/** An icon-only button (codicon-free: the glyph is text, so no font needs loading). */
export function iconButton(glyph: string, title: string): Control {
  const b = document.createElement('vscode-button') as Control;
  b.setAttribute('appearance', 'icon');
  b.setAttribute('aria-label', title);
  b.title = title;
  b.textContent = glyph;
  return b;
}

export function dropdown(choices: readonly Choice[], value: string, opts: { id?: string; label?: string } = {}): Control {
  const d = document.createElement('vscode-dropdown') as Control;
  if (opts.id) d.id = opts.id;
  if (opts.label) d.setAttribute('aria-label', opts.label);
  setChoices(d, choices, value);
  return d;
}

/** Replaces a dropdown's options, keeping `value` selected when it is still offered. */
export function setChoices(d: Control, choices: readonly Choice[], value: string): void {
  d.replaceChildren(...choices.map(c => {
    const o = document.createElement('vscode-option') as HTMLElement & { value: string; selected: boolean };
    o.setAttribute('value', c.value);
    o.textContent = c.label;
    if (c.value === value) {
      o.setAttribute('selected', '');
    }
    return o;
  }));
  // FAST picks the selected option when the options are connected; setting the value after that
  // makes the choice stick even when the options were replaced while connected.
  queueMicrotask(() => {
    if (choices.some(c => c.value === value)) d.value = value;
  });
}

export function textField(value: string, opts: { id?: string; label?: string; size?: number; placeholder?: string } = {}): Control {
  const t = document.createElement('vscode-text-field') as Control;
  if (opts.id) t.id = opts.id;
  if (opts.label) t.setAttribute('aria-label', opts.label);
  if (opts.size) t.setAttribute('size', String(opts.size));
  if (opts.placeholder) t.setAttribute('placeholder', opts.placeholder);
  t.setAttribute('value', value);
  t.value = value;
  return t;
}

export function checkbox(label: string, checked: boolean, id?: string): HTMLElement & { checked: boolean } {
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  if (id) c.id = id;
  c.textContent = label;
  c.checked = checked;
  if (checked) c.setAttribute('checked', '');
  return c;
}

export function progressRing(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

export function divider(): HTMLElement {
  const d = document.createElement('vscode-divider');
  d.setAttribute('role', 'separator');
  return d;
}

/** Fires `fn` on user edits: `change` for dropdowns and checkboxes, `input` for text fields. */
export function onEdit(control: HTMLElement, fn: () => void): void {
  control.addEventListener(control.tagName.toLowerCase() === 'vscode-text-field' ? 'input' : 'change', fn);
}
