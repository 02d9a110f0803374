/**
 * Benchmark (issue 10): the panel service's cost per chunk event on a run of
 * 10,000 chunks. Before, every chunk event re-read the run from disk (run.json,
 * the whole journal replayed, the folder walked: `info(runId)`); now the cached
 * RunInfo is folded forward from the event (RunInfoCache.apply) and the disk is
 * read only at a session's start and end. Both are timed side by side in one
 * process, alternating, on the same synthetic run folder (real files: 10,000
 * chunk .npy files and their journal records).
 *
 *   npm run bench:events -- [--chunks 10000] [--events 200] [--old /path/to/old/checkout]
 *
 * --old also times the previous tree's own RunManager.info (a checkout of an
 * older commit with node_modules), the code that ran on every chunk event then.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { EmbedEvent } from '../worker/src/contract/jobs/embed.js';
import { registerBuiltinJobs } from '../worker/src/jobs/builtin.js';
import { chunkFile, RUN_FORMAT, writeManifest, type RunManifest } from '../worker/src/jobs/embed/manifest.js';
import { RunInfoCache } from '../worker/src/panel/runInfo.js';
import { REPO_ROOT } from '../worker/src/runtimePaths.js';

const { values } = parseArgs({ options: { chunks: { type: 'string', default: '10000' }, events: { type: 'string', default: '200' }, old: { type: 'string' } } });
const CHUNKS = Number(values.chunks);
const EVENTS = Number(values.events);
const RUNS = join(REPO_ROOT, 'bench', 'out', 'panel-events');
const RUN_ID = 'embed-bench';
const DIM = 4;

/** A done-so-far embed run of CHUNKS one-row chunks, as a run folder on disk. */
function buildRun(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'chunks', 'm'), { recursive: true });
  const manifest: RunManifest = {
    format: RUN_FORMAT,
    kind: 'embed',
    createdAt: new Date().toISOString(),
    input: { path: join(dir, 'input.jsonl'), sha256: '0'.repeat(64), bytes: CHUNKS * 10, rows: CHUNKS },
    spec: {
      models: [{ model: 'bench-model', key: 'm', weight: 1, device: 'cpu' }],
      ensembleMode: 'simultaneous', aggregate: 'concat', chunkSize: 1, batchSize: 'auto', minBatch: 8, maxBatch: 512, maxBatchTokens: null,
      targetMemory: 0.85, vramLimitGiB: null, oomPolicy: 'fail', maxSeqLen: null, textField: 'text', idField: 'id', keepChunks: false, workers: null, vramWarning: 0.85, vramCritical: 0.95, onCritical: 'shrink',
    },
    models: [{ key: 'm', source: 'folder', sha256: '1'.repeat(64), files: 3, bytes: 1000 }],
    chunks: CHUNKS,
    versions: { headroom: 'bench', node: process.versions.node },
  };
  writeManifest(dir, manifest);
  const at = new Date().toISOString();
  const lines = [
    { type: 'run_created', at },
    { type: 'session_started', at, pid: process.pid, command: 'embed', pending: CHUNKS, recomputing: [] },
    { type: 'pass_started', at, model: 'm', source: 'folder', device: 'cpu', dim: DIM, maxSeqLen: 128, loaded: true, ms: 1, resident: 1, budgetKey: 'k', initialBudget: 512, budgetSource: 'probe' },
  ];
  const npy = Buffer.alloc(128 + DIM * 4);
  for (let index = 0; index < CHUNKS; index += 1) {
    const file = chunkFile('m', index);
    writeFileSync(join(dir, file), npy);
    const stats = { batches: 1, ooms: 0, realTokens: 10, paddedTokens: 12, oomTruncated: 0, cpuFallbacks: 0, encodeMs: 1, budget: 512 };
    lines.push({ type: 'chunk_done', at, model: 'm', index, rows: 1, dim: DIM, sha256: 'a'.repeat(64), file, truncated: 0, ms: 1, stats } as never);
  }
  writeFileSync(join(dir, 'journal.jsonl'), `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  registerBuiltinJobs();
  const dir = join(RUNS, RUN_ID);
  const t0 = performance.now();
  buildRun(dir);
  console.log(`built ${CHUNKS} chunks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const cache = new RunInfoCache((runId) => join(RUNS, runId));
  cache.refresh(RUN_ID);
  const event: EmbedEvent = { kind: 'chunk', model: 'm', index: CHUNKS - 1, chunksDone: CHUNKS, chunksTotal: CHUNKS, rowsDone: CHUNKS, rowsTotal: CHUNKS, ms: 1, budget: 512, fileBytes: 144, truncated: 0, cutToFit: 0, onCpu: 0 };
  let old: ((runId: string) => unknown) | undefined;
  if (values.old) {
    const { RunManager } = (await import(pathToFileURL(join(values.old, 'worker', 'src', 'service', 'runManager.ts')).href)) as { RunManager: new (o: object) => { info(id: string): unknown; close(): Promise<void> } };
    const manager = new RunManager({ runsDir: RUNS, monitorGpus: false });
    old = (runId) => manager.info(runId);
  }
  const reread: number[] = [];
  const folded: number[] = [];
  const before: number[] = [];
  const rereads = Math.max(3, Math.round(EVENTS / 20)); // a re-read costs ~10^4 times a fold: fewer of them, same medians
  for (let round = 0; round < rereads; round += 1) {
    let start = performance.now();
    cache.refresh(RUN_ID);
    reread.push(performance.now() - start);
    if (old) {
      start = performance.now();
      old(RUN_ID);
      before.push(performance.now() - start);
    }
    for (let i = 0; i < 20; i += 1) {
      start = performance.now();
      cache.apply(RUN_ID, event);
      folded.push(performance.now() - start);
    }
  }
  const fold = median(folded);
  const rows = [
    ['per chunk event, now (fold the event into the cached RunInfo)', fold, folded.length],
    ['per chunk event, before (re-read run.json + journal + folder walk, this tree)', median(reread), reread.length],
    ...(old ? [['per chunk event, before (the old tree\'s RunManager.info)', median(before), before.length] as const] : []),
  ] as const;
  console.log(`\n${CHUNKS} chunks, ${cpus()[0]?.model ?? 'cpu'} x ${cpus().length}, node ${process.version}`);
  for (const [what, ms, n] of rows) console.log(`${what.padEnd(84)} median ${ms.toFixed(4).padStart(10)} ms  (n=${n})  ${(ms / fold).toFixed(0)}x`);
}

await main();
