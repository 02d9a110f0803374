/**
 * Issue 11, items 3-5 (worker side): a run in the user's words, the same in the
 * panel's RunInfo, `headroom status` and the CLI's progress. One real tiny-model run
 * (and one resume) writes the journals; the other states are that real journal cut
 * where a stop, a crash or a failure would have cut it.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbedEvent, EmbedRunInfo } from '../../../src/contract/jobs/embed.js';
import { wordsAfter, type Standing } from '../../../src/jobs/embed/liveInfo.js';
import { firstSentence } from '../../../src/contract/words.js';
import { failureWords, interruptionPhase } from '../../../src/jobs/embed/words.js';
import { describeExit, type RuntimeExit } from '../../../src/supervisor/runtimeProcess.js';
import { LiveRun } from '../../../src/panel/liveRun.js';
import { RunManager } from '../../../src/panel/runManager.js';
import { cli, embedArgs, makeCorpus, tempDir } from '../../helpers.js';

/** A copy of the done run whose journal ends after its first `keep` records, plus `tail`. */
function cutRun(from: string, to: string, keep: (line: Record<string, unknown>, i: number) => boolean, tail: Record<string, unknown>[]): void {
  cpSync(from, to, { recursive: true });
  for (const name of ['embeddings.npy', 'ids.txt']) rmSync(join(to, name), { force: true });
  const lines = readFileSync(join(from, 'journal.jsonl'), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const kept = lines.filter(keep);
  const at = new Date(Date.parse(String(kept.at(-1)!.at)) + 5).toISOString();
  writeFileSync(join(to, 'journal.jsonl'), [...kept, ...tail.map((record) => ({ at, ...record }))].map((line) => JSON.stringify(line)).join('\n') + '\n');
}

/** Records up to and including the first chunk_done. */
const upToFirstChunk = (): ((line: Record<string, unknown>) => boolean) => {
  let seen = false;
  return (line) => {
    if (seen) return false;
    if (line.type === 'chunk_done') seen = true;
    return line.type !== 'run_completed';
  };
};

describe('a run in the user\'s words', () => {
  let dir: string;
  let runsDir: string;
  let done: string;
  let events: EmbedEvent[];
  let manager: RunManager;

  beforeAll(async () => {
    dir = tempDir();
    runsDir = join(dir, 'runs');
    done = join(runsDir, 'done');
    const corpus = makeCorpus(dir, 30);
    const result = await cli(embedArgs(corpus, done, ['--chunk-size', '10', '--json']));
    expect(result.exitCode, result.stderr).toBe(0);
    events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string }).filter((line) => line.event !== 'summary').map((line) => EmbedEvent.parse(line));
    manager = new RunManager({ runsDir, monitorGpus: false });
  }, 180_000);

  afterAll(async () => {
    await manager?.close();
  });

  it('a done run: phase, progress, summary with the sha256 `headroom status --json` reports, settings', async () => {
    const status = JSON.parse((await cli(['status', done, '--json'])).stdout) as Record<string, unknown> & { summary: EmbedRunInfo['summary']; embeddingsSha256: string };
    const info = EmbedRunInfo.parse(manager.info('done'));
    expect(info.phase).toBe('done');
    expect(info.progressLine).toBe('3 of 3 chunks · 30/30 documents');
    expect(info.summary).toEqual(status.summary);
    const [npy, ids] = info.summary!.files;
    expect(npy).toMatchObject({ name: 'embeddings.npy', path: join(done, 'embeddings.npy'), sha256: status.embeddingsSha256 });
    expect(npy!.sha256).toBe(createHash('sha256').update(readFileSync(npy!.path)).digest('hex'));
    expect(ids!.sha256).toBe(createHash('sha256').update(readFileSync(join(done, 'ids.txt'))).digest('hex'));
    const truncated = status.truncated as number; // the corpus's long tail is cut at the tiny model's max length
    expect(truncated).toBeGreaterThan(0);
    expect(info.summary).toMatchObject({ rows: 30, dim: 32, oomsRecovered: 0, truncated, truncatedShare: Number((truncated / 30).toFixed(4)) });
    expect(info.summary!.elapsedMs).toBeGreaterThan(0);
    expect(info.summary!.docsPerSecond).toBeGreaterThan(0);
    expect(info.summary!.tokensPerSecond).toBeGreaterThan(info.summary!.docsPerSecond);
    expect(info.settings).toMatchObject({ oomPolicy: 'fail', ensembleMode: 'simultaneous', aggregate: 'concat', chunkSize: 10, batchSize: 4, models: [{ device: 'cpu', ranOn: 'cpu', weight: 1 }] });
    expect(info.failure).toBeNull();
    expect(info.sessionStartedAt).toBeNull();
    expect(info.etaMs).toBeNull();

    const human = (await cli(['status', done])).stdout;
    expect(human).toMatch(/^phase +done$/m);
    expect(human).toMatch(/^progress 3 of 3 chunks · 30\/30 documents$/m);
    expect(human).toContain(`sha256 ${status.embeddingsSha256}`);
    expect(human).toMatch(/OOM policy fail/);
    expect(human).not.toContain('(model, chunk) units');
    expect((await cli(['status', done, '--verbose'])).stdout).toMatch(/^units +3\/3 \(model, chunk\) units$/m);
  });

  it('the live words follow the real run\'s events: starting, loading, encoding chunk k of 3, assembling', () => {
    const started = events[0]!;
    if (started.kind !== 'started') throw new Error(`first event ${started.kind}`);
    let standing: Standing = { models: [{ key: started.models[0]!, model: 'tiny' }], sequential: false, chunksTotal: 3, unitsDone: 0, unitsTotal: 3, documentsDone: 0, documentsTotal: 30 };
    const phases: string[] = [];
    const lines: string[] = [];
    for (const event of events) {
      if (event.kind === 'chunk') standing = { ...standing, unitsDone: event.chunksDone, documentsDone: event.rowsDone };
      const words = wordsAfter(standing, event);
      if (words) {
        phases.push(words.phase);
        lines.push(words.progressLine);
      }
    }
    expect(phases).toEqual(['starting the runtime', 'loading tiny', 'encoding chunk 1 of 3', 'encoding chunk 2 of 3', 'encoding chunk 3 of 3', 'assembling the outputs', 'assembling the outputs']);
    expect(lines).toContain('chunk 2 of 3 · 10/30 documents');
    expect(lines.join('\n')).not.toContain('units');
  });

  it('what only the panel knows: starting, paused by you, stopping', () => {
    const live = new LiveRun();
    expect(live.phase).toBe('starting the runtime');
    live.apply({ kind: 'runtime', pid: 1, torch: 'x', cuda: false } as never);
    expect(live.phase).toBeUndefined(); // the run's own events word it now
    live.apply({ kind: 'paused' });
    expect(live.phase).toBe('paused by you');
    live.stop();
    expect(live.phase).toBe('stopping');
  });

  it('stopped by you, then resumed with another OOM policy: the settings in force and elapsed over both sessions', async () => {
    const stopped = join(runsDir, 'stopped');
    cutRun(done, stopped, upToFirstChunk(), [{ type: 'run_interrupted', reason: 'run interrupted: stopped by a signal' }]);
    const before = EmbedRunInfo.parse(manager.info('stopped'));
    expect(before).toMatchObject({ status: 'interrupted', phase: 'stopped by you', progressLine: '1 of 3 chunks · 10/30 documents', documentsDone: 10, summary: null, failure: null });
    expect(before.settings.oomPolicy).toBe('fail');
    const resumed = await cli(['resume', stopped, '--oom-policy', 'truncate', '--json']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const after = EmbedRunInfo.parse(manager.info('stopped'));
    expect(after.phase).toBe('done');
    expect(after.settings.oomPolicy).toBe('truncate');
    expect(after.summary!.elapsedMs).toBeGreaterThan(before.elapsedMs);
    const status = JSON.parse((await cli(['status', stopped, '--json'])).stdout) as { settings: { oomPolicy: string }; embeddingsSha256: string };
    expect(status.settings.oomPolicy).toBe('truncate');
    expect(after.summary!.files[0]!.sha256).toBe(status.embeddingsSha256);
  }, 180_000);

  it('interrupted: the app exited / the runtime was killed / out of memory', () => {
    cutRun(done, join(runsDir, 'crashed'), upToFirstChunk(), []);
    expect(manager.info('crashed')).toMatchObject({ status: 'interrupted', phase: 'interrupted: the app exited' });
    cutRun(done, join(runsDir, 'killed'), upToFirstChunk(), [{ type: 'run_interrupted', reason: 'run interrupted: the Python runtime was killed by SIGKILL' }]);
    expect(manager.info('killed')).toMatchObject({ status: 'interrupted', phase: 'interrupted: the runtime was killed' });
    expect(interruptionPhase('run interrupted: the Python runtime exited with code 1; its last log lines:\n  torch.OutOfMemoryError: CUDA out of memory')).toBe('interrupted: out of memory');
    expect(interruptionPhase('run interrupted: the Python runtime hung 3 times in a row')).toBe('interrupted: the runtime hung');
    expect(interruptionPhase('no space left in /x: free space, then resume')).toBe('interrupted: the disk is full');
    expect(interruptionPhase('stopped by SIGTERM')).toBe('stopped by you');
    // "headroom" holds "oom": a resume hint or a run path must not read as out of memory.
    expect(interruptionPhase('run interrupted: the Python runtime hung 3 times in a row; then `headroom resume /runs/a`')).toBe('interrupted: the runtime hung');
    expect(interruptionPhase('no space left in /home/me/headroom-runs/a: free space, then `headroom resume /home/me/headroom-runs/a`')).toBe('interrupted: the disk is full');
    expect(interruptionPhase('run interrupted: the Python runtime was killed by SIGKILL in /home/me/headroom-runs/a')).toBe('interrupted: the runtime was killed');
    expect(interruptionPhase('run interrupted: memory at the critical level: 97% of 23.54 GiB (critical 95%), and --on-critical is pause; `headroom resume x`')).toBe('interrupted: memory reached the critical level');
    expect(interruptionPhase('run interrupted: OOM in chunk 3')).toBe('interrupted: out of memory');
  });

  it('a failed run says why in one sentence and what to do, in the form\'s words', async () => {
    const message = 'document "doc-3" (input row 4, 80 tokens) does not fit in memory alone with model tiny; resume with --oom-policy cpu or --oom-policy truncate, or lower --max-seq-len';
    cutRun(done, join(runsDir, 'failed'), upToFirstChunk(), [{ type: 'run_failed', kind: 'bad_input', message }]);
    const info = EmbedRunInfo.parse(manager.info('failed'));
    expect(info.failure).toEqual({
      why: 'document "doc-3" (input row 4, 80 tokens) does not fit in memory alone with model tiny.',
      fix: 'resume with OOM policy "cpu" or OOM policy "truncate", or lower the max sequence length',
    });
    expect(info.phase).toBe('failed: document "doc-3" (input row 4, 80 tokens) does not fit in memory alone with model tiny');
    const human = (await cli(['status', join(runsDir, 'failed')])).stdout;
    expect(human).toMatch(/^fix +resume with OOM policy "cpu"/m);
    expect(failureWords('the runtime ran out of memory again after 3 fresh starts: recycle').fix).toMatch(/target memory/);
  });
});

describe('firstSentence', () => {
  const exit = (over: Partial<RuntimeExit>): RuntimeExit => ({ reason: 'crashed', code: 1, signal: undefined, stderrTail: [], ...over });

  it('words a worker_died reason: describeExit\'s first clause, without its log lines', () => {
    expect(firstSentence(describeExit(exit({ stderrTail: ['Traceback (most recent call last):', 'MemoryError'] })))).toBe('the Python runtime exited with code 1');
    expect(firstSentence(describeExit(exit({ code: undefined, signal: 'SIGKILL' })))).toBe('the Python runtime was killed by SIGKILL');
    expect(firstSentence(describeExit(exit({ reason: 'hung', silentMs: 2500, timeoutMs: 2000, stderrTail: ['x'] })))).toBe('the Python runtime sent nothing for 2.5 s (the limit is 2.0 s) and was killed as hung');
    expect(firstSentence(`run interrupted: runtime failed to start: ${describeExit(exit({ stderrTail: ['ImportError: no torch'] }))}`)).toBe('run interrupted: runtime failed to start: the Python runtime exited with code 1');
    expect(firstSentence('the disk is full. Free space; then resume')).toBe('the disk is full');
  });
});
