// Where two versions of a text differ: the incremental parse and the incremental re-analysis both
// start from the one changed span between an old text and a new one.

/** `old[start, oldEnd)` was replaced by `text[start, newEnd)`; everything around it is equal. */
export interface TextChange {
  readonly start: number;
  readonly oldEnd: number;
  readonly newEnd: number;
}

/** The single span that turns `old` into `text` (the longest common prefix, then suffix). */
export function textChange(old: string, text: string): TextChange {
  let start = 0;
  const max = Math.min(old.length, text.length);
  while (start < max && old.charCodeAt(start) === text.charCodeAt(start)) start++;
  let oldEnd = old.length, newEnd = text.length;
  while (oldEnd > start && newEnd > start && old.charCodeAt(oldEnd - 1) === text.charCodeAt(newEnd - 1)) { oldEnd--; newEnd--; }
  return { start, oldEnd, newEnd };
}
