// How edits move the line an end-of-line note is attached to. Pure, so it is unit-tested without VS Code.

/**
 * How an edit moves a tracked line: the new line number, or undefined when the edit touches the line
 * itself (the note no longer describes what is there). Pure, for the unit tests.
 */
export function shiftLine(line: number, change: { startLine: number; endLine: number; insertedLines: number }): number | undefined {
  if (change.endLine < line) return line + change.insertedLines - (change.endLine - change.startLine);
  if (change.startLine > line) return line;
  return undefined;
}
