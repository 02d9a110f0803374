import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, liveOwner, lockFileKey, lockOwner, parseLock, readLock } from '../../src/runs/lock.js';

const linux = process.platform === 'linux';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

const lockDir = (): { dir: string; path: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  return { dir, path: join(dir, 'lock') };
};

/** This process's start time and the boot id, as the lock records them (Linux). */
function selfFacts(): { start: string; boot: string } {
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  return { start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!, boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() };
}

/** A lock in today's format naming `pid` with the given start time and boot id. */
const lockText = (pid: number, start: string, boot: string): string =>
  `${JSON.stringify({ pid, start, boot, command: 'some earlier process', since: '2020-01-01T00:00:00.000Z', nonce: randomBytes(12).toString('hex') })}\n`;

describe('run lock', () => {
  it('is taken, refused to a second owner while alive, and released', () => {
    const { dir, path } = lockDir();
    const lock = acquireLock(path, dir);
    const owner = parseLock(readFileSync(path, 'utf8'));
    expect(owner?.pid).toBe(process.pid);
    if (linux) expect(owner).toMatchObject(selfFacts());
    expect(owner?.command).toContain(process.execPath);
    expect(lockOwner(path)).toBe(process.pid);
    expect(liveOwner(path)).toBe(process.pid);
    expect(() => acquireLock(path, dir)).toThrow(new RegExp(`in use by process ${process.pid} \\(`));
    lock.release();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock whose owner is dead, in the old format (a bare pid) and in the new one', () => {
    for (const content of [(pid: number) => `${pid}\n`, (pid: number) => lockText(pid, '12345', 'any')]) {
      const { dir, path } = lockDir();
      const dead = deadPid();
      writeFileSync(path, content(dead));
      expect(lockOwner(path)).toBe(dead);
      expect(liveOwner(path)).toBeUndefined();
      const lock = acquireLock(path, dir);
      expect(lock.tookOverFrom).toBe(dead);
      expect(lockOwner(path)).toBe(process.pid);
      lock.release();
    }
  });

  it.runIf(linux)('recognises a reused pid: same pid, another start time, boot or (old format) a process started after the lock', () => {
    const { start, boot } = selfFacts();
    const cases = [
      { why: 'another start time', content: lockText(process.pid, String(Number(start) - 1), boot), reason: /now another process \(started later\)/ },
      { why: 'another boot', content: lockText(process.pid, start, '00000000-0000-0000-0000-000000000000'), reason: /before the last reboot/ },
      { why: 'an old lock older than its pid', content: `${process.pid}\n`, age: true, reason: /started after the lock was written/ },
    ];
    for (const { why, content, age, reason } of cases) {
      const { dir, path } = lockDir();
      writeFileSync(path, content);
      if (age) utimesSync(path, new Date('2001-01-01'), new Date('2001-01-01'));
      expect(readLock(path)?.verdict, why).toMatchObject({ live: false, reason: expect.stringMatching(reason) });
      expect(liveOwner(path), why).toBeUndefined();
      const lock = acquireLock(path, dir);
      expect(lock.tookOverFrom, why).toBe(process.pid);
      lock.release();
    }
  });

  it('refuses a lock held by another live process, naming it, in either format', async () => {
    const { dir, path } = lockDir();
    writeFileSync(path, `${process.ppid}\n`); // an old lock of a live process
    expect(() => acquireLock(path, dir)).toThrow(expect.objectContaining({ kind: 'busy', message: expect.stringContaining(`in use by process ${process.ppid}`) }));
    rmSync(path);

    const lockModule = fileURLToPath(new URL('../../src/runs/lock.ts', import.meta.url));
    const script = `const { acquireLock } = await import(${JSON.stringify(lockModule)}); acquireLock(${JSON.stringify(path)}, 'x'); console.log('held'); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      expect(liveOwner(path)).toBe(holder.pid);
      expect(() => acquireLock(path, dir)).toThrow(expect.objectContaining({ kind: 'busy', message: expect.stringMatching(new RegExp(`in use by process ${holder.pid} \\(.*--import tsx.*holding it since`)) }));
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    const lock = acquireLock(path, dir); // its owner is gone now
    expect(lock.tookOverFrom).toBe(holder.pid);
    lock.release();
  });

  it('writes no secret from its command line into the lock file, and still knows its owner is live', async () => {
    const { path } = lockDir();
    const token = `hf_${'Ab1'.repeat(12)}`; // a Hugging Face token's shape, as an argument of the owner
    const lockModule = fileURLToPath(new URL('../../src/runs/lock.ts', import.meta.url));
    const script = `const { acquireLock } = await import(${JSON.stringify(lockModule)}); acquireLock(${JSON.stringify(path)}, 'x'); console.log('held'); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, token], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      const content = readFileSync(path, 'utf8');
      expect(content).not.toContain(token);
      expect(content).toContain('hf_***');
      expect(liveOwner(path)).toBe(holder.pid); // the masked command still matches its live owner
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
  });

  it('recovers from a taker that died holding the takeover claim, and removes what it left', () => {
    const { dir, path } = lockDir();
    const dead = deadPid();
    writeFileSync(path, `${dead}\n`);
    const claim = `${path}.takeover-${lockFileKey(path)}`;
    writeFileSync(claim, lockText(deadPid(), '1', 'any')); // died after claiming, before removing
    writeFileSync(`${path}.pending-${dead}-abc`, lockText(dead, '1', 'any')); // died before linking
    const lock = acquireLock(path, dir);
    expect(lock.tookOverFrom).toBe(dead);
    expect(readdirSync(dir)).toEqual(['lock']);
    lock.release();
  });
});

