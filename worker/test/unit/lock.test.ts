import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/runs/lock.js';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('run lock', () => {
  it('is taken, refused to a second owner while alive, and released', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const path = join(dir, 'lock');
    const lock = acquireLock(path, dir);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    expect(() => acquireLock(path, dir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock whose owner is dead', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const path = join(dir, 'lock');
    const dead = deadPid();
    writeFileSync(path, `${dead}\n`);
    const lock = acquireLock(path, dir);
    expect(lock.tookOverFrom).toBe(dead);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('refuses a lock held by another live process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const path = join(dir, 'lock');
    writeFileSync(path, `${process.ppid}\n`);
    try {
      acquireLock(path, dir);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ kind: 'busy' });
    }
  });
});
