/**
 * nvidia-smi, asked in CSV form: one query for the GPUs, one for the compute
 * processes. Why nvidia-smi and not NVML (nvidia-ml-py in the runtime): it needs no
 * Python process alive (the monitor runs in the Engine, with or without a run), it
 * ships with the driver, and a fake on PATH replays recorded outputs in tests.
 *
 * Nothing here throws. A missing figure ("N/A", "[N/A]", "[Not Supported]") is null;
 * a row it cannot read is skipped and counted; a missing binary, a driver error, a
 * non-zero exit or a hang (killed at the timeout) comes back as words in `problem`.
 */
import { execa } from 'execa';

export const GPU_QUERY = ['--query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw,power.limit', '--format=csv,noheader,nounits'];
export const APPS_QUERY = ['--query-compute-apps=gpu_uuid,pid,used_memory', '--format=csv,noheader,nounits'];
/** A query slower than this is a hang: nvidia-smi is killed and the sample says so. */
export const SMI_TIMEOUT_MS = 3000;
const MIB = 1024 ** 2;

export interface SmiGpu {
  index: number;
  uuid: string | null;
  name: string;
  memoryUsed: number;
  memoryTotal: number;
  utilization: number | null;
  temperature: number | null;
  power: number | null;
  powerLimit: number | null;
}

export interface SmiApp {
  gpuUuid: string;
  pid: number;
  /** Bytes; null when nvidia-smi gives none (containers, WDDM). */
  memoryUsed: number | null;
}

/** A figure nvidia-smi printed: a finite number, or null for "N/A", "[N/A]", "[Not Supported]" and anything else. */
export function figure(field: string | undefined): number | null {
  const text = (field ?? '').trim();
  if (!/^-?\d+(\.\d+)?$/.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

const text = (field: string | undefined): string | null => {
  const value = (field ?? '').trim();
  return value === '' || /^\[?(N\/A|Not Supported|Unknown Error)\]?$/i.test(value) ? null : value;
};

function rows(csv: string): string[][] {
  return csv
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map((field) => field.trim()));
}

/** 16 TiB in MiB: far past any GPU's memory, so a bigger total is a garbled figure. */
const MAX_TOTAL_MIB = 16 * 1024 * 1024;

/** --query-gpu rows (memory in MiB) in bytes; a row that is not one (wrong field count, no index, unreadable or impossible memory, a repeated index) is skipped. */
export function parseGpus(csv: string): { gpus: SmiGpu[]; skipped: number } {
  const gpus: SmiGpu[] = [];
  let skipped = 0;
  for (const fields of rows(csv)) {
    const [index, uuid, name, used, total, util, temp, power, limit] = fields;
    const memoryUsed = figure(used);
    const memoryTotal = figure(total);
    // A row that cannot be a GPU's (a repeated index, more used than there is, a total past any card's) is unreadable, not shown.
    const impossible = memoryUsed === null || memoryTotal === null || memoryUsed < 0 || memoryTotal <= 0 || memoryTotal > MAX_TOTAL_MIB || memoryUsed > memoryTotal;
    if (fields.length !== 9 || !/^\d+$/.test(index!) || impossible || gpus.some((gpu) => gpu.index === Number(index))) {
      skipped += 1;
      continue;
    }
    const utilization = figure(util);
    const watts = (value: number | null): number | null => (value !== null && value >= 0 ? value : null);
    gpus.push({
      index: Number(index),
      uuid: text(uuid),
      name: text(name) ?? `GPU ${index}`,
      memoryUsed: memoryUsed * MIB,
      memoryTotal: memoryTotal * MIB,
      utilization: utilization !== null && utilization >= 0 && utilization <= 100 ? utilization : null,
      temperature: figure(temp),
      power: watts(figure(power)),
      powerLimit: watts(figure(limit)),
    });
  }
  return { gpus, skipped };
}

/** --query-compute-apps rows in bytes; "No running processes found" and unreadable rows are skipped. */
export function parseApps(csv: string): { apps: SmiApp[]; skipped: number } {
  const apps: SmiApp[] = [];
  let skipped = 0;
  for (const fields of rows(csv)) {
    const [gpuUuid, pid, used] = fields;
    if (fields.length !== 3 || !/^\d+$/.test(pid!) || Number(pid) <= 0 || !text(gpuUuid)) {
      if (!/no running (compute )?processes/i.test(fields.join(','))) skipped += 1;
      continue;
    }
    const memory = figure(used);
    apps.push({ gpuUuid: gpuUuid!, pid: Number(pid), memoryUsed: memory !== null && memory >= 0 ? memory * MIB : null });
  }
  return { apps, skipped };
}

export type SmiResult<T> = { ok: true; value: T; stdout: string } | { ok: false; problem: string };

/** Runs nvidia-smi once; never throws. */
export async function runSmi(command: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = SMI_TIMEOUT_MS): Promise<SmiResult<string>> {
  try {
    const result = await execa(command, args, { timeout: timeoutMs, reject: false, forceKillAfterDelay: 500, env, stdin: 'ignore', maxBuffer: 4 * MIB });
    const said = String(result.stderr || result.stdout || '')
      .trim()
      .split('\n')[0]!
      .slice(0, 200);
    if (result.timedOut) return { ok: false, problem: `nvidia-smi did not answer within ${(timeoutMs / 1000).toFixed(0)} s and was killed (the driver may be hung)` };
    if ((result as { code?: string }).code === 'ENOENT') return { ok: false, problem: 'nvidia-smi is not installed' };
    if (result.exitCode !== 0 || result.failed) {
      return { ok: false, problem: `nvidia-smi failed${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}${said ? `: ${said}` : ''}` };
    }
    const stdout = String(result.stdout);
    // A driver that cannot be reached may still exit 0 on some versions: its words, not rows.
    if (/NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|No devices were found/i.test(stdout)) return { ok: false, problem: `nvidia-smi failed: ${stdout.trim().split('\n')[0]!.slice(0, 200)}` };
    return { ok: true, value: stdout, stdout };
  } catch (error) {
    return { ok: false, problem: `nvidia-smi could not be run: ${error instanceof Error ? error.message : String(error)}` };
  }
}
