/**
 * Splits a stream of bytes into UTF-8 lines, a batch per chunk read, so the
 * raw bytes, their decoded copy and the split lines never all exist for the
 * whole file. Bad UTF-8 is named by its line.
 */
import { badInput } from './inputFile.js';

/** A line longer than this could not be held as one string; V8's limit is about 512 M characters. */
export const MAX_LINE_BYTES = 256 * 1024 ** 2;

const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf];

export interface LineBatch {
  /** The number of the first line of the batch (1-based). */
  first: number;
  /** Lines without their '\n' (a '\r' before it is kept; each format decides). */
  lines: string[];
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes whole lines; on bad UTF-8, finds which of them holds it. */
function decodeLines(file: string, bytes: Buffer, first: number): string[] {
  try {
    return decoder.decode(bytes).split('\n');
  } catch {
    let start = 0;
    for (let line = first; ; line += 1) {
      const end = bytes.indexOf(NEWLINE, start);
      try {
        decoder.decode(bytes.subarray(start, end === -1 ? bytes.length : end));
      } catch {
        throw badInput(file, `line ${line}`, 'is not valid UTF-8 text');
      }
      if (end === -1) throw badInput(file, '', 'is not valid UTF-8 text');
      start = end + 1;
    }
  }
}

export async function* lineBatches(file: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<LineBatch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let next = 1;
  let start = true;
  for await (let chunk of chunks) {
    if (start) {
      start = false;
      if (BOM.every((byte, i) => chunk[i] === byte)) chunk = chunk.subarray(3);
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes > MAX_LINE_BYTES) throw badInput(file, `line ${next}`, `is longer than ${MAX_LINE_BYTES / 1024 ** 2} MiB`);
      continue;
    }
    const whole = pending.length > 0 ? Buffer.concat([...pending, chunk.subarray(0, last)]) : chunk.subarray(0, last);
    const rest = chunk.subarray(last + 1);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    const lines = decodeLines(file, whole, next);
    yield { first: next, lines };
    next += lines.length;
  }
  if (pendingBytes > 0) yield { first: next, lines: decodeLines(file, Buffer.concat(pending), next) };
}
