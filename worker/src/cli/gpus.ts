/**
 * `headroom gpus [--json] [--watch]`: what the GPU monitor sees, once or every second
 * until Ctrl-C. --json prints the GpuSample (one line per sample), as the panel gets it.
 * This process runs no run, so every Headroom process it lists belongs to another
 * Engine (a CLI run, a panel), and the orphans are told by their dead Engine or their
 * run's free lock. It only reads: it never writes the monitor's history.
 */
import type { Command } from 'commander';
import type { GpuSample } from '../contract/api.js';
import { GpuMonitor } from '../panel/gpuMonitor.js';

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

export function showBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${Math.round(bytes / MIB)} MiB`;
}

/** Process rows `headroom gpus` prints per GPU, the largest first (--json lists them all). */
export const PROCESS_ROWS = 20;

const or = (value: number | null, unit: string): string => (value === null ? '—' : `${Math.round(value)}${unit}`);

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

/** The sample as a table, in the panel's words. */
export function gpusTable(sample: GpuSample): string {
  const lines: string[] = [];
  if (sample.gpus.length === 0) {
    lines.push(`${sample.note ?? 'no NVIDIA GPU found'}.`, `System memory: ${showBytes(sample.system.memoryUsed)} used of ${showBytes(sample.system.memoryTotal)}.`);
  } else {
    const rows = [['GPU', 'NAME', 'MEMORY', 'UTIL', 'TEMP', 'POWER', 'UNACCOUNTED']];
    for (const gpu of sample.gpus) {
      rows.push([
        String(gpu.index),
        gpu.name,
        `${showBytes(gpu.memoryUsed)} / ${showBytes(gpu.memoryTotal)}`,
        or(gpu.utilization, '%'),
        or(gpu.temperature, '°C'),
        gpu.power === null ? '—' : `${Math.round(gpu.power)} W${gpu.powerLimit === null ? '' : ` / ${Math.round(gpu.powerLimit)} W`}`,
        gpu.unaccounted === null
          ? '— (a process has no figure)'
          : `${showBytes(gpu.unaccounted)}${gpu.baseline.source === 'learned' ? '' : ' (driver baseline not learned yet)'}`,
      ]);
    }
    lines.push(...pad(rows));
    if (sample.gpus.some((gpu) => gpu.processes.length > 0)) {
      lines.push('', 'Processes');
      const table = [['GPU', 'PID', 'MEMORY', 'SOURCE', 'RUN', 'WORKER']];
      const more: string[] = [];
      let noFigure = false;
      for (const gpu of sample.gpus) {
        // Those with no figure first (they are why UNACCOUNTED says "—", so always listed), then the largest;
        // past PROCESS_ROWS figures a GPU's rest is counted, not listed.
        const largest = [...gpu.processes].sort((a, b) => (b.memoryUsed ?? Infinity) - (a.memoryUsed ?? Infinity));
        const shown = PROCESS_ROWS + largest.filter((process) => process.memoryUsed === null).length;
        for (const process of largest.slice(0, shown)) {
          const run = process.headroom ? `${process.headroom.runId}${process.headroom.role === 'child' ? ' (child)' : ''}${process.headroom.orphan ? ' ORPHAN' : ''}` : '(not Headroom)';
          noFigure ||= process.memoryUsed === null;
          table.push([String(gpu.index), String(process.pid), process.memoryUsed === null ? '— (no figure)' : showBytes(process.memoryUsed), process.source, run, process.headroom?.worker ?? '—']);
        }
        if (largest.length > shown) more.push(`GPU ${gpu.index}: … and ${largest.length - shown} more (headroom gpus --json lists all)`);
      }
      lines.push(...pad(table), ...more);
      // The monitor never takes a figure the size of the device (or larger) for a process's (gpuMonitor.ts).
      if (noFigure) lines.push("no figure: nvidia-smi said N/A for the process, or as much memory as its whole device or more (not a process's own)");
    }
    if (sample.note) lines.push('', `Note: ${sample.note}`);
  }
  if (sample.orphans.length > 0) {
    lines.push('', `Orphans: Headroom processes that outlived their run (${sample.orphans.length})`);
    for (const orphan of sample.orphans) {
      lines.push(`  pid ${orphan.pid} (group ${orphan.pgid}) of run ${orphan.runId}${orphan.worker ? `, worker ${orphan.worker}` : ''}: ${orphan.why}; GPU ${showBytes(orphan.gpuMemory)}, RSS ${showBytes(orphan.rss)}`);
      lines.push(`    ${orphan.command}`);
      lines.push(`    kill it: kill -KILL -- -${orphan.pgid}   (or "kill" in the panel's GPUs view)`);
    }
  } else if (sample.orphanNote) lines.push('', `Orphans: ${sample.orphanNote}.`);
  return `${lines.join('\n')}\n`;
}

export function addGpusCommand(program: Command, io: Io): void {
  program
    .command('gpus')
    .description('what the GPU monitor sees: memory, utilisation, temperature, power, processes by run, unaccounted memory, orphans')
    .option('--json', 'the sample as one JSON object per line on stdout', false)
    .option('--watch', 'sample again every second until Ctrl-C', false)
    .action(async (opts: { json: boolean; watch: boolean }) => {
      const monitor = new GpuMonitor(() => []);
      const show = (sample: GpuSample): void => {
        if (opts.json) io.stdout.write(`${JSON.stringify(sample)}\n`);
        else io.stdout.write(`${opts.watch && io.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${gpusTable(sample)}`);
      };
      if (!opts.watch) {
        show(await monitor.read());
        return;
      }
      let stopped = false;
      let wake: (() => void) | undefined;
      const stop = (): void => {
        stopped = true;
        wake?.();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        while (!stopped) {
          const started = Date.now();
          show(await monitor.read());
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started)));
          });
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
