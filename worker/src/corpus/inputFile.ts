/**
 * Opens a corpus file for reading without ever blocking the event loop: only a
 * regular file is accepted (a FIFO would block a read until someone writes, a
 * device like /dev/zero never ends), it is read in bounded chunks, hashed as it
 * streams, and refused when it changes while it is read.
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { HeadroomError } from '../errors.js';

/** readFileSync's old ceiling, now stated: the texts are held in memory for the run. */
export const MAX_INPUT_BYTES = 2 * 1024 ** 3;

const CHUNK_BYTES = 1024 * 1024;

export function badInput(file: string, where: string, message: string): HeadroomError {
  return new HeadroomError('bad_input', `${file}${where ? ` ${where}` : ''}: ${message}`);
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a folder';
  return 'not a regular file';
}

const notRegular = (file: string, what: string): HeadroomError => badInput(file, '', `is ${what}, not a regular file; give a .txt, .jsonl or .csv file`);

function statFailure(file: string, error: unknown, link: boolean): HeadroomError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return badInput(file, '', link ? 'is a symlink to a missing file' : 'input file not found');
  if (code === 'ELOOP') return badInput(file, '', 'is a symlink loop');
  if (code === 'EACCES' || code === 'EPERM') return badInput(file, '', 'cannot be read (permission denied)');
  return badInput(file, '', `cannot be read (${code ?? String(error)})`);
}

/** What the path is, following a symlink; throws naming it unless it is a regular file. */
async function regularFileStats(file: string): Promise<Stats> {
  let own: Stats;
  try {
    own = await lstat(file);
  } catch (error) {
    throw statFailure(file, error, false);
  }
  if (!own.isSymbolicLink()) {
    if (!own.isFile()) throw notRegular(file, kindOf(own));
    return own;
  }
  let target: Stats;
  try {
    target = await stat(file);
  } catch (error) {
    throw statFailure(file, error, true);
  }
  if (!target.isFile()) {
    const real = await realpath(file).catch(() => '?');
    throw notRegular(file, `a symlink to ${kindOf(target)} (${real})`);
  }
  return target;
}

export interface InputFile {
  handle: FileHandle;
  size: number;
  stats: Stats;
}

/** Checks the path, then opens it and checks again on the descriptor, so a swap in between is caught. */
export async function openInput(file: string, maxBytes = MAX_INPUT_BYTES): Promise<InputFile> {
  const before = await regularFileStats(file);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should a FIFO be swapped in after the check, opening it still returns at once.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw statFailure(file, error, false);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(file, kindOf(stats));
    if (stats.ino !== before.ino || stats.dev !== before.dev) throw badInput(file, '', 'was replaced while it was opened; try again');
    if (stats.size > maxBytes) {
      throw badInput(file, '', `is ${formatBytes(stats.size)}, over the limit of ${formatBytes(maxBytes)} for one input; split it into several runs`);
    }
    return { handle, size: stats.size, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

export interface ReadDigest {
  sha256: string;
  bytes: number;
}

/**
 * Yields the file's bytes in chunks, at most the size it had when opened, and
 * fills `digest` once every byte was read; a file that grew, shrank or was
 * rewritten meanwhile is refused (what was read may be half of a write).
 */
export async function* inputChunks(file: string, input: InputFile, digest: Partial<ReadDigest>): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let position = 0;
  while (position < input.size) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, input.size - position));
    const { bytesRead } = await input.handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    position += bytesRead;
    yield chunk;
  }
  const after = await input.handle.stat();
  if (position !== input.size || after.size !== input.size || after.mtimeMs !== input.stats.mtimeMs) {
    throw badInput(file, '', `changed while it was read (${input.size} bytes when opened, ${after.size} now); wait until it is written completely, then try again`);
  }
  digest.sha256 = hash.digest('hex');
  digest.bytes = position;
}
