/** Line numbers for messages about a JSON file (run.json): where a parse stopped, where a field is. */

const lineOf = (text: string, at: number): number => text.slice(0, at).split('\n').length;

/** Where JSON.parse stopped in `text`, as "line L, column C" (V8 gives a position, or a line and column). */
export function jsonErrorPlace(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
  const position = /position (\d+)/.exec(message);
  const at = position ? Number(position[1]) : text.length;
  return `line ${lineOf(text, at)}, column ${at - text.lastIndexOf('\n', at - 1)}`;
}

/** The line where a field's key is written, following its path's keys in order (indices are skipped). */
export function fieldLine(text: string, path: readonly PropertyKey[]): number | undefined {
  let at = 0;
  let found = false;
  for (const key of path) {
    if (typeof key !== 'string') continue;
    const next = text.indexOf(`${JSON.stringify(key)}:`, at);
    if (next < 0) return found ? lineOf(text, at) : undefined;
    at = next;
    found = true;
  }
  return found ? lineOf(text, at) : undefined;
}
