/**
 * Ids are written to ids.txt one per line and must read back exactly, by any
 * reader: so an id holding anything Python's str.splitlines() splits on, or a
 * lone surrogate (not encodable as UTF-8), is refused, and no two are equal.
 */
import { badInput } from './inputFile.js';

/** Every character str.splitlines() ends a line at (\r\n is two of them); file, group and record separators included. */
// eslint-disable-next-line no-control-regex
const LINE_BREAK = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;
const LONE_SURROGATE = /\p{Cs}/u;

const codePoint = (char: string): string => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why a string cannot be stored as text (a lone surrogate), or undefined. */
export function notText(value: string): string | undefined {
  const at = value.search(LONE_SURROGATE);
  return at === -1 ? undefined : `holds a lone surrogate (${codePoint(value[at]!)} at character ${at + 1}), which is not text`;
}

/** Why an id cannot be one line of ids.txt, or undefined. */
export function idProblem(id: string): string | undefined {
  if (id.length === 0) return 'is empty';
  const lineBreak = LINE_BREAK.exec(id);
  if (lineBreak) return `contains a line break (${codePoint(lineBreak[0])}), so it would not read back as one line of ids.txt`;
  return notText(id);
}

export class CorpusBuilder {
  readonly ids: string[] = [];
  readonly texts: string[] = [];
  private readonly seen = new Map<string, number>();

  /** `keepTexts: false` checks every line but keeps only the ids (creating a run needs no texts). */
  constructor(
    private readonly file: string,
    private readonly keepTexts = true,
  ) {}

  add(id: string, text: string, line: number): void {
    const problem = idProblem(id);
    if (problem) throw badInput(this.file, `line ${line}`, `id ${JSON.stringify(id)} ${problem}`);
    const first = this.seen.get(id);
    if (first !== undefined) {
      throw badInput(this.file, `line ${line}`, `duplicate id ${JSON.stringify(id)} (first seen on line ${first})`);
    }
    this.seen.set(id, line);
    this.ids.push(id);
    if (this.keepTexts) this.texts.push(text);
  }
}
