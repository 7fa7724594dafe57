// The server's one door into the analysis: an `AnalysisProject` over the editor's buffers and the
// disk, told about every open, edit and close, so the rest of the glue never touches its internals.

import type { AnalysisOptions, CancellationToken, Diagnostic, FileAnalysis } from '../analysis/api';
import { diagnosticTable, formatTemplate } from '../analysis/diagnosticTable';
import { AnalysisProject, type ConfigProblem } from '../analysis/index';
import type { FileView } from './files';

export interface Analyzer {
  setOptions(options: AnalysisOptions): void;
  /** Malformed `functions` entries of the options (tensorlens.json), as messages naming the entry. */
  configProblems(): readonly ConfigProblem[];
  /** An open document's text changed (or it was opened): the project analyses the buffer, not the disk. */
  fileOpened(fileName: string, text: string): void;
  /** The document was closed: the disk speaks for the file again. */
  fileClosed(fileName: string): void;
  analyze(fileName: string, token: CancellationToken): FileAnalysis;
  /** Files known to import `fileName`, directly or through other files, whose results may change with it. */
  importersOf(fileName: string): readonly string[];
  /** Idle-time work that makes the next edit of an analysed file fast; results do not depend on it. */
  prepareEdits(fileName: string): void;
}

/**
 * `faultMarker`: a test hook (`initializationOptions.faultInjectionMarker`). A file containing the
 * marker makes the analysis throw, so tests can prove an internal error is contained and reported.
 */
export function createAnalyzer(files: FileView, options: AnalysisOptions, faultMarker?: string): Analyzer {
  // Files not open are read from disk on demand; the project re-reads and compares texts, so a change
  // on disk is noticed without being told.
  const host = {
    readFile: (fileName: string) => files.readText(fileName),
    fileExists: (fileName: string) => files.exists(fileName),
  };
  const project = new AnalysisProject(host, options);
  return {
    setOptions: next => project.setOptions(next),
    configProblems: () => project.configProblems(),
    fileOpened: (fileName, text) => project.updateFile(fileName, text),
    fileClosed: fileName => project.closeFile(fileName),
    analyze(fileName, token) {
      if (faultMarker && files.readText(fileName)?.includes(faultMarker)) throw new Error(`injected fault: ${faultMarker}`);
      return project.analyze(fileName, token);
    },
    importersOf: fileName => project.importersOf(fileName),
    prepareEdits: fileName => project.prepareEdits(fileName),
  };
}

const INTERNAL_ERROR = 'TL9001';
const internalDefinition = diagnosticTable.find(d => d.code === INTERNAL_ERROR);

/**
 * One diagnostic at the top of a file whose analysis crashed outright (the analysis contains its own
 * failures per function; this is the boundary's last resort), so the user knows why it went quiet.
 */
export function internalDiagnostic(fileName: string, detail: string): Diagnostic {
  const def = internalDefinition ?? { code: INTERNAL_ERROR, severity: 'warning' as const, message: 'Internal error in the shape analysis of this {0}: {1}', reason: undefined };
  return {
    fileName,
    range: { start: 0, end: 0 },
    code: def.code,
    severity: def.severity,
    message: formatTemplate(def.message, ['file', detail]),
    reason: def.reason,
    related: [],
    fixes: [],
  };
}
