// `tensorLens/checkWorkspace`: analyse every TypeScript file under the workspace folders, publishing
// as it goes, with progress, yielding between files so edits and requests keep flowing, and
// stopping when cancelled.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkDoneProgressReporter } from 'vscode-languageserver';
import type { CheckWorkspaceResult } from '../../protocol/server';
import { isTypeScriptFile, uriToFileName } from './files';
import type { Session } from './session';

/** Folders never walked: dependencies, build output, VCS metadata. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'out', 'build', 'coverage']);
/** A bound on the walk, so a mis-opened home folder cannot stall the server. */
const MAX_FILES = 20_000;

export function listTypeScriptFiles(folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (out.length >= MAX_FILES) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folder: skip, the rest still counts
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIPPED_DIRS.has(e.name)) walk(p);
      } else if (e.isFile() && isTypeScriptFile(e.name)) {
        out.push(p);
        if (out.length >= MAX_FILES) return;
      }
    }
  };
  for (const f of folders) walk(f);
  return out;
}

const yieldToEventLoop = () => new Promise<void>(resolve => setImmediate(resolve));

export async function checkWorkspace(
  session: Session,
  folderUris: readonly string[] | undefined,
  progress: WorkDoneProgressReporter,
  token: { readonly isCancellationRequested: boolean },
): Promise<CheckWorkspaceResult> {
  const started = performance.now();
  const folders = folderUris?.map(uriToFileName) ?? [...session.workspaceFolders];
  const files = listTypeScriptFiles(folders);
  const totals = { errors: 0, warnings: 0, information: 0 };
  let done = 0;
  let cancelled = false;
  progress.begin('Tensor Lens: checking workspace', 0, `${files.length} files`, true);
  session.setBusy(true);
  try {
    for (const fileName of files) {
      if (token.isCancellationRequested) {
        cancelled = true;
        break;
      }
      const open = session.files.openDocument(fileName);
      const counts = session.reporter.guard(`checking ${fileName}`, { errors: 0, warnings: 0, information: 0 }, () => {
        if (open) {
          // An open file is already analysed at its editor version; count what is published.
          const entry = session.analysisFor(open);
          const c = { errors: 0, warnings: 0, information: 0 };
          for (const d of entry?.lsp ?? []) {
            if (d.severity === 1) c.errors++;
            else if (d.severity === 2) c.warnings++;
            else c.information++;
          }
          return c;
        }
        session.workspaceChecked.add(fileName);
        return session.publishFromDisk(fileName);
      });
      totals.errors += counts.errors;
      totals.warnings += counts.warnings;
      totals.information += counts.information;
      done++;
      if (done % 10 === 0 || done === files.length) {
        progress.report(Math.floor((done / Math.max(1, files.length)) * 100), `${done}/${files.length}`);
      }
      await yieldToEventLoop();
    }
  } finally {
    progress.done();
    session.setBusy(false);
  }
  return { files: done, ...totals, elapsedMs: Math.round(performance.now() - started), cancelled };
}
