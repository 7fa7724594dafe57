// The language server's state and its lifecycle: open documents, configuration, the analysis cache,
// debounced re-analysis of changed files and their importers, publishing diagnostics and status.

import { dirname } from 'node:path';
import {
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocuments,
  type ClientCapabilities,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeParams,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic, FileAnalysis } from '../analysis/api';
import { ServerStatusNotification, type AnalyzerState } from '../../protocol/server';
import { createAnalyzer, internalDiagnostic, type Analyzer } from './analyzer';
import {
  analysisOptions,
  CONFIG_FILE_NAME,
  defaultSettings,
  loadProjectConfig,
  parseSettings,
  type LoadedProjectConfig,
  type Settings,
} from './config';
import { DIAGNOSTIC_SOURCE, findDiagnosticsDoc, toLspDiagnostic, toRange, type ConvertOptions } from './convert';
import { FileView, isAnalysed, isTypeScriptFile, uriToFileName } from './files';
import { ErrorReporter } from './guard';

/** Quiet time after the last keystroke before a burst of edits is analysed (the first edit after a pause goes at once). */
export const DEFAULT_DEBOUNCE_MS = 150;

interface CachedAnalysis {
  readonly version: number;
  readonly generation: number;
  readonly analysis: FileAnalysis;
  /** The analysis's diagnostics for this file, and the same as published (index for index). */
  readonly diagnostics: readonly Diagnostic[];
  readonly lsp: LspDiagnostic[];
}

interface Counts {
  errors: number;
  warnings: number;
  information: number;
}

/** Options a client may pass in `initializationOptions` besides the settings. */
interface InitOptions {
  readonly debounceMs?: number;
  readonly settings?: unknown;
  /** Tests only: files containing this text make the analysis throw (see createAnalyzer). */
  readonly faultInjectionMarker?: string;
}

export class Session {
  readonly documents = new TextDocuments(TextDocument);
  readonly files = new FileView(this.documents);
  readonly reporter: ErrorReporter;
  settings: Settings = defaultSettings;
  analyzer: Analyzer;

  private capabilities: ClientCapabilities = {};
  private folders: string[] = [];
  private projectConfigs = new Map<string, LoadedProjectConfig>();
  private debounceMs = DEFAULT_DEBOUNCE_MS;
  private convertOptions: ConvertOptions = { relatedInformation: false, docsUri: undefined };

