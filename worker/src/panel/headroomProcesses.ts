/**
 * Headroom's own processes, found by the environment Headroom gave them: every
 * runtime is started with HEADROOM_RUN_ID, HEADROOM_RUNS_DIR and HEADROOM_PARENT_PID
 * (supervisor/runtimeProcess.ts), and its children (tree workers) inherit them; a
 * worker of a run with several may carry HEADROOM_WORKER ("w0"). Read from
 * /proc/<pid>/environ, so it works for any Engine's processes (a CLI's, another
 * panel's) and inside containers, where nvidia-smi's PIDs may be the host's.
 *
 * An orphan is a Headroom process that outlived its run: its run is not executing in
 * this Engine, and its Engine (HEADROOM_PARENT_PID) is gone or no live process holds
 * its run's lock. It is only listed after two scans in a row say so (a run ending
 * stops its runtime just before it lets go of its lock). Linux only (/proc); elsewhere
 * the scan finds nothing and says why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, readLock } from '../runs/lock.js';
import { runFiles } from '../runs/manifest.js';
import { isRunId } from '../runs/runFolder.js';
import { redact } from '../redact.js';

export interface HeadroomProc {
  pid: number;
  ppid: number;
  pgid: number;
  /** /proc/PID/stat field 22: tells a reused pid apart. */
  start: string;
  runId: string;
  runsDir: string | null;
  parentPid: number | null;
  worker: string | null;
  /** CUDA_VISIBLE_DEVICES it was started with; null when unset. */
  visibleDevices: string | null;
  command: string;
  rss: number | null;
}

const PAGE = 4096;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

interface Stat {
  ppid: number;
  pgid: number;
  start: string;
  zombie: boolean;
  rssPages: number | null;
}

function parseStat(stat: string): Stat | null {
  // comm (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(pgid) || fields[19] === undefined) return null;
  const rss = Number(fields[21]);
  return { ppid, pgid, start: fields[19], zombie: fields[0] === 'Z' || fields[0] === 'X', rssPages: Number.isFinite(rss) ? rss : null };
}

/** One process's Headroom facts, or null when it is not a Headroom process (or is gone, or not ours to read). */
export function readHeadroomProc(pid: number, procDir = '/proc'): HeadroomProc | null {
  const environ = read(join(procDir, String(pid), 'environ'));
  if (environ === null || !environ.includes('HEADROOM_RUN_ID=')) return null;
  const env = new Map<string, string>();
  for (const entry of environ.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  const runId = env.get('HEADROOM_RUN_ID');
  if (!runId || !isRunId(runId)) return null;
  const statText = read(join(procDir, String(pid), 'stat'));
  const stat = statText === null ? null : parseStat(statText);
  if (!stat || stat.zombie) return null;
  const parent = Number(env.get('HEADROOM_PARENT_PID'));
  const cmdline = read(join(procDir, String(pid), 'cmdline')) ?? '';
  return {
    pid,
    ppid: stat.ppid,
    pgid: stat.pgid,
    start: stat.start,
    runId,
    runsDir: env.get('HEADROOM_RUNS_DIR') || null,
    parentPid: Number.isSafeInteger(parent) && parent > 0 ? parent : null,
    worker: env.get('HEADROOM_WORKER') || null,
    visibleDevices: env.has('CUDA_VISIBLE_DEVICES') ? env.get('CUDA_VISIBLE_DEVICES')! : null,
    command: redact(cmdline.replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, 300)),
    rss: stat.rssPages === null ? null : stat.rssPages * PAGE,
  };
}

export interface ScanResult {
  processes: HeadroomProc[];
  /** Why no scan was possible; null where it was. */
  note: string | null;
}

/** Every Headroom process this user can see. */
export function scanHeadroomProcesses(procDir = '/proc'): ScanResult {
  if (process.platform !== 'linux') return { processes: [], note: `orphan detection reads /proc, which ${process.platform} does not have: Headroom processes left running are not looked for here` };
  let names: string[];
  try {
    names = readdirSync(procDir);
  } catch (error) {
    return { processes: [], note: `cannot read ${procDir}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const processes: HeadroomProc[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const found = readHeadroomProc(Number(name), procDir);
    if (found) processes.push(found);
  }
  return { processes, note: null };
}

/** Why a Headroom process is an orphan, in words; null when it is not one. liveHere: the run ids executing in this Engine. */
export function orphanReason(proc: HeadroomProc, liveHere: ReadonlySet<string>): string | null {
  if (liveHere.has(proc.runId)) return null;
  if (proc.parentPid !== null && !isAlive(proc.parentPid)) return `the Engine that started it (process ${proc.parentPid}) is gone`;
  if (proc.runsDir) {
    let lock;
    try {
      lock = readLock(runFiles(join(proc.runsDir, proc.runId)).lock);
    } catch {
      lock = undefined;
    }
    if (!lock?.verdict.live) return `no live process holds its run's lock${lock ? ` (${lock.verdict.reason})` : ''}`;
    if (proc.parentPid !== null && lock.owner && lock.owner.pid !== proc.parentPid) return `its run is now owned by process ${lock.owner.pid}, not by the Engine that started it (process ${proc.parentPid})`;
  }
  return null;
}
