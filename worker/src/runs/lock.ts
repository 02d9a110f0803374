/**
 * One owner per run: `lock` names the process that writes the run, by more than
 * its pid (start time, boot id, command), so a pid reused after a reboot or by an
 * unrelated program is recognised as stale. A stale lock is taken over; a live
 * one is refused.
 *
 * Why this is atomic (two processes can never both own a run):
 * - A lock is published whole: its content goes to a private temporary file
 *   that is then link()ed to `lock`. link() fails with EEXIST if `lock` exists,
 *   so exactly one of any number of creators wins, and no reader ever sees a
 *   half-written lock (which would look stale).
 * - POSIX has no "unlink if it is still the file I judged stale", so removing a
 *   stale lock is guarded by a claim: to remove instance X of `lock` (X = its
 *   device, inode and content, which holds a fresh nonce), a process must first
 *   create `lock.takeover-<hash of X>`, with the same link() rule. Exactly one
 *   live process holds the claim for X; only it unlinks `lock`, and only after
 *   re-reading that `lock` is still X. Nobody else removes X (its owner is dead,
 *   other takers need the same claim), so between that check and the unlink
 *   `lock` cannot change. The claim's holder then link()s its own lock like any
 *   creator. A claim left by a process that died is itself a stale lock, removed
 *   by the same rule one level down (a claim on the claim).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { HeadroomError } from '../errors.js';
import { redact } from '../redact.js';

/** Who holds a lock. Fields are null where the lock (old format: just a pid) or the platform does not tell. */
export interface LockOwner {
  pid: number;
  /** Process start: /proc/PID/stat field 22 (ticks since boot) on Linux, `ps -o lstart=` elsewhere. */
  start: string | null;
  /** /proc/sys/kernel/random/boot_id: a lock written before the last reboot is stale whatever its pid. */
  boot: string | null;
  command: string | null;
  /** When the lock was taken (ISO). */
  since: string | null;
  /** Unique per lock file, so two locks with the same owner and inode are still told apart. */
  nonce: string | null;
}

/** One lock file as read: its owner and what identifies this very file. */
interface LockInstance {
  owner: LockOwner | undefined;
  key: string;
  mtimeMs: number;
}

export interface LockVerdict {
  live: boolean;
  /** Why a lock is stale, in words. */
  reason: string;
}

const COMMAND_MAX = 300;
const USER_HZ = 100; // the tick rate of /proc/PID/stat on every mainstream Linux architecture

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id')?.trim() || null;

interface ProcessFacts {
  start: string | null;
  command: string | null;
  zombie: boolean;
}

/** What the system says now about a pid; undefined when no such process exists. */
function processFacts(pid: number): ProcessFacts | undefined {
  if (process.platform === 'linux') {
    const stat = readText(`/proc/${pid}/stat`);
    if (stat === null) return existsPid(pid) ? { start: null, command: null, zombie: false } : undefined;
    // comm (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readText(`/proc/${pid}/cmdline`);
    return {
      start: fields[19] ?? null,
      command: cmdline ? cmdline.replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, COMMAND_MAX) : null,
      zombie: fields[0] === 'Z' || fields[0] === 'X',
    };
  }
  if (!existsPid(pid)) return undefined;
  if (process.platform === 'win32') return { start: null, command: null, zombie: false };
  const ps = (column: string): string | null => {
    const result = spawnSync('ps', ['-p', String(pid), '-o', `${column}=`], { encoding: 'utf8', timeout: 2000 });
    return result.status === 0 ? result.stdout.trim().slice(0, COMMAND_MAX) || null : null;
  };
  return { start: ps('lstart'), command: ps('command'), zombie: false };
}

function existsPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a process with this pid exists (not a zombie). Says nothing about which process it is. */
export function isAlive(pid: number): boolean {
  const facts = processFacts(pid);
  return facts !== undefined && !facts.zombie;
}

let self: Omit<LockOwner, 'since' | 'nonce'> | undefined;

