/**
 * Disk full and read-only folders, for real (issue 9, class 10): each case runs the
 * CLI inside a private mount namespace (`unshare -rm`, no root needed where user
 * namespaces are allowed) on a small tmpfs, so the kernel itself answers ENOSPC
 * and EROFS at the true boundary, whichever write (the worker's chunk, the
 * Engine's journal or assembly) meets it first.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeCorpus, tempDir, tinyModel } from '../helpers.js';

const canMount = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { stdio: 'ignore' }).status === 0;
const PAGE = 4096;

/** Runs `steps` (sh) in a namespace of its own with a 16 MiB tmpfs at $MNT; each `run NAME cmd...` leaves NAME.out/.err/.rc in $OUT. */
async function inNamespace(dir: string, name: string, steps: string, env: Record<string, string> = {}): Promise<(file: string) => string> {
  const out = join(dir, `${name}-out`);
  const mnt = join(dir, `${name}-mnt`);
  mkdirSync(out);
  mkdirSync(mnt);
  const script = join(dir, `${name}.sh`);
  writeFileSync(
    script,
    [
      'set -u',
      'mount -t tmpfs -o size=16m tmpfs "$MNT" || exit 90',
      'run() { name=$1; shift; "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc"; }',
      'cli() { "$NODE" "$CLI" "$@"; }',
      steps,
    ].join('\n'),
  );
  const result = await execa('unshare', ['-rm', 'sh', script], { reject: false, env: { ...process.env, ...env, MNT: mnt, OUT: out, NODE: process.execPath, CLI } });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return (file) => (existsSync(join(out, file)) ? readFileSync(join(out, file), 'utf8') : '');
}

const EMBED = (corpus: string): string => `"${corpus}" --out "$MNT/run" --model "${tinyModel()}" --device cpu --batch-size 4 --chunk-size 4 --json`;
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

describe.skipIf(!canMount)('disk faults, on a real small file system', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, 16);
  });

  const outputs = new Map<number, string>();
  // Free space left: three pages run out while the worker writes chunks, eight while the Engine journals or assembles.
  for (const pages of [3, 8]) {
    it(`stops a run on a full disk (${pages} pages free) with exit 3 and the fix, and resume finishes it once space is freed`, { timeout: 300_000 }, async () => {
      const read = await inNamespace(
        dir,
        `full-${pages}`,
        [
          `head -c $(( 16 * 1024 * 1024 - ${pages * PAGE} )) /dev/zero > "$MNT/filler" 2>/dev/null`,
          `run embed cli embed ${EMBED(corpus)}`,
          'run status cli status "$MNT/run" --json',
          'ls -R "$MNT/run" > "$OUT/left.ls"',
          'rm "$MNT/filler"',
          'run resume cli resume "$MNT/run" --json',
          'ls -R "$MNT/run" > "$OUT/after.ls"',
          'cp "$MNT/run/embeddings.npy" "$OUT/embeddings.npy"',
        ].join('\n'),
      );
      const runDir = join(dir, `full-${pages}-mnt`, 'run');
      const message = `no space left in ${runDir}: free space, then \`headroom resume ${runDir}\``;
      expect(read('embed.rc').trim(), read('embed.err')).toBe('3');
      expect(read('embed.err')).toContain(message);
      expect(read('embed.err')).not.toMatch(/^\s+at /m); // no stack trace
      expect(lastJson(read('embed.out'))).toMatchObject({ event: 'error', kind: 'interrupted', exitCode: 3, message });
      expect(lastJson(read('status.out'))).toMatchObject({ status: 'interrupted' });
      expect(read('resume.rc').trim(), read('resume.err')).toBe('0');
      expect(read('after.ls')).not.toMatch(/\.tmp-\d+/); // what the failed writes left is gone
      outputs.set(pages, createHash('sha256').update(readFileSync(join(dir, `full-${pages}-out`, 'embeddings.npy'))).digest('hex'));
      if (outputs.size > 1) expect(new Set(outputs.values()).size).toBe(1); // wherever the disk ran out, the same matrix
    });
  }

  for (const { name, fault, firstRc } of [
    { name: 'stale-lock', fault: 'HEADROOM_FAULT_KILL_AT=completed', firstRc: '137' },
    { name: 'interrupted', fault: 'HEADROOM_FAULT_KILL_AFTER_RENAME=1', firstRc: '3' },
  ]) {
    it(`names a read-only run folder (exit 2) left ${name}, and resumes once it is writable`, { timeout: 300_000 }, async () => {
      const first = `env ${fault} "$NODE" "$CLI" embed ${EMBED(corpus)}`;
      const read = await inNamespace(
        dir,
        `ro-${name}`,
        [
          `run first ${first}`,
          'ls "$MNT/run" > "$OUT/before.ls"',
          'mount -o remount,ro "$MNT"',
          'run status cli status "$MNT/run" --json',
          'run resume cli resume "$MNT/run" --json',
          'mount -o remount,rw "$MNT"',
          'run again cli resume "$MNT/run" --json',
          'ls "$MNT/run" > "$OUT/after.ls"',
        ].join('\n'),
      );
      const runDir = join(dir, `ro-${name}-mnt`, 'run');
      expect(read('first.rc').trim(), `${name}: ${read('first.err')}`).toBe(firstRc);
      if (name === 'stale-lock') expect(read('before.ls')).toMatch(/^lock$/m);
      expect(read('status.rc').trim(), read('status.err')).toBe('0'); // reading needs no write
      expect(read('resume.rc').trim(), `${name}: ${read('resume.err')}`).toBe('2');
      expect(read('resume.err')).toContain(`cannot write in ${runDir}: it is on a read-only file system (EROFS)`);
      expect(read('resume.err')).not.toMatch(/took its lock|^\s+at /m);
      expect(lastJson(read('resume.out'))).toMatchObject({ event: 'error', exitCode: 2 });
      expect(read('again.rc').trim(), `${name}: ${read('again.err')}`).toBe('0');
      expect(read('after.ls').split('\n')).not.toContain('chunks');
    });
  }
});
