/**
 * The GPUs view and the embed run view's workers and guard parts, rendered to markup (server-side:
 * the store reads as its initial state, so each part gets what it shows as arguments).
 */
import { MantineProvider } from '@mantine/core';
import { createElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { GpuSample } from '../../../worker/src/contract/api.ts';
import { EmbedRunInfo } from '../../../worker/src/contract/jobs/embed.ts';
import { applyEmbedEvent, emptySeries } from '../../src/store/embed.ts';
import { GuardPart, WorkersPart } from '../../src/views/embed/WorkersCard.tsx';
import { GpusPage } from '../../src/views/GpusView.tsx';
import { embedRun, EMBED_SETTINGS } from '../store/fixtures.ts';

const render = (node: ReactNode): string => renderToStaticMarkup(createElement(MantineProvider, null, node));
const MIB = 1024 ** 2;

const sample = (patch: Partial<GpuSample> = {}): GpuSample =>
  GpuSample.parse({
    at: 1000,
    gpus: [
      {
        index: 0,
        uuid: 'GPU-0',
        name: 'Tesla T4',
        memoryUsed: 9000 * MIB,
        memoryTotal: 15360 * MIB,
        utilization: null,
        temperature: 45,
        power: 27.5,
        powerLimit: 70,
        processes: [
          { pid: 41, memoryUsed: 1024 * MIB, source: 'torch', headroom: { runId: 'embed-20260101-000000-abcd', role: 'runtime', worker: 'w1', orphan: false } },
          { pid: 42, memoryUsed: null, source: 'nvidia-smi', headroom: null },
        ],
        processSource: 'torch',
        baseline: { bytes: 300 * MIB, source: 'learned' },
        unaccounted: null,
      },
    ],
    note: 'GPU 1 (Tesla T4) is no longer listed by nvidia-smi',
    system: { memoryUsed: 4e9, memoryTotal: 3.2e10 },
    runtimes: [],
    orphans: [{ pid: 77, pgid: 77, runId: 'embed-20260101-000000-gone', worker: 'w0', command: 'python -m headroom_runtime', gpuMemory: 800 * MIB, rss: null, why: 'the Engine that started it (process 5) is gone' }],
    orphanNote: null,
    ...patch,
  });

describe('the GPUs view', () => {
  it('labels each process figure by its source, names the run and worker, and never shows a device total as a process’s', () => {
    const html = render(createElement(GpusPage, { sample: sample() }));
    expect(html).toContain('GPU 0: Tesla T4');
    expect(html).toContain('worker&#x27;s own figure (torch)');
    expect(html).toContain('embed-20260101-000000-abcd');
    expect(html).toContain('w1 · runtime');
    expect(html).toContain('not Headroom&#x27;s');
    expect(html).not.toContain('data-bytes="16106127360"'); // the device total is no process's memory
    expect(html).toContain('Unaccounted: not known');
    expect(html).toContain('a listed process has no memory figure');
    expect(html).toContain('GPU 1 (Tesla T4) is no longer listed by nvidia-smi'); // the monitor's note
    expect(html).toContain('27.5 W of 70 W');
    // The orphan card comes first while it lists one, with its Kill button.
    expect(html.indexOf('aria-label="Orphans"')).toBeLessThan(html.indexOf('aria-label="GPU 0"'));
    expect(html).toContain('aria-label="Kill orphan 77"');
    expect(html).toContain('the Engine that started it (process 5) is gone');
  });

  it('says where the baseline comes from, and shows unaccounted memory in bytes', () => {
    const base = sample();
    const gpu = { ...base.gpus[0]!, unaccounted: 2048 * MIB, baseline: { bytes: 0, source: 'default' as const } };
    const html = render(createElement(GpusPage, { sample: { ...base, gpus: [gpu], orphans: [], note: null } }));
    expect(html).toContain('Unaccounted: 2.00 GiB');
    expect(html).toContain('not learned yet');
    expect(html).toContain('None: every Headroom process found serves a live run.');
  });

  it('without an NVIDIA GPU: says so, and charts system memory', () => {
    const html = render(createElement(GpusPage, { sample: sample({ gpus: [], note: 'no NVIDIA GPU found (nvidia-smi is not installed)', orphans: [] }) }));
    expect(html).toContain('No NVIDIA GPU found');
    expect(html).toContain('aria-label="System memory"');
    expect(html).not.toContain('aria-label="GPU memory"');
  });
});

describe('the embed run view’s workers and guard', () => {
  it('lists each worker: device, state, memory, batch, units', () => {
    const worker = (id: string, state: 'working' | 'given_up', restarts: number) => ({ id, device: 'cuda:0', pid: 10, state, restarts, chunksDone: 4, allocated: 512 * MIB, peak: 600 * MIB, batchDocs: 32, budget: 4096 });
    const run = EmbedRunInfo.parse(embedRun('e1', { workers: [worker('w0', 'working', 0), worker('w1', 'given_up', 3)] }));
    const html = render(createElement(WorkersPart, { workers: run.workers!, series: emptySeries(), live: true, done: false }));
    expect(html).toContain('data-worker="w0"');
    expect(html).toContain('given up');
    expect(html).toContain('restarted 3×');
    expect(html).toContain('512.0 MiB');
    expect(html).toContain('32 docs');
    expect(html).not.toContain('at end');
  });

  it('a run not live: each worker’s last figures from its history, said to be at the end (or last known)', () => {
    const worker = (id: string) => ({ id, device: 'cpu', pid: null, state: 'done' as const, restarts: 0, chunksDone: 3, allocated: null, peak: null, batchDocs: null, budget: 4096 });
    let series = applyEmbedEvent(emptySeries(), 1000, { kind: 'memory', allocated: 300 * MIB, reserved: null, free: null, total: null, peak: 310 * MIB, worker: 'w1' });
    series = applyEmbedEvent(series, 2000, { kind: 'batch', docs: 12, tokens: 80, padded: 90, ms: 5, peak: null, worker: 'w1' });
    const workers = [worker('w0'), worker('w1')];
    const done = render(createElement(WorkersPart, { workers, series, live: false, done: true }));
    expect(done).toMatch(/Memory <span[^>]*>at end</);
    expect(done).toContain('300.0 MiB');
    expect(done).toContain('310.0 MiB');
    expect(done).toContain('12 docs');
    expect(done).toContain('data-recorded-at="2"');
    expect(done).toMatch(/data-worker="w0"(?:(?!data-worker).)*—/); // w0 reported nothing: still "—"
    const stopped = render(createElement(WorkersPart, { workers, series, live: false, done: false }));
    expect(stopped).toMatch(/Memory <span[^>]*>last known</);
    expect(stopped).toContain('The run is not running');
  });

  it('the guard card says the run’s levels and lists its incidents', () => {
    const run = EmbedRunInfo.parse(embedRun('e1', { settings: { ...EMBED_SETTINGS, vramLimitGiB: 4 } }));
    const { incidents } = applyEmbedEvent(emptySeries(), 1000, { kind: 'leak_warning', model: 'm', chunk: 3, slopeMB: 5, driftMB: 20, units: 4, recycle: false, worker: 'w0' });
    const html = render(createElement(GuardPart, { run, incidents }));
    expect(html).toContain('Warning at 85%, critical at 95% of the 4 GiB cap');
    expect(html).toContain('data-kind="leak"');
    expect(html).toContain('the memory baseline rises 5.0 MB per unit');
  });
});
