/**
 * Issue 14, items 2 and 3, on CPU: the VRAM guard with memory figures injected by the documented
 * switch HEADROOM_FAULT_MEMORY_USED (the runtime reads them as fractions of its total, one per batch),
 * and the leak detector with a real, growing RSS (HEADROOM_FAULT_LEAK_MB) and a low
 * HEADROOM_LEAK_RECYCLE_MB. Each run is compared with a clean run of the same spec.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbedSettings } from '../../src/contract/jobs/embed.js';
import { createEmbedRun, executeRun, type Progress } from '../../src/jobs/embed/embedRun.js';
import { RunControl } from '../../src/runs/runControl.js';
import { historyPath, parseHistory } from '../../src/runs/history.js';
import { cli, embedArgs, embedOptions, makeCorpus, maxAbsDiff, ofType, readMatrix, records, tempDir, tinyModel } from '../helpers.js';

const matrix = (out: string) => readMatrix(join(out, 'embeddings.npy'));
const marks = (out: string, kind: string) => parseHistory(readFileSync(historyPath(out), 'utf8')).events.filter((entry) => entry.event.kind === kind);

describe('VRAM guard and leak detector (CPU, injected figures)', () => {
  let dir: string;
  let input: string;
  let clean: string;
  const args = ['--chunk-size', '10', '--device', 'cpu'];

  beforeAll(async () => {
    dir = tempDir();
    input = makeCorpus(dir, 60);
    clean = join(dir, 'clean');
    const result = await cli(embedArgs(input, clean, args));
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it("'shrink' at critical halves the budget at once; journal, history and output agree", async () => {
    const out = join(dir, 'shrink');
    // auto batches (a CPU budget of 8192 tokens): the halving is not stopped by a fixed batch's floor
    const auto = [...args, '--batch-size', 'auto', '--min-batch', '2'];
    const result = await cli(embedArgs(input, out, [...auto, '--vram-warning', '80', '--vram-critical', '90']), { HEADROOM_FAULT_MEMORY_USED: '0.5,0.85,0.86,0.95' });
    expect(result.exitCode, result.stderr).toBe(0);
    const all = records(out);
    const levels = ofType(all, 'vram_level');
    expect(levels.map((l) => [l.level, l.action])).toEqual([
      ['warning', 'warn'],
      ['critical', 'shrink'],
    ]);
    expect(ofType(all, 'probe').map((p) => [p.method, p.budget])).toEqual([['cpu-default', 8192]]);
    expect(levels[1]!.budget).toBe(4096);
    expect(ofType(all, 'chunk_done').at(-1)!.stats.budget).toBe(levels[1]!.budget);
    expect(marks(out, 'vram_level').map((entry) => entry.event.action)).toEqual(['warn', 'shrink']);
    expect(result.stderr).toMatch(/memory at 95% of .* GiB \(critical level\) in .* chunk \d+: batches halved to \d+ tokens, cached memory released/);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBeLessThan(1e-5);
    // `headroom status` says what the guard did, chunks counted from 1 as the progress line counts them
    const status = await cli(['status', out]);
    expect(status.stdout).toContain('\nguard    1 memory warning, 1 at the critical level\n');
    expect(status.stdout).toContain(`(critical level) in ${tinyModel()} chunk ${levels[1]!.chunk + 1}: batches halved to 4096 tokens`);
  });

  it("'pause' at critical pauses the run with the reason; a resume finishes it", async () => {
    const out = await createEmbedRun(input, join(dir, 'pause'), embedOptions({ onCritical: 'pause' }));
    const control = new RunControl<EmbedSettings>();
    const paused: Progress[] = [];
    const summary = await executeRun(out, {
      command: 'start',
      control,
      env: { ...process.env, HEADROOM_FAULT_MEMORY_USED: '0.5,0.97' },
      report: (event) => {
        if (event.kind !== 'paused') return;
        paused.push(event);
        expect(control.paused).toBe(true); // the run's own control says paused: the panel's resume resumes it
        control.resume();
      },
    });
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ kind: 'paused', reason: expect.stringMatching(/^memory at the critical level: 97% of .* GiB \(critical 95%\)$/) as unknown });
    expect(summary.rows).toBe(60);
    expect(ofType(records(out), 'vram_level').map((l) => l.action)).toEqual(['pause']);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBeLessThan(1e-5);
  });

  it("'pause' from the CLI, where nothing can resume it, stops the run resumable (exit 3)", async () => {
    const out = join(dir, 'pause-cli');
    const stopped = await cli(embedArgs(input, out, [...args, '--on-critical', 'pause']), { HEADROOM_FAULT_MEMORY_USED: '0.97' });
    expect(stopped.exitCode, stopped.stderr).toBe(3);
    expect(stopped.stderr).toMatch(/memory at the critical level: 97% .*--on-critical is pause/);
    expect(ofType(records(out), 'run_interrupted')[0]!.reason).toMatch(/--on-critical is pause; free memory on the device, then `headroom resume /);
  });

  it('a leaking worker gets a leak warning with its slope and is recycled between units; the matrix is the clean one', async () => {
    const out = join(dir, 'leak');
    // 6 chunks (the clean run's plan), 60 MB kept per chunk: the second baseline is past 50 MB above the first;
    // the two chunks in flight then finish, and a fresh runtime does the last two
    const result = await cli(embedArgs(input, out, args), { HEADROOM_FAULT_LEAK_MB: '60', HEADROOM_LEAK_RECYCLE_MB: '50' });
    expect(result.exitCode, result.stderr).toBe(0);
    const all = records(out);
    const leaks = ofType(all, 'leak_warning');
    const recycleAt = leaks.findIndex((leak) => leak.recycle);
    expect(recycleAt).toBeGreaterThanOrEqual(0);
    expect(leaks[recycleAt]!.driftMB).toBeGreaterThan(50);
    expect(leaks[recycleAt]!.slopeMB).toBeGreaterThan(50);
    expect(leaks[recycleAt]!.slopeMB).toBeLessThan(70);
    const recycled = ofType(all, 'worker_recycled');
    expect(recycled.length).toBeGreaterThanOrEqual(1);
    expect(recycled[0]!.reason).toMatch(/memory baseline rose .* MB since this runtime's first unit \(limit 50 MB/);
    // between units: the recycle comes after a chunk_done, and every unit is done once
    const chunks = ofType(all, 'chunk_done');
    expect(new Set(chunks.map((c) => c.index)).size).toBe(chunks.length);
    expect(ofType(all, 'worker_ready').length).toBe(recycled.length + 1);
    expect(marks(out, 'leak_warning').length).toBe(leaks.length);
    expect(result.stderr).toMatch(/memory leak suspected in .*: the baseline after clean-up rises \d+\.\d MB per chunk/);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBe(0);
    const status = JSON.parse((await cli(['status', out, '--json'])).stdout) as { guard: { kind: string }[] };
    expect(status.guard.map((incident) => incident.kind).sort()).toEqual([...leaks.map(() => 'leak'), ...recycled.map(() => 'recycle')]);
  });

  it.each([
    [['--vram-warning', '95', '--vram-critical', '90'], /--vram-warning: the warning level is not below the critical level/],
    [['--vram-warning', '0'], /--vram-warning.*percentage from 1 to 100/],
    [['--vram-critical', '101'], /--vram-critical.*percentage from 1 to 100/],
    [['--vram-critical', 'high'], /--vram-critical.*percentage from 1 to 100/],
    [['--on-critical', 'explode'], /--on-critical/],
  ])('refuses bad guard flags with exit 2 naming the flag: %s', async (flags, message) => {
    const result = await cli(embedArgs(input, join(dir, `bad-${flags.join('')}`), flags));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
