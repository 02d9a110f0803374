/**
 * How the CLI fails (issue 9, class 10): with --json every error, commander's
 * usage errors included, is one JSON line on stdout; exit codes are only 0/1/2/3;
 * a second signal cannot kill a run before its journal says it was interrupted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { childPids, cli, embedArgs, isAlive, makeCorpus, ofType, records, startCli, tempDir, waitFor } from '../helpers.js';

describe('CLI failures', () => {
  let dir: string;
  let corpus: string;

  beforeAll(() => {
    dir = tempDir();
    corpus = makeCorpus(dir, 60);
  });

  it('reports every usage error as one JSON line with --json, exit 2', async () => {
    const bad = fc.oneof(
      fc.constantFrom(['embed'], ['resume'], ['status'], ['repair'], ['nosuchcommand'], ['embed', corpus], ['embed', corpus, '--out', join(dir, 'never'), '--weights']),
      fc.tuple(fc.constantFrom('--chunk-size', '--min-batch', '--max-batch', '--max-batch-tokens', '--max-seq-len'), fc.constantFrom('0', '-1', 'x', '1.5', '1e3', ''))
        .map(([flag, value]) => ['embed', corpus, '--out', join(dir, 'never'), flag, value]),
      fc.tuple(fc.constantFrom('--oom-policy', '--ensemble-mode', '--aggregate', '--device', '--target-memory', '--weights'), fc.constantFrom('nope', '-0.5', 'NaN', ''))
        .map(([flag, value]) => ['embed', corpus, '--out', join(dir, 'never'), flag, value]),
      fc.constantFrom('--bogus', '-z', '--json=1').map((flag) => ['status', dir, flag]),
    );
    const cases = fc.sample(bad, { numRuns: 16, seed: 9 });
    for (let i = 0; i < cases.length; i += 4) {
      const results = await Promise.all(cases.slice(i, i + 4).map((args) => cli([...args, '--json'])));
      for (const [j, result] of results.entries()) {
        const args = cases[i + j]!.join(' ');
        expect(result.exitCode, args).toBe(2);
        const lines = result.stdout.trim().split('\n');
        expect(lines, args).toHaveLength(1);
        expect(JSON.parse(lines[0]!), args).toMatchObject({ event: 'error', kind: 'usage', exitCode: 2, message: expect.any(String) });
      }
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('gives only exit codes 0 to 3: help and version are 0, no command is 2', async () => {
    expect((await cli(['--help'])).exitCode).toBe(0);
    expect((await cli(['--version'])).exitCode).toBe(0);
    expect((await cli([])).exitCode).toBe(2);
  });

  for (const signals of [
    ['SIGTERM', 'SIGTERM'],
    ['SIGINT', 'SIGTERM', 'SIGINT'],
  ] as const) {
    it(`journals run_interrupted and exits 3 after ${signals.join(' + ')} in a row`, async () => {
      const out = join(dir, signals.join('-'));
      const child = startCli(embedArgs(corpus, out, ['--chunk-size', '4']));
      await waitFor(() => existsSync(join(out, 'journal.jsonl')) && ofType(records(out), 'chunk_done').length >= 1, 'a chunk');
      const worker = childPids(child.pid!)[0]!;
      let stderr = '';
      let sent = 0;
      const handled = (): number => (stderr.match(/headroom: SIG/g) ?? []).length;
      // Signals of one kind sent at once merge into one; each is sent once the one before was handled, from the
      // stderr handler itself: the CLI exits some 0.1 s after the first, and a polling loop could miss that window.
      child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        if (handled() === sent && sent < signals.length) child.kill(signals[sent++]!);
      });
      child.kill(signals[sent++]!);
      await waitFor(() => handled() >= signals.length || child.exitCode !== null, 'the signals to be handled', 30_000);
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(3);
      expect(String(result.stderr)).toMatch(/SIG[A-Z]+ again: still stopping/);
      expect(ofType(records(out), 'run_interrupted').at(-1)?.reason).toMatch(/stopped by a signal/);
      expect(isAlive(worker)).toBe(false);
      expect((await cli(['status', out, '--json'])).stdout).toMatch(/"status":"interrupted"/);
    });
  }
});