function selfIdentity(): Omit<LockOwner, 'since' | 'nonce'> {
  if (!self) {
    const facts = processFacts(process.pid);
    self = { pid: process.pid, start: facts?.start ?? null, boot: bootId(), command: redact(facts?.command ?? [process.execPath, ...process.argv.slice(1)].join(' ').slice(0, COMMAND_MAX)) }; // the lock is a file on disk: no secret in it
  }
  return self;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** Parses a lock's content: the JSON line of today, or the bare pid of earlier versions. */
export function parseLock(content: string): LockOwner | undefined {
  const trimmed = content.trim();
  if (/^\d+$/.test(trimmed)) {
    const pid = Number(trimmed);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, start: null, boot: null, command: null, since: null, nonce: null } : undefined;
  }
  try {
    const value = JSON.parse(trimmed) as Record<string, unknown>;
    const pid = value.pid;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
    return { pid, start: text(value.start), boot: text(value.boot), command: text(value.command), since: text(value.since), nonce: text(value.nonce) };
  } catch {
    return undefined;
  }
}

/** Reads one lock file through one descriptor, so its inode and content belong together. */
function readInstance(path: string): LockInstance | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    const buffer = Buffer.alloc(Math.min(Number(stat.size), 64 * 1024));
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const content = buffer.subarray(0, length).toString('utf8');
    const key = createHash('sha256').update(`${stat.dev}:${stat.ino}:${content}`).digest('hex').slice(0, 32);
    return { owner: parseLock(content), key, mtimeMs: Number(stat.mtimeMs) };
  } finally {
    closeSync(fd);
  }
}

/** Judges a lock: live only if its process exists and is the very process that wrote it. */
function judge(instance: LockInstance): LockVerdict {
  const { owner } = instance;
  if (!owner) return { live: false, reason: 'unreadable lock' };
  const facts = processFacts(owner.pid);
  if (!facts || facts.zombie) return { live: false, reason: `process ${owner.pid} has exited` };
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return { live: false, reason: `written before the last reboot (pid ${owner.pid} is now another process)` };
  if (owner.start && facts.start) {
    return owner.start === facts.start ? { live: true, reason: '' } : { live: false, reason: `pid ${owner.pid} is now another process (started later)` };
  }
  if (!owner.start && process.platform === 'linux' && facts.start) {
    // An old lock (just a pid): its pid is another process if that process started after the lock was written.
    const btime = /^btime (\d+)$/m.exec(readText('/proc/stat') ?? '')?.[1];
    const startedMs = btime === undefined ? undefined : (Number(btime) + Number(facts.start) / USER_HZ) * 1000;
    if (startedMs !== undefined && startedMs > instance.mtimeMs + 2000) return { live: false, reason: `pid ${owner.pid} is now another process (started after the lock was written)` };
  }
  // No start time to compare (a platform without /proc or ps): the command is the next best witness.
  if (owner.command && facts.command && owner.command !== redact(facts.command)) return { live: false, reason: `pid ${owner.pid} is now another program` };
  return { live: true, reason: '' };
}

/** Publishes a whole lock at `path` if none is there; returns its nonce, or undefined if `path` is taken. */
function publish(path: string): string | undefined {
  const nonce = randomBytes(12).toString('hex');
  const owner: LockOwner = { ...selfIdentity(), since: new Date().toISOString(), nonce };
  const pending = `${path}.pending-${process.pid}-${nonce}`;
  writeFileSync(pending, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
  try {
    linkSync(pending, path);
    return nonce;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    try {
      unlinkSync(pending);
    } catch {
      /* removed by a cleanup: what matters is the link */
    }
  }
}

const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Won, or lost to `holder`: live, or stale but being removed by another live process. */
type Take = { won: true; nonce: string; tookOverFrom: LockOwner | undefined } | { won: false; holder: LockOwner | undefined; live: boolean };

const MAX_DEPTH = 4;
const ATTEMPTS = 40;

/** Takes the lock at `path`, removing stale ones under a claim; gives up on a live holder. */
function take(path: string, depth: number): Take {
  let tookOverFrom: LockOwner | undefined;
  let holder: LockOwner | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const nonce = publish(path);
    if (nonce !== undefined) return { won: true, nonce, tookOverFrom };
    const held = readInstance(path);
    if (!held) continue; // released meanwhile
    holder = held.owner;
    if (judge(held).live) return { won: false, holder, live: true };
    if (depth < MAX_DEPTH && removeStale(path, held, depth)) tookOverFrom ??= held.owner;
    else pause(1 + attempt); // another live process is removing it: let it finish
  }
  return { won: false, holder, live: false };
}

