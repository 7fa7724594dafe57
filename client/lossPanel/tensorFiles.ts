// Tensor files of the workspace for the loss panel: finding them, and streaming one file's bytes to
// the webview in ordered chunks so the panel can show the transfer's progress.
import * as vscode from 'vscode';
import type { HostToWebview, WorkspaceFile } from '../../protocol/webview';

/** Extensions the panel reads (the readers in `compute/readers/`). JSON is offered only when picked. */
export const TENSOR_FILE_GLOB = '**/*.{npy,npz,safetensors}';
export const TENSOR_FILE_EXTENSIONS = ['npy', 'npz', 'safetensors', 'json'];

/** One message carries this many bytes: small enough for steady progress, large enough that the
 * per-message cost does not dominate (code-server moves ~13 MB/s, so ~0.3 s per chunk). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Larger files are refused with a clear message rather than stalling the editor for minutes. */
export const MAX_FILE_BYTES = 1024 * 1024 * 1024;

export function isTensorFile(uri: vscode.Uri): boolean {
  const ext = uri.path.slice(uri.path.lastIndexOf('.') + 1).toLowerCase();
  return TENSOR_FILE_EXTENSIONS.includes(ext);
}

export function describeFile(uri: vscode.Uri, byteLength?: number): WorkspaceFile {
  // The folder name only where there are several: `data/segLogits.npy`, not `ws/data/segLogits.npy`.
  const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  return { fileId: uri.toString(), label: vscode.workspace.asRelativePath(uri, multiRoot), byteLength };
}

/** The workspace's tensor files, outside `node_modules`, sorted by path; at most `limit`. */
export async function findTensorFiles(limit = 500): Promise<WorkspaceFile[]> {
  const uris = await vscode.workspace.findFiles(TENSOR_FILE_GLOB, '**/node_modules/**', limit);
  const files = await Promise.all(uris.map(async uri => {
    let size: number | undefined;
    try {
      size = (await vscode.workspace.fs.stat(uri)).size;
    } catch {
      size = undefined;
    }
    return describeFile(uri, size);
  }));
  return files.sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Sends `uri`'s bytes as `fileBegin` + `fileChunk`s, awaiting each post so a slow transport applies
 * back-pressure instead of queueing the whole file. Each chunk is a fresh `Uint8Array` with its own
 * buffer: VS Code sends typed arrays as binary, but a Node `Buffer` (what `fs` may hand back) would be
 * serialised as JSON, and a view on a larger buffer would send the whole buffer.
 */
export async function streamFile(
  post: (m: HostToWebview) => Thenable<boolean>,
  requestId: number,
  uri: vscode.Uri,
): Promise<void> {
  const fileId = uri.toString();
  const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
  let data: Uint8Array;
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.size > MAX_FILE_BYTES) {
      await post({ type: 'fileError', requestId, fileId, message: `${name}: ${formatBytes(stat.size)} is more than the panel reads (${formatBytes(MAX_FILE_BYTES)})` });
      return;
    }
    data = await vscode.workspace.fs.readFile(uri);
  } catch (err) {
    await post({ type: 'fileError', requestId, fileId, message: `${name}: ${err instanceof Error ? err.message : String(err)}` });
    return;
  }
  if (!(await post({ type: 'fileBegin', requestId, fileId, name, byteLength: data.byteLength }))) return;
  for (let offset = 0; offset < data.byteLength; offset += CHUNK_BYTES) {
    const end = Math.min(offset + CHUNK_BYTES, data.byteLength);
    const bytes = new Uint8Array(end - offset);
    bytes.set(data.subarray(offset, end));
    if (!(await post({ type: 'fileChunk', requestId, offset, bytes }))) return; // the panel went away
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
