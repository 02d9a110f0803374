/**
 * Issue 9, class 9, the supervisor's half: a worker process that falls silent past the
 * heartbeat timeout is killed (its whole group) and its exit reads 'hung'; one that
 * keeps talking is left alone; the timeout's env var is checked. Real processes: small
 * shell scripts standing in for Python, so these run in a second.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/errors.js';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, describeExit, heartbeatTimeoutMs, RuntimeProcess } from '../../src/supervisor/runtimeProcess.js';
import { isAlive, tempDir, waitFor } from '../helpers.js';

/** A stand-in for `python -m headroom_runtime`: runs `body` in sh, ignoring its arguments. */
function fakePython(body: string): string {
  const path = join(tempDir(), 'python');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const BEAT = `echo '{"type":"heartbeat"}'`;

describe('heartbeat watchdog', () => {
  it('kills a worker silent past the timeout, with its child, and says it hung', async () => {
    // One line, then silence; a child in the same group that would outlive it.
    const python = fakePython(`${BEAT}\nsleep 1000 &\necho $! >&2\nexec sleep 1000`);
    const logs: string[] = [];
    const worker = RuntimeProcess.start({ python, heartbeatTimeoutMs: 300, onLog: (line) => logs.push(line) });
    const exit = await worker.exited;
    expect(exit.reason).toBe('hung');
    expect(exit.timeoutMs).toBe(300);
    expect(exit.silentMs).toBeGreaterThanOrEqual(300); // rounded to the ms: 300.4 reads 300
    expect(describeExit(exit)).toMatch(/sent nothing for \d+\.\d s \(the limit is 0\.3 s\) and was killed as hung/);
    await waitFor(() => !isAlive(Number(logs[0])), 'the group to go with it', 10_000);
    expect(await worker.next()).toMatchObject({ kind: 'exit', exit: { reason: 'hung' } });
  });

  it('leaves a worker alone while it keeps sending heartbeats, and passes none of them on', async () => {
    // 3 s of talk, beats 0.1 s apart, under a 1 s limit.
    const python = fakePython(`i=0; while [ $i -lt 30 ]; do ${BEAT}; sleep 0.1; i=$((i+1)); done\necho '{"type":"done"}'`);
    const worker = RuntimeProcess.start({ python, heartbeatTimeoutMs: 1_000 });
    expect(await worker.next()).toMatchObject({ kind: 'event', event: { type: 'done' } });
    expect((await worker.exited).reason).toBe('clean');
  });

  it('gives a worker that has said nothing yet (importing torch) at least the start-up allowance', async () => {
    const python = fakePython(`sleep 1\n${BEAT}\necho '{"type":"done"}'`);
    const worker = RuntimeProcess.start({ python, heartbeatTimeoutMs: 200 });
    expect(await worker.next()).toMatchObject({ kind: 'event', event: { type: 'done' } });
    expect((await worker.exited).reason).toBe('clean');
  });

  it('reads HEADROOM_HEARTBEAT_TIMEOUT_S in seconds, and refuses anything but a positive number', () => {
    expect(heartbeatTimeoutMs({})).toBe(DEFAULT_HEARTBEAT_TIMEOUT_MS);
    expect(DEFAULT_HEARTBEAT_TIMEOUT_MS).toBe(120_000);
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 86_400, noNaN: true }), (seconds) => {
        expect(heartbeatTimeoutMs({ HEADROOM_HEARTBEAT_TIMEOUT_S: String(seconds) })).toBe(Math.max(1, Math.round(seconds * 1000)));
      }),
    );
    const bad = fc.oneof(
      fc.constantFrom('0', '-1', 'abc', 'NaN', 'Infinity', '1e9', '5s', '0x'),
      fc.string().filter((text) => text.trim() !== '' && !(Number(text) > 0 && Number(text) <= 86_400)),
    );
    fc.assert(
      fc.property(bad, (value) => {
        expect(() => heartbeatTimeoutMs({ HEADROOM_HEARTBEAT_TIMEOUT_S: value })).toThrow(HeadroomError);
      }),
    );
  });
});
