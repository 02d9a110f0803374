/**
 * The source text of one top-level member of a JSON object, so a numeric id
 * is kept exactly as written (9007199254740993 is not a double; 1.0 and 1e2
 * are not "1" and "100"). Only called on a line JSON.parse accepted, so the
 * scanner may rely on it being valid; the last member of a name wins, as in
 * JSON.parse. A scan, not a second parse: strings are skipped with indexOf.
 */

const isSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text.charCodeAt(at))) at += 1;
  return at;
}

/** `at` is on an opening quote; returns the index after the closing one. */
function endOfString(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function endOfValue(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return endOfString(text, at);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = at; ; ) {
      const char = text[i];
      if (char === '"') {
        i = endOfString(text, i);
        continue;
      }
      if (char === '{' || char === '[') depth += 1;
      else if (char === '}' || char === ']') {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
      i += 1;
    }
  }
  let end = at;
  while (end < text.length && !',}]'.includes(text[end]!) && !isSpace(text.charCodeAt(end))) end += 1;
  return end;
}

export function memberSource(json: string, name: string): string | undefined {
  let at = skipSpace(json, 0) + 1; // past '{'
  let found: string | undefined;
  for (;;) {
    at = skipSpace(json, at);
    if (json[at] === '}') return found;
    const keyEnd = endOfString(json, at);
    const key = JSON.parse(json.slice(at, keyEnd)) as string;
    const valueStart = skipSpace(json, skipSpace(json, keyEnd) + 1); // past ':'
    const valueEnd = endOfValue(json, valueStart);
    if (key === name) found = json.slice(valueStart, valueEnd);
    at = skipSpace(json, valueEnd);
    if (json[at] === ',') at += 1;
  }
}