/** Removes `stale` from `path` if it is still there; false when another live process holds the claim. */
function removeStale(path: string, stale: LockInstance, depth: number): boolean {
  const claimPath = `${path}.takeover-${stale.key}`;
  const claim = take(claimPath, depth + 1);
  if (!claim.won) return false;
  try {
    if (readInstance(path)?.key === stale.key) unlinkSync(path);
    return true;
  } finally {
    releaseFile(claimPath, claim.nonce);
  }
}

function releaseFile(path: string, nonce: string): void {
  const current = readInstance(path);
  if (current?.owner?.pid !== process.pid || current.owner.nonce !== nonce) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Claims and pending files left by processes that died mid-takeover; only called by the lock's owner. */
function removeDebris(lockPath: string): void {
  const dir = dirname(lockPath);
  const prefix = basename(lockPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${prefix}.takeover-`) && !name.startsWith(`${prefix}.pending-`)) continue;
    const instance = readInstance(join(dir, name));
    if (!instance || judge(instance).live) continue;
    // A pending file is written in place: empty or partial, it may be one being written right now.
    if (!instance.owner && Date.now() - instance.mtimeMs < 60_000) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* gone already */
    }
  }
}

/** What identifies one lock file (its device, inode and content): names the claim that guards its removal. */
export function lockFileKey(path: string): string | undefined {
  return readInstance(path)?.key;
}

/** The lock's owner as written, live or not. */
export function readLock(lockPath: string): { owner: LockOwner | undefined; verdict: LockVerdict } | undefined {
  const instance = readInstance(lockPath);
  return instance && { owner: instance.owner, verdict: judge(instance) };
}

/** Pid named by the lock, live or not. */
export function lockOwner(lockPath: string): number | undefined {
  return readInstance(lockPath)?.owner?.pid;
}

/** Live owner of the run, if any: a pid whose process is the one that wrote the lock. */
export function liveOwner(lockPath: string): number | undefined {
  const lock = readLock(lockPath);
  return lock?.verdict.live ? lock.owner?.pid : undefined;
}

/** The owner in words, for messages: pid, command (masked: it may carry a secret) and since when. */
export function describeOwner(owner: LockOwner): string {
  const details = [owner.command && redact(owner.command), owner.since && `holding it since ${owner.since}`].filter(Boolean).join(', ');
  return details ? `process ${owner.pid} (${details})` : `process ${owner.pid}`;
}

export interface RunLock {
  /** Pid of a dead owner whose lock was taken over, if any. */
  tookOverFrom: number | undefined;
  release(): void;
}

export function acquireLock(lockPath: string, runDir: string): RunLock {
  const result = take(lockPath, 0);
  if (!result.won) {
    const holder = result.holder;
    throw new HeadroomError(
      'busy',
      holder && result.live
        ? `run ${runDir} is in use by ${describeOwner(holder)}; wait for it to finish or stop it (its lock: ${lockPath})`
        : `run ${runDir}: another process is taking its lock at this moment; try again`,
    );
  }
  removeDebris(lockPath);
  return {
    tookOverFrom: result.tookOverFrom?.pid,
    release: () => releaseFile(lockPath, result.nonce),
  };
}
