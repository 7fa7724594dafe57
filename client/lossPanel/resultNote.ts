// The end-of-line note at the loss call the panel's latest result came from
// (`≈ 3.0451 · random init, ln 21 = 3.0445`), kept on its line while lines above move, and cleared
// as soon as that line itself changes.
import * as vscode from 'vscode';
import { shiftLine } from './lineTracking';

interface Note {
  readonly uri: string;
  /** Zero-based line of the call's end, tracked through edits above it. */
  line: number;
  readonly text: string;
  /** The line's text when the note was placed: a different text means the call changed. */
  readonly lineText: string;
}

export class ResultNote implements vscode.Disposable {
  private readonly type = vscode.window.createTextEditorDecorationType({
    after: {
      margin: '0 0 0 2em',
      color: new vscode.ThemeColor('editorCodeLens.foreground'),
      fontStyle: 'italic',
    },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private note: Note | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument(e => this.onChange(e)),
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
      vscode.workspace.onDidCloseTextDocument(d => {
        if (this.note && d.uri.toString() === this.note.uri) this.clear();
      }),
    );
  }

  /** Shows `text` at the end of the line holding offset `callEnd` of document `uri`. */
  async show(uri: string, callEnd: number, text: string): Promise<void> {
    let doc: vscode.TextDocument;
    try {
      doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    } catch {
      return; // the file is gone: nothing to annotate
    }
    const offset = Math.min(Math.max(0, callEnd), doc.getText().length);
    const line = doc.positionAt(offset).line;
    this.note = { uri, line, text, lineText: doc.lineAt(line).text };
    this.render();
  }

  clear(): void {
    this.note = undefined;
    this.render();
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    const note = this.note;
    if (!note || e.document.uri.toString() !== note.uri || e.contentChanges.length === 0) return;
    // Changes are reported against the document before the event; apply them bottom-up so each one's
    // line numbers are still valid when it is applied.
    const changes = [...e.contentChanges].sort((a, b) => b.range.start.line - a.range.start.line);
    let line: number | undefined = note.line;
    for (const c of changes) {
      if (line === undefined) break;
      const insertedLines = c.text.split(/\r\n|\r|\n/).length - 1;
      line = shiftLine(line, { startLine: c.range.start.line, endLine: c.range.end.line, insertedLines });
    }
    if (line === undefined || line >= e.document.lineCount || e.document.lineAt(line).text !== note.lineText) {
      this.clear();
      return;
    }
    note.line = line;
    this.render();
  }

  private render(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const note = this.note;
      if (note && editor.document.uri.toString() === note.uri && note.line < editor.document.lineCount) {
        const end = editor.document.lineAt(note.line).range.end;
        editor.setDecorations(this.type, [{
          range: new vscode.Range(end, end),
          renderOptions: { after: { contentText: note.text } },
        }]);
      } else {
        editor.setDecorations(this.type, []);
      }
    }
  }

  dispose(): void {
    this.note = undefined;
    for (const s of this.subscriptions) s.dispose();
    this.type.dispose();
  }
}
