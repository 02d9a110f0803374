import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, HistoryWriter, historyPath, parseHistory, readHistory } from '../../src/runs/history.js';
import { EMBED_HISTORY_SAMPLES } from '../../src/jobs/embed/historySamples.js';
import { simulateEmbedRun } from './simulatedRun.js';

const tempRun = (): string => mkdtempSync(join(tmpdir(), 'headroom-history-'));
const memory = (allocated: number) => ({ kind: 'memory', allocated, reserved: allocated, free: null, total: 8e9, peak: allocated });

describe('history file', () => {
  it('keeps every mark, thins samples to their extremes per bucket, and numbers events across sessions', async () => {
    const dir = tempRun();
    const first = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    const t0 = 1_700_000_000_000;
    // 40 memory samples in one second: one bucket; the spike and the trough must survive.
    for (let i = 0; i < 40; i += 1) first.record(memory(i === 17 ? 9e9 : i === 30 ? 1 : 5e8 + i), t0 + i * 25);
    first.record({ kind: 'oom', model: 'm', chunk: 0, docs: 8, tokens: 800, budget: 400, action: 'retry' }, t0 + 990);
    first.record(memory(5e8), t0 + 1500); // next bucket: closes the first
    first.close();
    const one = await readHistory(dir);
    const allocated = one.events.filter((e) => e.event.kind === 'memory').map((e) => e.event.allocated);
    expect(allocated).toContain(9e9);
    expect(allocated).toContain(1);
    expect(allocated.length).toBeLessThan(6);
    expect(one.events.some((e) => e.event.kind === 'oom')).toBe(true);
    expect(one.counts.memory).toBe(41);
    expect(one.counts.oom).toBe(1);
    const lastSeq = one.lastSeq;
    expect(lastSeq).toBe(42);

    // A later session (a resume) goes on from the last number: no duplicate, no reuse.
    const second = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    const entry = second.record({ kind: 'paused' }, t0 + 5000);
    expect(entry.seq).toBe(lastSeq + 1);
    second.close();
    const two = await readHistory(dir);
    expect(new Set(two.events.map((e) => e.seq)).size).toBe(two.events.length);
    expect(two.events.map((e) => e.seq)).toEqual([...two.events.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('skips a torn tail and a damaged line, and the next session cuts them before appending', async () => {
    const dir = tempRun();
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    writer.record({ kind: 'paused' }, 1000);
    writer.record({ kind: 'resumed' }, 2000);
    writer.close();
    const path = historyPath(dir);
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, `${lines[0]}\n{"seq":"not a number"\n${lines.slice(1).join('\n')}{"seq":9,"at":3`);
    const damaged = await readHistory(dir);
    expect(damaged.events.map((e) => e.event.kind)).toEqual(['paused', 'resumed']);
    expect(damaged.skipped).toBe(2);
    const next = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    next.record({ kind: 'paused' }, 4000);
    next.close();
    const healed = await readHistory(dir);
    expect(healed.skipped).toBe(0);
    expect(healed.events.map((e) => e.event.kind)).toEqual(['paused', 'resumed', 'paused']);
  });

  it('an odd history file (a folder, a FIFO-like name, garbage) is an empty history, never an error', async () => {
    const dir = tempRun();
    writeFileSync(historyPath(dir), '\u0000\u0001 not json at all\n\n[]\n');
    const odd = await readHistory(dir);
    expect(odd.events).toEqual([]);
    expect(odd.skipped).toBe(2);
    const folder = tempRun();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(historyPath(folder));
    expect((await readHistory(folder)).events).toEqual([]);
  });

  it('never blocks, follows or reads what stands in its place (a FIFO, a link, a huge file): moves it aside and starts afresh', async () => {
    for (const plant of ['fifo', 'link', 'huge'] as const) {
      const dir = tempRun();
      const path = historyPath(dir);
      const target = join(tempRun(), 'elsewhere.txt');
      writeFileSync(target, 'not yours\n');
      if (plant === 'fifo') execFileSync('mkfifo', [path]);
      if (plant === 'link') symlinkSync(target, path);
      if (plant === 'huge') {
        writeFileSync(path, '');
        truncateSync(path, 40 * 1024 * 1024);
      }
      expect((await readHistory(dir)).events).toEqual([]); // read as no history, at once
      const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
      writer.record({ kind: 'paused' }, 1000); // would hang on the FIFO if it were opened blocking
      writer.close();
      expect(readFileSync(target, 'utf8')).toBe('not yours\n');
      expect(readdirSync(dir).some((name) => name.startsWith('history.jsonl.damaged-'))).toBe(true);
      expect((await readHistory(dir)).events.map((e) => e.event.kind)).toEqual(['paused']);
    }
  });

  it('treats an absurd sequence number as damage, and counts any kind name (constructor, __proto__) as a plain count', async () => {
    const dir = tempRun();
    writeFileSync(historyPath(dir), `${JSON.stringify({ seq: 2 ** 53 - 1, at: 1, event: { kind: 'paused' } })}\n${JSON.stringify({ seq: 1, at: 2, event: { kind: 'constructor' } })}\n${JSON.stringify({ seq: 2, at: 3, event: { kind: '__proto__' } })}\n`);
    const history = await readHistory(dir);
    expect(history.lastSeq).toBe(2);
    expect(history.skipped).toBe(1);
    expect(history.counts.constructor).toBe(1);
    expect(Object.hasOwn(history.counts, '__proto__')).toBe(true);
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    expect(writer.record({ kind: 'toString' }, 4).seq).toBe(3);
    writer.close();
    expect((await readHistory(dir)).counts.toString).toBe(1);
  });

  it('masks secrets in what it writes', async () => {
    const dir = tempRun();
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    writer.record({ kind: 'log', line: 'fetching https://user:hunter2@example.com/model' }, 1000);
    writer.close();
    expect(readFileSync(historyPath(dir), 'utf8')).not.toContain('hunter2');
  });

  it('a 24-hour run at real event rates stays bounded on disk and quick to read', async () => {
    const dir = tempRun();
    const run = simulateEmbedRun(dir, { hours: 24 });
    const bytes = statSync(historyPath(dir)).size;
    const started = performance.now();
    const history = await readHistory(dir);
    const readMs = performance.now() - started;
    process.stdout.write(`history of a simulated 24 h run: ${run.events.toLocaleString()} events -> ${history.events.length.toLocaleString()} kept, ${(bytes / 1e6).toFixed(2)} MB, read in ${readMs.toFixed(0)} ms\n`);
    expect(bytes).toBeLessThan(5e6);
    expect(history.events.length).toBeLessThan(20_000);
    // Counts include the thinned samples; the bucket open at the kill is the only loss.
    expect(history.counts.batch).toBeLessThanOrEqual(run.batches);
    expect(history.counts.batch).toBeGreaterThan(run.batches - 1000);
    expect(history.counts.oom).toBe(run.ooms);
    expect(history.events.filter((e) => e.event.kind === 'session').map((e) => e.event.phase)).toEqual(['start', 'start', 'end']);
    // The chunks series still ends where the run ended.
    expect(Math.max(...history.events.filter((e) => e.event.kind === 'chunk').map((e) => Number(e.event.chunksDone)))).toBe(run.chunks);
  });

  it('keeps each worker’s extremes apart, so every worker’s line and last figures survive; bounded as with one', async () => {
    // Two workers in one bucket: w1's figures lie between w0's, and the bucket's run-wide extremes are all w0's.
    const dir = tempRun();
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 20; i += 1) {
      writer.record({ ...memory(i % 2 ? 1e8 : 9e9), worker: 'w0' }, t0 + i * 40);
      writer.record({ ...memory(5e8 + i), worker: 'w1' }, t0 + i * 40 + 10);
      writer.record({ kind: 'batch', docs: 8 + i, tokens: 100, padded: 120, ms: 5, peak: null, worker: 'w1' }, t0 + i * 40 + 20);
    }
    writer.close();
    const kept = (await readHistory(dir)).events.filter((e) => e.event.worker === 'w1');
    expect(kept.some((e) => e.event.kind === 'memory')).toBe(true);
    expect(kept.some((e) => e.event.kind === 'batch')).toBe(true);

    // Six hours of four workers in turn: the buckets are shared out, so the file stays within one worker's bound (buckets
    // kept between N and 2N: at most twice one worker's file at the same hour), and each worker's last figures near the end.
    const [one, day] = [tempRun(), tempRun()];
    simulateEmbedRun(one, { hours: 6 });
    simulateEmbedRun(day, { hours: 6, workers: 4 });
    expect(statSync(historyPath(day)).size).toBeLessThan(statSync(historyPath(one)).size * 2.5);
    const history = await readHistory(day);
    const buckets = new Set(history.events.filter((e) => e.event.kind === 'memory').map((e) => Math.floor(e.at / history.bucketMs)));
    expect(buckets.size).toBeLessThanOrEqual((2 * DEFAULT_LIMITS.bucketsMax) / 4);
    const end = Math.max(...history.events.map((e) => e.at));
    for (const worker of ['w0', 'w1', 'w2', 'w3'])
      for (const kind of ['memory', 'batch']) {
        const last = history.events.findLast((e) => e.event.kind === kind && e.event.worker === worker);
        expect(end - last!.at, `${worker}'s last ${kind}`).toBeLessThan(history.bucketMs * 2);
      }
  });

  it('compacts: buckets double in width and the middle marks go, the first and the latest stay', async () => {
    const dir = tempRun();
    const writer = new HistoryWriter(dir, EMBED_HISTORY_SAMPLES, { bucketsMax: 10, marksMax: 16, bucketMsMin: 1000 });
    for (let i = 0; i < 200; i += 1) {
      writer.record(memory(i === 123 ? 9e9 : 1e9 + i), i * 1000);
      writer.record({ kind: 'log', line: `mark ${i}` }, i * 1000 + 500);
    }
    writer.close();
    const history = await readHistory(dir);
    const memories = history.events.filter((e) => e.event.kind === 'memory');
    expect(new Set(memories.map((e) => Math.floor(e.at / history.bucketMs))).size).toBeLessThanOrEqual(20);
    expect(memories.map((e) => e.event.allocated)).toContain(9e9); // the spike survived every doubling
    const marks = history.events.filter((e) => e.event.kind === 'log').map((e) => String(e.event.line));
    expect(marks.length).toBeLessThanOrEqual(20);
    expect(marks[0]).toBe('mark 0');
    expect(marks.at(-1)).toBe('mark 199');
    expect(history.counts.log).toBe(200);
    expect(history.counts.memory).toBe(200);
  });

  it('parses what it wrote with appended lines by hand too (the format is plain JSON lines)', () => {
    const dir = tempRun();
    appendFileSync(historyPath(dir), `${JSON.stringify({ seq: 3, at: 5, event: { kind: 'paused' } })}\n${JSON.stringify({ seq: 1, at: 1, event: { kind: 'resumed' } })}\n`);
    const parsed = parseHistory(readFileSync(historyPath(dir), 'utf8'));
    expect(parsed.events.map((e) => e.seq)).toEqual([1, 3]);
    expect(parsed.lastSeq).toBe(3);
  });
});
