// Keeps the server alive: every handler runs inside a guard that logs an internal error, reports it
// once to the user, and answers with a neutral result instead of failing the request.

import { MessageType, ShowMessageNotification, type Connection } from 'vscode-languageserver';
import { AnalysisCancelled } from '../analysis/api';

export class ErrorReporter {
  /** Distinct errors already shown to the user: one `window/showMessage` each, however often they recur. */
  private readonly shown = new Set<string>();
  /** The last internal error, for the status bar tooltip. */
  lastError: string | undefined;

  constructor(private readonly connection: Connection) {}

  log(message: string): void {
    try {
      this.connection.console.log(message);
    } catch {
      // The connection is closing; nothing left to tell.
    }
  }

  /**
   * Logs an internal error with its stack and shows it once per distinct message and origin.
   * `subject` (the file being analysed) is logged but does not make an error distinct.
   */
  report(where: string, err: unknown, subject?: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const firstFrame = (e.stack ?? '').split('\n').slice(1, 2).join('').trim();
    const key = `${where}|${e.message}|${firstFrame}`;
    this.lastError = `${where}: ${e.message}`;
    try {
      this.connection.console.error(`[internal error] ${where}${subject ? ` (${subject})` : ''}: ${e.stack ?? e.message}`);
      if (!this.shown.has(key)) {
        this.shown.add(key);
        // A notification, not `showMessageRequest`: nothing to answer, nothing left pending.
        void this.connection.sendNotification(ShowMessageNotification.type, {
          type: MessageType.Error,
          message: `Tensor Lens hit an internal error in ${where}: ${e.message}. The server keeps running; details are in the Tensor Lens output.`,
        });
      }
    } catch {
      // Reporting must never throw in turn.
    }
  }

  /** Runs `fn`; on an internal error reports it and returns `fallback`. Cancellation is not an error. */
  guard<T>(where: string, fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof AnalysisCancelled)) this.report(where, err);
      return fallback;
    }
  }

  async guardAsync<T>(where: string, fallback: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof AnalysisCancelled)) this.report(where, err);
      return fallback;
    }
  }
}
