// URIs ⇄ file names, and reading a file's current text: the open editor buffer first, then the disk.

import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';

/** The analysis's file name for a document URI: a path for `file:` URIs, the URI itself otherwise (untitled buffers). */
export function uriToFileName(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      return uri;
    }
  }
  return uri;
}

export function fileNameToUri(fileName: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(fileName) && !/^[a-z]:[\\/]/i.test(fileName) ? fileName : pathToFileURL(fileName).href;
}

export function isTypeScriptFile(fileName: string): boolean {
  return /\.(ts|tsx|mts|cts)$/i.test(fileName) && !/\.d\.[mc]?ts$/i.test(fileName);
}

/** Documents the server analyses: TypeScript by language id, or by extension when a client sends no useful id. */
export function isAnalysed(languageId: string, uri: string): boolean {
  return languageId === 'typescript' || languageId === 'typescriptreact' || (!/^(json|jsonc|javascript|markdown|plaintext)$/.test(languageId) && /\.(ts|tsx|mts|cts)$/i.test(uri));
}

/** Files larger than this are not analysed from disk (generated bundles, vendored code). */
const MAX_DISK_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Open documents keyed by file name, so the analysis host and the converters see the editor's buffer
 * (unsaved edits included) rather than the disk.
 */
export class FileView {
  private readonly uriByFileName = new Map<string, string>();

  constructor(private readonly documents: TextDocuments<TextDocument>) {}

  noteOpen(uri: string): void {
    this.uriByFileName.set(uriToFileName(uri), uri);
  }

  noteClosed(uri: string): void {
    this.uriByFileName.delete(uriToFileName(uri));
  }

  /** The document's own URI when open (editors compare URIs as strings), else one built from the path. */
  uriOf(fileName: string): string {
    return this.uriByFileName.get(fileName) ?? fileNameToUri(fileName);
  }

  openDocument(fileName: string): TextDocument | undefined {
    const uri = this.uriByFileName.get(fileName);
    return uri === undefined ? undefined : this.documents.get(uri);
  }

  isOpen(fileName: string): boolean {
    return this.openDocument(fileName) !== undefined;
  }

  openFileNames(): string[] {
    return [...this.uriByFileName.keys()].filter(f => this.isOpen(f));
  }

  readText(fileName: string): string | undefined {
    const doc = this.openDocument(fileName);
    if (doc) return doc.getText();
    return readDisk(fileName);
  }

  exists(fileName: string): boolean {
    if (this.isOpen(fileName)) return true;
    try {
      return statSync(fileName).isFile();
    } catch {
      return false;
    }
  }

  /** A text document for offset ⇄ position conversion: the open one, or a snapshot of the disk file. */
  snapshot(fileName: string): TextDocument | undefined {
    const doc = this.openDocument(fileName);
    if (doc) return doc;
    const text = readDisk(fileName);
    return text === undefined ? undefined : TextDocument.create(fileNameToUri(fileName), 'typescript', 0, text);
  }
}

function readDisk(fileName: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(fileName) && !/^[a-z]:[\\/]/i.test(fileName)) return undefined;
  try {
    if (statSync(fileName).size > MAX_DISK_FILE_BYTES) return undefined;
    return readFileSync(fileName, 'utf8');
  } catch {
    return undefined;
  }
}