describe('lock takeover under contention', () => {
  const CONTENDERS = 4;
  const ROUNDS = Number(process.env.HEADROOM_LOCK_ROUNDS ?? 625);
  const children: ChildProcess[] = [];

  const next = (child: ChildProcess, type: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>): void => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', reject);
        resolve(message);
      };
      child.on('message', onMessage);
      child.once('exit', reject);
    });

  beforeAll(async () => {
    const script = fileURLToPath(new URL('./lockContender.ts', import.meta.url));
    for (let i = 0; i < CONTENDERS; i += 1) {
      const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
    }
    await Promise.all(children.map((child) => next(child, 'ready')));
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it(`gives a stale lock to exactly one of ${CONTENDERS} processes released at once, ${ROUNDS} times`, async () => {
    const { dir, path } = lockDir();
    const dead = deadPid();
    const facts = linux ? selfFacts() : undefined;
    // Stale in every way the lock knows: dead pid (both formats); a live pid that is another process (Linux).
    const stale = [
      () => `${dead}\n`,
      () => lockText(dead, '1', facts?.boot ?? 'any'),
      ...(facts ? [() => lockText(process.pid, String(Number(facts.start) + 7), facts.boot), () => lockText(process.pid, facts.start, 'another-boot')] : []),
    ];
    const winners: number[] = [];
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      writeFileSync(path, stale[round % stale.length]!());
      const at = performance.timeOrigin + performance.now() + 2;
      const tried = children.map((child) => next(child, 'tried'));
      for (const child of children) child.send({ type: 'go', round, at, lockPath: path });
      const results = await Promise.all(tried);
      const won = results.filter((result) => result.won);
      winners.push(won.length);
      if (won.length !== 1) failures.push(`round ${round}: ${won.length} owners; ${results.map((result) => String(result.error)).join(' | ')}`);
      else if (lockOwner(path) !== won[0]!.pid) failures.push(`round ${round}: the lock names ${lockOwner(path)}, the owner is ${String(won[0]!.pid)}`);
      for (const result of results) {
        if (!result.won && !/in use by process \d+|taking its lock at this moment/.test(String(result.error))) failures.push(`round ${round}: ${String(result.error)}`);
      }
      const released = children.map((child) => next(child, 'released'));
      for (const child of children) child.send({ type: 'release' });
      await Promise.all(released);
      rmSync(path, { force: true });
    }
    const double = winners.filter((count) => count > 1).length;
    const none = winners.filter((count) => count === 0).length;
    console.log(`lock stress: ${ROUNDS * CONTENDERS} takeover tries in ${ROUNDS} rounds; double owners ${double}, rounds with no owner ${none}`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(double).toBe(0);
    expect(readdirSync(dir)).toEqual([]); // no claim or pending file left behind
  }, 60_000);
});
