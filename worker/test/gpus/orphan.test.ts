/**
 * A Headroom runtime left running on purpose (HEADROOM_FAULT_OUTLIVE_PARENT=1, its
 * Engine SIGKILLed) shows as an orphan, mapped to its run; killOrphan refuses any
 * other pid and ends the orphan's process group.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/contract/api.js';
import { GpuMonitor } from '../../src/panel/gpuMonitor.js';
import { REPO_ROOT } from '../../src/runtimePaths.js';
import { isAlive, tempDir, waitFor } from '../helpers.js';
import { MIB, scenario, T4 } from './fakeSmi.js';

const FIXTURE = join(REPO_ROOT, 'worker', 'test', 'fixtures', 'outliveParent.ts');

describe('orphans', () => {
  let orphan: number | undefined;
  afterEach(() => {
    if (orphan !== undefined && isAlive(orphan)) process.kill(-orphan, 'SIGKILL'); // the group we made, by the pid we hold
    orphan = undefined;
  });

  it.skipIf(process.platform !== 'linux')('a runtime that outlived its Engine is listed as an orphan; kill ends its group, anything else is refused', async () => {
    const runDir = join(tempDir('headroom-runs-'), 'embed-20260101-000000-orph');
    const engine = await execa(process.execPath, ['--import', 'tsx', FIXTURE, runDir], { reject: false, cwd: REPO_ROOT });
    expect(engine.signal).toBe('SIGKILL');
    orphan = Number(String(engine.stdout).trim());
    expect(Number.isSafeInteger(orphan) && orphan > 0).toBe(true);
    expect(isAlive(orphan)).toBe(true);
    const fake = scenario({ gpu: [{ stdout: T4(0, 'GPU-zero', 900) }], apps: [{ stdout: `GPU-zero, ${orphan}, 800\n` }] });
    const monitor = new GpuMonitor(() => [], { env: fake.env });
    const sample = await monitor.read();
    expect(sample.orphanNote).toBeNull();
    const listed = sample.orphans.find((entry) => entry.pid === orphan);
    expect(listed).toMatchObject({ pid: orphan, pgid: orphan, runId: 'embed-20260101-000000-orph', worker: null, gpuMemory: 800 * MIB });
    expect(listed!.why).toMatch(/^the Engine that started it \(process \d+\) is gone$/);
    expect(listed!.command).toMatch(/headroom_runtime/);
    expect(sample.gpus[0]!.processes[0]!.headroom).toEqual({ runId: 'embed-20260101-000000-orph', role: 'runtime', worker: null, orphan: true });
    // A pid the monitor does not list as an orphan (this test's own) is refused, and nothing is killed.
    expect(() => monitor.killOrphan(process.pid)).toThrow(ApiError);
    expect(() => monitor.killOrphan(process.pid)).toThrow(/is not one the monitor lists as a Headroom orphan: nothing was killed/);
    const answer = monitor.killOrphan(orphan);
    expect(answer).toMatchObject({ pid: orphan, pgid: orphan });
    expect(answer.killed).toContain(orphan);
    expect(answer.message).toMatch(new RegExp(`^sent SIGKILL to process group ${orphan} `));
    await waitFor(() => !isAlive(orphan!), 'the orphan to end', 10_000);
    expect((await monitor.read()).orphans.find((entry) => entry.pid === orphan)).toBeUndefined();
    expect(() => monitor.killOrphan(orphan!)).toThrow(/not one the monitor lists/);
  });
});
