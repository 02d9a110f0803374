/**
 * The GPU monitor: nvidia-smi queried at 1 Hz in CSV form (nvidiaSmi.ts says why not
 * NVML), merged with the runtimes' own torch figures and with Headroom's processes as
 * /proc shows them (headroomProcesses.ts), so every process on a GPU is named by the
 * run and worker it serves. Per GPU:
 *
 * - processes: nvidia-smi's per-process figures; where it lists none although memory
 *   is in use (containers, whose PIDs are the host's; Windows), the Headroom workers'
 *   own torch figures stand in, labelled `torch`. A device total is never a process's.
 * - unaccounted: used - every listed process - the driver's baseline, never below 0.
 *   The baseline is learned: the least memory used seen on that GPU in a sample where
 *   nvidia-smi answered and listed no compute process and no Headroom runtime was on
 *   it; until such a sample, 0 (stated as `default`), so unaccounted overstates rather
 *   than hides. A display server's memory (a graphics, not a compute process) counts as
 *   unaccounted on a desktop card until an idle sample has learned it.
 *
 * Nothing in a sample throws: no nvidia-smi, a driver error, a hang (killed at the
 * timeout), unreadable rows, a GPU gone since the last sample each become words in
 * `note`. On a machine without an NVIDIA GPU it says so plainly; system memory is
 * always there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { ApiError, type CallResult, type GpuDevice, type GpuOrphan, type GpuProcess, type GpuSample } from '../contract/api.js';
import type { GpuHistoryWriter } from './gpuHistory.js';
import { orphanReason, readHeadroomProc, scanHeadroomProcesses, type HeadroomProc } from './headroomProcesses.js';
import { APPS_QUERY, GPU_QUERY, parseApps, parseGpus, runSmi, SMI_TIMEOUT_MS, type SmiApp, type SmiGpu } from './nvidiaSmi.js';

const EVERY_MS = 1000;
/** A process candidate for orphan is checked again this much later before it is listed (a run ending stops its runtime, then lets go of its lock). */
const ORPHAN_RECHECK_MS = 250;

export type RuntimeFigures = GpuSample['runtimes'][number];
type Runtimes = () => RuntimeFigures[];

export interface GpuMonitorOptions {
  /** The nvidia-smi to run (default: the one on PATH). */
  command?: string;
  /** Its environment (tests put a fake first on PATH). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  everyMs?: number;
  /** Where each sample is recorded (the panel's monitor); none for the CLI's. */
  history?: GpuHistoryWriter;
  procDir?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The physical GPU a runtime's device is on: `cuda:N` through the CUDA_VISIBLE_DEVICES it was started with. */
export function physicalGpu(device: string | null, visibleDevices: string | null, gpus: readonly SmiGpu[]): SmiGpu | undefined {
  const match = /^cuda(?::(\d+))?$/.exec(device ?? '');
  if (!match) return undefined;
  const ordinal = Number(match[1] ?? 0);
  const visible = visibleDevices?.trim() ? visibleDevices.split(',').map((entry) => entry.trim()) : null;
  const entry = visible ? visible[ordinal] : String(ordinal);
  if (entry === undefined) return undefined;
  if (/^\d+$/.test(entry)) return gpus.find((gpu) => gpu.index === Number(entry));
  return gpus.find((gpu) => gpu.uuid !== null && gpu.uuid.startsWith(entry));
}

export class GpuMonitor {
  private timer: NodeJS.Timeout | undefined;
  private sample: GpuSample;
  private readonly listeners = new Set<(sample: GpuSample) => void>();
  private readonly options: GpuMonitorOptions;
  /** Per GPU (uuid, else index): the least memory used seen while nothing ran on it. */
  private readonly baselines = new Map<string, number>();
  /** Every GPU seen by this monitor, to say when one vanishes. */
  private readonly seen = new Map<string, string>();
  /** The orphans listed, by pid, with their start time: killOrphan kills only these, and only the same process. */
  private listedOrphans = new Map<number, string>();