  /** Bumped when anything every file depends on changes (settings, tensorlens.json): all caches go stale. */
  private generation = 0;
  private readonly cache = new Map<string, CachedAnalysis>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastChangeAt = new Map<string, number>();
  /** Files whose diagnostics came from a workspace check (kept when their editor closes). */
  readonly workspaceChecked = new Set<string>();
  private readonly publishedCounts = new Map<string, Counts>();
  private state: AnalyzerState = 'ready';
  private statusTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly connection: Connection) {
    this.reporter = new ErrorReporter(connection);
    this.analyzer = createAnalyzer(this.files, analysisOptions(this.settings, []));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  initialize(params: InitializeParams): void {
    this.capabilities = params.capabilities;
    const init = (params.initializationOptions ?? {}) as InitOptions;
    if (typeof init.debounceMs === 'number' && init.debounceMs >= 0) this.debounceMs = init.debounceMs;
    if (init.settings !== undefined) this.settings = parseSettings(init.settings);
    if (typeof init.faultInjectionMarker === 'string' && init.faultInjectionMarker.length > 0) {
      this.analyzer = createAnalyzer(this.files, this.currentOptions(), init.faultInjectionMarker);
    }
    this.folders = (params.workspaceFolders ?? []).map(f => uriToFileName(f.uri));
    if (this.folders.length === 0 && params.rootUri) this.folders = [uriToFileName(params.rootUri)];
    this.convertOptions = {
      relatedInformation: params.capabilities.textDocument?.publishDiagnostics?.relatedInformation === true,
      docsUri: findDiagnosticsDoc(__dirname),
    };
    this.loadProjectConfigs();
    this.analyzer.setOptions(this.currentOptions());
    this.publishConfigProblems();
  }

  async initialized(): Promise<void> {
    const ws = this.capabilities.workspace;
    if (ws?.didChangeConfiguration?.dynamicRegistration) {
      await this.connection.client.register(DidChangeConfigurationNotification.type, { section: 'tensorLens' });
    }
    if (ws?.didChangeWatchedFiles?.dynamicRegistration) {
      await this.connection.client.register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: `**/${CONFIG_FILE_NAME}` }, { globPattern: '**/*.{ts,tsx,mts,cts}' }],
      });
    }
    if (ws?.workspaceFolders) {
      this.connection.workspace.onDidChangeWorkspaceFolders(e =>
        this.reporter.guard('workspace folders', undefined, () => {
          const removed = new Set(e.removed.map(f => uriToFileName(f.uri)));
          this.folders = this.folders.filter(f => !removed.has(f)).concat(e.added.map(f => uriToFileName(f.uri)));
          this.configChanged(true);
        }),
      );
    }
    await this.pullSettings();
  }

  /** Re-reads the settings from the client (the pull model: the notification's payload is ignored). */
  async pullSettings(): Promise<void> {
    if (!this.capabilities.workspace?.configuration) return;
    let raw: unknown;
    try {
      raw = await this.connection.workspace.getConfiguration('tensorLens');
    } catch (err) {
      this.reporter.log(`could not read settings: ${(err as Error).message}`);
      return;
    }
    this.applySettings(parseSettings(raw));
  }

  /** Settings sent with the notification itself, by clients without `workspace/configuration`. */
  applyPushedSettings(raw: unknown): void {
    if (this.capabilities.workspace?.configuration) return;
    const section = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).tensorLens : undefined;
    if (section !== undefined) this.applySettings(parseSettings(section));
  }

  private applySettings(next: Settings): void {
    const prev = this.settings;
    this.settings = next;
    const analysisChanged = JSON.stringify(prev.torchModules) !== JSON.stringify(next.torchModules);
    if (analysisChanged) this.configChanged(false);
    if (prev.inlayHintsEnabled !== next.inlayHintsEnabled || analysisChanged) this.refreshInlayHints();
    if (prev.codeLensEnabled !== next.codeLensEnabled || analysisChanged) this.refreshCodeLenses();
  }

  // ---- configuration files ----------------------------------------------------------------------

  private loadProjectConfigs(): void {
    const next = new Map<string, LoadedProjectConfig>();
    for (const folder of this.folders) {
      const loaded = loadProjectConfig(folder);
      const prev = this.projectConfigs.get(folder);
      // A broken file keeps the last good configuration: a half-typed edit must not drop the user's modules.
      const keep = loaded.problems.length > 0 && prev && prev.problems.length === 0 && loaded.text !== undefined;
      next.set(folder, keep ? { ...loaded, config: prev.config, problems: loaded.problems } : loaded);
    }
    for (const folder of this.projectConfigs.keys()) {
      // A folder removed from the workspace takes its config's problems with it.
      if (!next.has(folder)) void this.connection.sendDiagnostics({ uri: this.files.uriOf(this.projectConfigs.get(folder)!.fileName), diagnostics: [] });
    }
    this.projectConfigs = next;
  }

  /**
   * Problems of each tensorlens.json, on the file itself: JSON and schema problems from reading it,
   * and function signatures the analysis could not parse (TL1009), at the entry's key.
   */
  private publishConfigProblems(): void {
    const signatureProblems = this.reporter.guard('config problems', [], () => [...this.analyzer.configProblems()]);
    for (const loaded of this.projectConfigs.values()) {
      const uri = this.files.uriOf(loaded.fileName);
      const text = loaded.text ?? '';
      const doc = TextDocument.create(uri, 'json', 0, text);
      const diagnostics: LspDiagnostic[] = loaded.problems.map(p => {
        const at = p.offset ?? 0;
        return { range: toRange(doc, { start: at, end: at + 1 }), severity: 1, source: DIAGNOSTIC_SOURCE, message: p.message };
      });
      for (const p of signatureProblems) {
        if (!(p.name in loaded.config.functions)) continue;
        const at = Math.max(0, text.indexOf(JSON.stringify(p.name)));
        diagnostics.push({ range: toRange(doc, { start: at, end: at + JSON.stringify(p.name).length }), severity: 1, source: DIAGNOSTIC_SOURCE, code: p.code, message: p.message });
      }
      for (const d of diagnostics) this.reporter.log(`${loaded.fileName}: ${d.message}`);
      void this.connection.sendDiagnostics({ uri, diagnostics });
    }
  }

  private currentOptions() {
    return analysisOptions(this.settings, [...this.projectConfigs.values()].map(p => p.config));
  }

  /** Settings or tensorlens.json changed: every cached analysis is stale; re-analyse the open files. */
  configChanged(reloadFiles: boolean): void {
    if (reloadFiles) this.loadProjectConfigs();
    this.generation++;
    this.analyzer.setOptions(this.currentOptions());
    this.publishConfigProblems();
    for (const f of this.files.openFileNames()) this.schedule(this.files.uriOf(f), 0);
  }

  onWatchedFilesChanged(changes: readonly { uri: string; type: number }[]): void {
    let configTouched = false;
    const changed: string[] = [];
    for (const c of changes) {
      const fileName = uriToFileName(c.uri);
      if (fileName.endsWith(CONFIG_FILE_NAME)) {
        if (this.folders.includes(dirname(fileName))) configTouched = true;
        continue;
      }
      if (!isTypeScriptFile(fileName) || this.files.isOpen(fileName)) continue; // open files follow the buffer
      changed.push(fileName);
      if (c.type === FileChangeType.Deleted && this.workspaceChecked.delete(fileName)) {
        void this.connection.sendDiagnostics({ uri: c.uri, diagnostics: [] });
        this.publishedCounts.delete(c.uri);
      }
    }
    if (configTouched) {
      this.configChanged(true);
      this.refreshInlayHints();
      this.refreshCodeLenses();
      return;
    }
    // A created file may be what an open file's unresolved import was waiting for (no dependency on it
    // was ever recorded), and a deleted one may leave an import dangling: start the project afresh and
    // re-analyse every open file. Creating and deleting files is rare next to editing them.
    if (changes.some(c => c.type !== FileChangeType.Changed && isTypeScriptFile(uriToFileName(c.uri)))) {
      this.configChanged(false);
      return;
    }
    for (const f of changed) this.scheduleImporters(f);
  }

  // ---- documents --------------------------------------------------------------------------------

  onOpen(doc: TextDocument): void {
    this.files.noteOpen(doc.uri);
    this.analyzer.fileOpened(uriToFileName(doc.uri), doc.getText());
    this.schedule(doc.uri, 0);
  }

  onChange(doc: TextDocument): void {
    const fileName = uriToFileName(doc.uri);
    this.analyzer.fileOpened(fileName, doc.getText());
    this.cache.delete(doc.uri);
    const now = Date.now();
    const last = this.lastChangeAt.get(doc.uri) ?? 0;
    this.lastChangeAt.set(doc.uri, now);
    // Leading-edge debounce: the first edit after a pause is analysed at once (next tick, so edits
    // already queued coalesce); edits inside a burst wait for `debounceMs` of quiet.
    const idle = now - last >= this.debounceMs && !this.timers.has(doc.uri);
    const delay = idle ? 0 : this.debounceMs;
    this.schedule(doc.uri, delay);
    this.scheduleImporters(fileName, delay);
  }

  onClose(uri: string): void {
    const fileName = uriToFileName(uri);
    this.files.noteClosed(uri);
    this.cancelTimer(uri);
    this.wake(uri); // waiting requests find the document gone and answer empty
    this.cache.delete(uri);
    this.lastChangeAt.delete(uri);
    this.analyzer.fileClosed(fileName); // back to the disk's text
    if (this.workspaceChecked.has(fileName)) {
      // The disk's version now speaks for the file, as after a workspace check.
      this.reporter.guard('re-check closed file', undefined, () => this.publishFromDisk(fileName));
    } else {
      this.publishedCounts.delete(uri);
      void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    }
    this.scheduleImporters(fileName);
    this.sendStatusSoon();
  }

  private cancelTimer(uri: string): void {
    const t = this.timers.get(uri);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(uri);
  }

  /** (Re-)analyses `uri` after `delay` ms; a later call supersedes an earlier pending one. */
  schedule(uri: string, delay: number): void {
    this.cancelTimer(uri);
    this.setState('analysing');
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        this.reporter.guard('diagnostics', undefined, () => this.validate(uri));
        this.wake(uri);
        if (this.timers.size === 0) this.sendStatusSoon();
      }, delay),
    );
  }

  /** Requests waiting for a file's pending analysis (see `settledAnalysis`). */
  private readonly waiting = new Map<string, (() => void)[]>();

  private wake(uri: string): void {
    const list = this.waiting.get(uri);
    this.waiting.delete(uri);
    for (const resolve of list ?? []) resolve();
  }

  /**
   * The analysis of an open document once its pending (debounced) analysis has run, for requests the
   * editor sends on every keystroke (inlay hints, CodeLens, code actions): they wait for the burst
   * of edits to settle instead of forcing one analysis per keystroke. Without a pending analysis it
   * answers at once. Undefined when the request is cancelled or the document closes meanwhile.
   */
  async settledAnalysis(uri: string, token: { readonly isCancellationRequested: boolean; onCancellationRequested?: (listener: () => void) => { dispose(): void } }): Promise<CachedAnalysis | undefined> {
    for (;;) {
      const doc = this.documents.get(uri);
      if (!doc || token.isCancellationRequested) return undefined;
      if (!this.timers.has(uri)) return this.analysisFor(doc);
      await new Promise<void>(resolve => {
        const list = this.waiting.get(uri) ?? [];
        list.push(resolve);
        this.waiting.set(uri, list);
        token.onCancellationRequested?.(resolve);
      });
    }
  }

  /**
   * Re-analyses the open files that import `fileName`, directly or through other files: their
   * results may change with it. Computed once per change (a breadth-first walk, so import cycles end).
   */
  private scheduleImporters(fileName: string, delay = 0): void {
    const seen = new Set<string>([fileName]);
    const queue = [fileName];
    while (queue.length > 0) {
      const f = queue.shift()!;
      let importers: readonly string[] = [];
      try {
        importers = this.analyzer.importersOf(f);
      } catch (err) {
        this.reporter.report('importersOf', err, f);
      }
      for (const imp of importers) {
        if (seen.has(imp)) continue;
        seen.add(imp);
        queue.push(imp);
        if (!this.files.isOpen(imp)) continue;
        const uri = this.files.uriOf(imp);
        this.cache.delete(uri);
        this.schedule(uri, delay);
      }
    }
  }

  /** Analyses an open document at its current version (or takes the cached result) and publishes. */
  private validate(uri: string): void {
    const doc = this.documents.get(uri);
    if (!doc) return;
    const entry = this.analysisFor(doc);
    if (!entry) return;
    this.publish(doc.uri, doc.version, entry.lsp);
    // Right after publishing, before the next edit is likely: what makes that edit fast (a no-op
    // once done for this text).
    const fileName = uriToFileName(uri);
    setImmediate(() => this.reporter.guard('prepare edits', undefined, () => this.analyzer.prepareEdits(fileName)));
  }

  /**
   * The analysis of an open document at its current version, from the cache or computed now. Hover,
   * inlay hints, code actions and CodeLens all read through here, so they never see a stale file.
   */
  analysisFor(doc: TextDocument): CachedAnalysis | undefined {
    if (!isAnalysed(doc.languageId, doc.uri)) return undefined;
    const hit = this.cache.get(doc.uri);
    if (hit && hit.version === doc.version && hit.generation === this.generation) return hit;
    const fileName = uriToFileName(doc.uri);
    const version = doc.version;
    // FIXME: the analysis runs synchronously on this thread, so a newer version cannot interrupt a
    // run in progress; stale work is cut before it starts instead (a pending analysis is superseded by
    // the next edit's timer, a result is published only with the version it was computed for). Real
    // mid-run cancellation needs the analysis in a worker thread; the token is here for that day.
    const token = { isCancellationRequested: false };
    const started = performance.now();
    let analysis: FileAnalysis;
    try {
      analysis = this.analyzer.analyze(fileName, token);
    } catch (err) {
      this.reporter.report('analysis', err, fileName);
      analysis = internalErrorAnalysis(fileName, err);
    }
    // Diagnostics about other files (an import's annotation) belong to those files' own analyses.
    const diagnostics = analysis.diagnostics.filter(d => d.fileName === fileName);
    const lsp = diagnostics.map((d, i) => toLspDiagnostic(doc, d, i, this.files, this.convertOptions));
    // Timings for `tensorLens.trace.server` (sent only while the client traces; free otherwise).
    this.connection.tracer.log(
      `analysed ${fileName} v${version} in ${(performance.now() - started).toFixed(1)} ms: ${lsp.length} diagnostics, ${analysis.shapes.length} shapes, ${analysis.lossCalls.length} loss calls`,
    );
    const entry: CachedAnalysis = { version, generation: this.generation, analysis, diagnostics, lsp };
    this.cache.set(doc.uri, entry);
    return entry;
  }

  /** Analyses a file from disk (workspace check, a closed file that was workspace-checked) and publishes. */
  publishFromDisk(fileName: string): Counts {
    const doc = this.files.snapshot(fileName);
    if (!doc) return { errors: 0, warnings: 0, information: 0 };
    let analysis: FileAnalysis;
    try {
      analysis = this.analyzer.analyze(fileName, { isCancellationRequested: false });
    } catch (err) {
      this.reporter.report('analysis', err, fileName);
      analysis = internalErrorAnalysis(fileName, err);
    }
    const lsp = analysis.diagnostics
      .filter(d => d.fileName === fileName)
      .map((d, i) => toLspDiagnostic(doc, d, i, this.files, this.convertOptions));
    const uri = this.files.uriOf(fileName);
    this.publish(uri, undefined, lsp);
    return count(lsp);
  }

  private publish(uri: string, version: number | undefined, diagnostics: LspDiagnostic[]): void {
    this.publishedCounts.set(uri, count(diagnostics));
    void this.connection.sendDiagnostics(version === undefined ? { uri, diagnostics } : { uri, version, diagnostics });
  }

  // ---- status -----------------------------------------------------------------------------------

  private setState(state: AnalyzerState): void {
    if (this.state === state) return;
    this.state = state;
    this.sendStatus();
  }

  /** Coalesces status updates: one notification per burst of analyses. */
  sendStatusSoon(): void {
    if (this.statusTimer !== undefined) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.timers.size === 0) this.state = 'ready';
      this.sendStatus();
    }, 10);
  }

  sendStatus(): void {
    const totals: Counts = { errors: 0, warnings: 0, information: 0 };
    let files = 0;
    for (const c of this.publishedCounts.values()) {
      if (c.errors + c.warnings + c.information > 0) files++;
      totals.errors += c.errors;
      totals.warnings += c.warnings;
      totals.information += c.information;
    }
    const message = this.reporter.lastError;
    void this.connection.sendNotification(ServerStatusNotification, { state: this.state, files, ...totals, ...(message ? { message } : {}) });
  }

  setBusy(busy: boolean): void {
    if (busy) this.setState('analysing');
    else this.sendStatusSoon();
  }

  refreshInlayHints(): void {
    if (this.capabilities.workspace?.inlayHint?.refreshSupport) void this.connection.languages.inlayHint.refresh().catch(() => undefined);
  }

  refreshCodeLenses(): void {
    if (this.capabilities.workspace?.codeLens?.refreshSupport) void this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  }

  get workspaceFolders(): readonly string[] {
    return this.folders;
  }
}

function count(diagnostics: readonly LspDiagnostic[]): Counts {
  const c: Counts = { errors: 0, warnings: 0, information: 0 };
  for (const d of diagnostics) {
    if (d.severity === 1) c.errors++;
    else if (d.severity === 2) c.warnings++;
    else c.information++;
  }
  return c;
}

/**
 * A file whose analysis crashed: one internal diagnostic at the top, so the user sees why the file
 * went quiet (STYLE: "caught once per request at the LSP boundary … reported as one internal diagnostic").
 */
function internalErrorAnalysis(fileName: string, err: unknown): FileAnalysis {
  const message = err instanceof Error ? err.message : String(err);
  return {
    fileName,
    profile: null,
    diagnostics: [internalDiagnostic(fileName, message)],
    shapes: [],
    lossCalls: [],
  };
}