  constructor(
    private readonly runtimes: Runtimes,
    options: GpuMonitorOptions | string = {},
  ) {
    this.options = typeof options === 'string' ? { command: options } : options;
    this.sample = { at: Date.now(), gpus: [], note: 'not sampled yet', system: systemMemory(), runtimes: [], orphans: [], orphanNote: null };
  }

  on(listener: (sample: GpuSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): GpuSample {
    return { ...this.sample, runtimes: this.runtimes() };
  }

  start(): void {
    const tick = async (): Promise<void> => {
      const started = Date.now();
      this.sample = await this.read();
      try {
        this.options.history?.record(this.sample);
      } catch {
        /* the history never stops the monitor (HistoryWriter warns once itself) */
      }
      for (const listener of this.listeners) listener(this.sample);
      // 1 Hz from start to start: a slow nvidia-smi (up to its timeout) does not slow the rate further.
      if (this.timer) this.timer = setTimeout(() => void tick(), Math.max(0, (this.options.everyMs ?? EVERY_MS) - (Date.now() - started)));
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.options.history?.close();
  }

  /** One sample, now. Never throws. */
  async read(): Promise<GpuSample> {
    const at = Date.now();
    const runtimes = this.runtimes();
    const command = this.options.command ?? 'nvidia-smi';
    const timeout = this.options.timeoutMs ?? SMI_TIMEOUT_MS;
    const [gpuAnswer, appsAnswer] = await Promise.all([runSmi(command, GPU_QUERY, this.options.env, timeout), runSmi(command, APPS_QUERY, this.options.env, timeout)]);
    const scan = scanHeadroomProcesses(this.options.procDir);
    const procs = new Map(scan.processes.map((proc) => [proc.pid, proc]));
    const liveHere = new Set(runtimes.map((runtime) => runtime.runId));
    const notes: string[] = [];
    let smiGpus: SmiGpu[] = [];
    let apps: SmiApp[] | null = null;
    if (!gpuAnswer.ok) {
      notes.push(/not installed/.test(gpuAnswer.problem) ? `no NVIDIA GPU found (${gpuAnswer.problem})` : `no GPU figures: ${gpuAnswer.problem}`);
    } else {
      const parsed = parseGpus(gpuAnswer.value);
      smiGpus = parsed.gpus;
      if (parsed.skipped > 0) notes.push(`${parsed.skipped} line(s) of nvidia-smi's GPU list could not be read and were skipped`);
      if (smiGpus.length === 0 && parsed.skipped === 0) notes.push('no NVIDIA GPU found (nvidia-smi lists none)');
      if (appsAnswer.ok) {
        const parsedApps = parseApps(appsAnswer.value);
        apps = parsedApps.apps;
        if (parsedApps.skipped > 0) notes.push(`${parsedApps.skipped} line(s) of nvidia-smi's process list could not be read and were skipped`);
      } else notes.push(`per-process figures unavailable: ${appsAnswer.problem}`);
    }
    notes.push(...this.vanished(smiGpus, !gpuAnswer.ok));
    const orphans = await this.orphans(scan.processes, liveHere, apps);
    const gpus = smiGpus.map((gpu) => this.device(gpu, apps, runtimes, procs, smiGpus));
    return { at, gpus, note: notes.length ? notes.join('; ') : null, system: systemMemory(), runtimes, orphans, orphanNote: scan.note };
  }

  /** Words for every GPU seen before and missing now (lost from the bus, reset, taken away). */
  private vanished(gpus: readonly SmiGpu[], failed: boolean): string[] {
    const now = new Set(gpus.map(gpuKey));
    const gone = failed ? [] : [...this.seen].filter(([key]) => !now.has(key)).map(([, name]) => `${name} is no longer listed by nvidia-smi (it fell off the bus, was reset or was taken away)`);
    for (const gpu of gpus) this.seen.set(gpuKey(gpu), `GPU ${gpu.index} (${gpu.name})`);
    return gone;
  }

  private device(gpu: SmiGpu, apps: SmiApp[] | null, runtimes: RuntimeFigures[], procs: Map<number, HeadroomProc>, gpus: SmiGpu[]): GpuDevice {
    const key = gpuKey(gpu);
    const headroomOf = (pid: number): GpuProcess['headroom'] => {
      const proc = procs.get(pid);
      return proc ? { runId: proc.runId, role: proc.pid === proc.pgid ? 'runtime' : 'child', worker: proc.worker, orphan: this.listedOrphans.has(pid) } : null;
    };
    // Headroom runtimes on this GPU, with their own figures (torch's: what the allocator holds, its CUDA context not included).
    const ours = runtimes.filter((runtime) => physicalGpu(runtime.device, procs.get(runtime.pid)?.visibleDevices ?? null, gpus) === gpu);
    const torchOf = (pid: number): number | null => {
      const runtime = ours.find((candidate) => candidate.pid === pid);
      return runtime ? (runtime.reserved ?? runtime.allocated) : null;
    };
    const rows = apps === null ? [] : apps.filter((app) => app.gpuUuid === gpu.uuid || (gpu.uuid === null && gpus.length === 1));
    const processes: GpuProcess[] = rows.map((row) => {
      // A figure the size of the device is the device's total, never a process's.
      const smi = row.memoryUsed !== null && row.memoryUsed < gpu.memoryTotal ? row.memoryUsed : null;
      const torch = smi === null ? torchOf(row.pid) : null;
      return { pid: row.pid, memoryUsed: smi ?? torch, source: smi === null && torch !== null ? 'torch' : 'nvidia-smi', headroom: headroomOf(row.pid) };
    });
    if (apps !== null && rows.length === 0) {
      // No process listed: an idle GPU, or a container whose PIDs nvidia-smi cannot show. Our own workers still say what they hold.
      for (const runtime of ours) {
        const torch = runtime.reserved ?? runtime.allocated;
        if (torch !== null) processes.push({ pid: runtime.pid, memoryUsed: torch, source: 'torch', headroom: headroomOf(runtime.pid) });
      }
    }
    if (apps !== null && rows.length === 0 && ours.length === 0) {
      const learned = this.baselines.get(key);
      this.baselines.set(key, learned === undefined ? gpu.memoryUsed : Math.min(learned, gpu.memoryUsed));
    }
    const learned = this.baselines.get(key);
    const baseline: GpuDevice['baseline'] = learned === undefined ? { bytes: 0, source: 'default' } : { bytes: learned, source: 'learned' };
    const known = processes.every((process) => process.memoryUsed !== null);
    const listed = processes.reduce((sum, process) => sum + (process.memoryUsed ?? 0), 0);
    const unaccounted = apps === null || !known ? null : Math.max(0, gpu.memoryUsed - listed - baseline.bytes);
    const figures = processes.filter((process) => process.memoryUsed !== null);
    const processSource: GpuDevice['processSource'] =
      apps === null ? (figures.length ? 'torch' : 'none') : figures.some((process) => process.source === 'nvidia-smi') || processes.length === 0 ? 'nvidia-smi' : figures.length ? 'torch' : 'none';
    return { ...gpu, processes, processSource, baseline, unaccounted };
  }

  /** Headroom processes that outlived their run, each checked twice (ORPHAN_RECHECK_MS apart). */
  private async orphans(found: HeadroomProc[], liveHere: ReadonlySet<string>, apps: SmiApp[] | null): Promise<GpuOrphan[]> {
    const candidates = found.filter((proc) => orphanReason(proc, liveHere) !== null);
    if (candidates.length > 0) await sleep(ORPHAN_RECHECK_MS);
    const orphans: GpuOrphan[] = [];
    const listed = new Map<number, string>();
    for (const first of candidates) {
      const proc = readHeadroomProc(first.pid, this.options.procDir);
      const why = proc && proc.start === first.start ? orphanReason(proc, liveHere) : null;
      if (!proc || why === null) continue;
      const memory = apps?.filter((app) => app.pid === proc.pid && app.memoryUsed !== null) ?? [];
      orphans.push({ pid: proc.pid, pgid: proc.pgid, runId: proc.runId, worker: proc.worker, command: proc.command, gpuMemory: memory.length ? memory.reduce((sum, app) => sum + app.memoryUsed!, 0) : null, rss: proc.rss, why });
      listed.set(proc.pid, proc.start);
    }
    this.listedOrphans = listed;
    return orphans;
  }

  /**
   * SIGKILLs the process group of a process this monitor lists as an orphan now (the
   * same process: its start time is checked, so a reused pid is never hit). Anything
   * else is refused. Only the orphan itself is killed when its group holds a process
   * Headroom did not start, or is this Engine's own.
   */
  killOrphan(pid: number): CallResult<'killOrphan'> {
    const start = this.listedOrphans.get(pid);
    if (start === undefined) throw new ApiError('bad_args', `killOrphan: process ${pid} is not one the monitor lists as a Headroom orphan: nothing was killed`);
    const proc = readHeadroomProc(pid, this.options.procDir);
    if (!proc || proc.start !== start) {
      this.listedOrphans.delete(pid);
      throw new ApiError('not_found', `killOrphan: process ${pid} has already ended: nothing was killed`);
    }
    const liveHere = new Set(this.runtimes().map((runtime) => runtime.runId));
    const why = orphanReason(proc, liveHere);
    if (why === null) throw new ApiError('busy', `killOrphan: process ${pid} is no longer an orphan (its run is live again): nothing was killed`);
    const group = scanHeadroomProcesses(this.options.procDir).processes.filter((member) => member.pgid === proc.pgid);
    const ownGroup = readHeadroomProcGroup(process.pid);
    const wholeGroup = proc.pgid !== ownGroup && groupIsHeadroomOnly(proc.pgid, group, this.options.procDir);
    try {
      process.kill(wholeGroup ? -proc.pgid : pid, 'SIGKILL');
    } catch (error) {
      throw new ApiError('internal', `killOrphan: cannot kill process ${pid}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.listedOrphans.delete(pid);
    const killed = wholeGroup ? group.map((member) => member.pid).sort((a, b) => a - b) : [pid];
    const message = wholeGroup
      ? `sent SIGKILL to process group ${proc.pgid} (${killed.length} process${killed.length === 1 ? '' : 'es'}: ${killed.join(', ')}) of run ${proc.runId}; ${why}`
      : `sent SIGKILL to process ${pid} of run ${proc.runId} alone (its group ${proc.pgid} holds processes Headroom did not start); ${why}`;
    return { pid, pgid: proc.pgid, killed, message };
  }
}

const gpuKey = (gpu: SmiGpu): string => gpu.uuid ?? `index ${gpu.index}`;

function readHeadroomProcGroup(pid: number): number | null {
  try {
    const stat = readFileSyncText(`/proc/${pid}/stat`);
    return stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** True when every process in the group is a Headroom process (so killing the group hits nothing else). */
function groupIsHeadroomOnly(pgid: number, headroomMembers: HeadroomProc[], procDir = '/proc'): boolean {
  let names: string[];
  try {
    names = readdirSync(procDir);
  } catch {
    return false;
  }
  const headroom = new Set(headroomMembers.map((member) => member.pid));
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readFileSyncText(`${procDir}/${name}/stat`);
    if (stat === null) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && !headroom.has(Number(name))) return false;
  }
  return true;
}

function readFileSyncText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function systemMemory(): GpuSample['system'] {
  return { memoryUsed: totalmem() - freemem(), memoryTotal: totalmem() };
}
