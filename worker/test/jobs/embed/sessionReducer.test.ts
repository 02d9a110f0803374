import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type EnsembleMode, type RuntimeEvent, type RuntimeToEngine } from '../../../src/contract/protocol.js';
import type { ChunkPlan } from '../../../src/jobs/embed/chunks/planner.js';
import type { EmbedSpec, ModelEntry, ModelIdentity } from '../../../src/jobs/embed/manifest.js';
import type { ChunkRecord, JournalRecord } from '../../../src/jobs/embed/records.js';
import { cacheKeyToLookUp, openSession, step, type SessionEffect, type SessionInput, type SessionState } from '../../../src/jobs/embed/sessionReducer.js';

const RUN = '/runs/r1';
const SHA = 'ab'.repeat(32);
const entry = (key: string, model = key): ModelEntry => ({ model, key, weight: 1, device: 'cpu' });
const chunks = (n: number): ChunkPlan[] => Array.from({ length: n }, (_, index) => ({ index, start: index * 10, end: index * 10 + 10 }));

function spec(models: ModelEntry[], overrides: Partial<EmbedSpec> = {}): EmbedSpec {
  return {
    models,
    ensembleMode: 'simultaneous',
    aggregate: 'concat',
    chunkSize: 10,
    batchSize: 'auto',
    minBatch: 1,
    maxBatch: 64,
    maxBatchTokens: null,
    targetMemory: 0.8,
    vramLimitGiB: null,
    oomPolicy: 'fail',
    maxSeqLen: null,
    textField: 'text',
    idField: 'id',
    keepChunks: false,
    vramWarning: 0.85,
    vramCritical: 0.95,
    onCritical: 'shrink',
    workers: null,
    ...overrides,
  };
}

interface Options {
  models?: ModelEntry[];
  perModel?: number;
  mode?: EnsembleMode;
  spec?: Partial<EmbedSpec>;
  done?: ChunkRecord[];
  records?: JournalRecord[];
  teachBudgets?: boolean;
}

/** A session of `perModel` chunks per model (10 rows each), none done, before the runtime is ready. */
function session(options: Options = {}): SessionState {
  const models = options.models ?? [entry('a'), entry('b')];
  const perModel = options.perModel ?? 2;
  const rows = perModel * 10 + 10 * (options.done?.length ?? 0);
  const identities: ModelIdentity[] = models.map((m) => ({ key: m.key, source: 'folder', sha256: SHA, files: 3, bytes: 100 }));
  const pending = models.flatMap((m) => chunks(perModel).map((chunk) => ({ entry: m, chunk })));
  return openSession(
    {
      runDir: RUN,
      spec: spec(models, options.spec),
      identities,
      corpus: { ids: Array.from({ length: rows }, (_, i) => `doc${i}`), texts: Array.from({ length: rows }, (_, i) => `text ${i}`) },
      unitsTotal: pending.length + (options.done?.length ?? 0),
      pid: 4242,
      teachBudgets: options.teachBudgets ?? true,
      worker: 'w0',
      device: null,
    },
    pending,
    options.done ?? [],
    options.records ?? [],
    options.mode ?? 'simultaneous',
    { start: null, peak: null, end: null, resident: null },
  );
}

const ready: RuntimeEvent<'ready'> = { type: 'ready', protocol: PROTOCOL_VERSION, pid: 4242, python: '3.12', torch: '2.5', sentenceTransformers: '3.0', cuda: false, devices: [] };

const described = (state: SessionState, dims: Record<string, number | null> = {}, sha = SHA): RuntimeEvent<'described'> => ({
  type: 'described',
  models: state.config.spec.models.map((m) => ({ modelKey: m.key, source: 'folder', dim: dims[m.key] ?? 8, weightBytes: 100, fingerprint: { sha256: sha, files: 3, bytes: 100 } })),
});

const passStarted = (model: string, dim = 8): RuntimeEvent<'pass_started'> => ({
  type: 'pass_started',
  model,
  name: model,
  source: 'folder',
  device: 'cpu',
  deviceName: 'cpu',
  dtype: 'float32',
  dim,
  maxSeqLen: 128,
  capacity: null,
  free: null,
  loaded: true,
  ms: 5,
  resident: 1000,
});

const passCompleted = (model: string): RuntimeEvent<'pass_completed'> => ({ type: 'pass_completed', model, device: 'cpu', ms: 9, rows: 20, peak: null, residentPeak: 1500, released: true });

const chunkDone = (model: string, index: number, budget = 512): RuntimeEvent<'chunk_done'> => ({
  type: 'chunk_done',
  pass: model,
  index,
  rows: 10,
  dim: 8,
  sha256: SHA,
  truncated: 0,
  ms: 3,
  stats: { batches: 1, ooms: 0, realTokens: 50, paddedTokens: 60, oomTruncated: 0, cpuFallbacks: 0, encodeMs: 2, budget },
});

const runtimeError = (code: RuntimeEvent<'error'>['code'], fatal: boolean, document: RuntimeEvent<'error'>['document'] = null): RuntimeEvent<'error'> => ({ type: 'error', code, message: `${code} happened`, fatal, document });

/** Feeds inputs in order, returning the last state and every effect. */
function run(state: SessionState, ...inputs: (SessionInput | RuntimeToEngine)[]): { state: SessionState; effects: SessionEffect[] } {
  const effects: SessionEffect[] = [];
  for (const input of inputs) {
    const next = step(state, 'type' in input ? { kind: 'event', event: input } : input);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const start = (state: SessionState, paused = false): SessionInput => ({ kind: 'ready', ready, oomPolicy: state.config.spec.oomPolicy, paused });

/** The effects in short: what is sent, journaled, reported, and how the session ends. */
function brief(effects: SessionEffect[]): string[] {
  return effects.map((effect) => {
    switch (effect.kind) {
      case 'send': {
        const message = effect.message;
        if (message.type === 'encode') return `encode ${message.spec.modelKey}${message.chunks[0]!.index}`;
        if (message.type === 'pass_start') return `pass_start ${message.spec.modelKey}`;
        if (message.type === 'pass_end') return `pass_end ${message.modelKey}${message.release ? '' : ' keep'}`;
        return message.type;
      }
      case 'journal':
        return `journal ${effect.record.type}`;
      case 'report':
        return `report ${effect.progress.kind}`;
      case 'report_chunk':
        return `report chunk ${effect.progress.model}${effect.progress.index}`;
      default:
        return effect.kind;
    }
  });
}

/** A session with every pass open and loaded, and two units handed out (a0 and b0 for models a and b). */
function working(options: Options = {}): SessionState {
  const state = session(options);
  return run(state, start(state), described(state), ...state.config.spec.models.map((m) => passStarted(m.key))).state;
}

describe('a runtime session (the reducer)', () => {
  it('on ready: journals and shows the runtime, sets the policy, pauses if paused, asks to describe, and opens no pass before', () => {
    const state = session();
    expect(brief(step(state, start(state)).effects)).toEqual(['journal worker_ready', 'report runtime', 'set_policy', 'describe']);
    const paused = step(state, start(state, true));
    expect(brief(paused.effects)).toEqual(['journal worker_ready', 'report runtime', 'set_policy', 'pause', 'describe']);
    expect(paused.effects[2]).toEqual({ kind: 'send', message: { type: 'set_policy', oomPolicy: 'fail' } });
    expect(paused.state.open.size).toBe(0);
  });

  it('opens every pass once described, and hands out units two ahead as the passes load', () => {
    const state = session();
    const { state: describedState, effects } = run(state, start(state), described(state));
    expect(brief(effects).slice(-2)).toEqual(['pass_start a', 'pass_start b']);
    expect(brief(step(describedState, { kind: 'event', event: passStarted('a') }).effects)).toEqual(['journal pass_started', 'report pass', 'memory', 'encode a0']);
    const loaded = run(describedState, passStarted('a'), passStarted('b'));
    expect(brief(loaded.effects).filter((e) => e.startsWith('encode'))).toEqual(['encode a0', 'encode b0']);
    expect(loaded.state.inFlight.map((unit) => `${unit.entry.key}${unit.chunk.index}`)).toEqual(['a0', 'b0']);
    const encode = loaded.effects.find((e) => e.kind === 'send' && e.message.type === 'encode');
    expect(encode).toMatchObject({ message: { chunks: [{ index: 0, texts: Array.from({ length: 10 }, (_, i) => `text ${i}`), path: join(RUN, 'chunks', 'a', 'chunk-000000.npy') }] } });
  });

  it('on chunk_done: journals the unit, remembers its budget, reports it, then sends the next and closes a pass whose work is handed out', () => {
    const { state, effects } = run(working(), chunkDone('a', 0, 700));
    expect(brief(effects)).toEqual(['journal chunk_done', 'remember_budget', 'report chunk a0', 'encode a1', 'pass_end a']);
    expect(effects[0]).toMatchObject({ record: { type: 'chunk_done', model: 'a', index: 0, rows: 10, file: join('chunks', 'a', 'chunk-000000.npy') } });
    expect(effects[1]).toEqual({ kind: 'remember_budget', key: state.plans.get('a')!.budgetKey, budget: 700 });
    expect(effects[2]).toMatchObject({ file: join('chunks', 'a', 'chunk-000000.npy'), progress: { chunksDone: 1, chunksTotal: 4, rowsDone: 10, rowsTotal: 40, budget: 700, fileBytes: 0 } });
    expect(state.inFlight.map((unit) => `${unit.entry.key}${unit.chunk.index}`)).toEqual(['b0', 'a1']);
    expect([...state.closing]).toEqual(['a']);
    // a pass of a opened again starts from the budget this unit ended on, not the cache
    expect(cacheKeyToLookUp(working(), passStarted('a'))).not.toBeNull();
    expect(cacheKeyToLookUp(state, passStarted('a'))).toBeNull();
  });

  it('counts units done in earlier sessions, and teaches no budget under injected faults or fixed batches', () => {
    const earlier: ChunkRecord = { type: 'chunk_done', at: 't', model: 'a', index: 9, rows: 10, dim: 8, sha256: SHA, file: 'f', truncated: 0, ms: 1, stats: chunkDone('a', 9).stats };
    const counted = run(working({ done: [earlier] }), chunkDone('a', 0)).effects;
    expect(counted.find((e) => e.kind === 'report_chunk')).toMatchObject({ progress: { chunksDone: 2, chunksTotal: 5, rowsDone: 20 } });
    expect(brief(run(working({ teachBudgets: false }), chunkDone('a', 0)).effects)).not.toContain('remember_budget');
    const fixed = working({ spec: { batchSize: 16 } });
    expect(brief(run(fixed, chunkDone('a', 0)).effects)).not.toContain('remember_budget');
  });

  it('picks a pass first budget from this run, then the per-user cache, then a probe (fixed batches: none)', () => {
    const probe = session({ models: [entry('a')] });
    const described1 = run(probe, start(probe), described(probe)).state;
    expect(cacheKeyToLookUp(described1, passStarted('a'))).toMatch(/^a\|abababababababab\|float32\|cpu\|len128\|cpu$/);
    const passOf = (state: SessionState, cachedBudget: number | null): unknown => step(state, { kind: 'event', event: passStarted('a'), cachedBudget }).effects[0];
    expect(passOf(described1, null)).toMatchObject({ record: { initialBudget: null, budgetSource: 'probe' } });
    expect(passOf(described1, 300)).toMatchObject({ record: { initialBudget: 300, budgetSource: 'cache' } });
    const oom: JournalRecord = { type: 'oom', at: 't', model: 'a', chunk: 0, kind: 'oom', docs: 4, tokens: 100, budget: 222, action: 'retry' };
    const resumed = session({ models: [entry('a')], records: [oom] });
    const described2 = run(resumed, start(resumed), described(resumed)).state;
    expect(cacheKeyToLookUp(described2, passStarted('a'))).toBeNull();
    expect(passOf(described2, 300)).toMatchObject({ record: { initialBudget: 222, budgetSource: 'run' } });
    const encode = run(described2, passStarted('a')).effects.find((e) => e.kind === 'send' && e.message.type === 'encode');
    expect(encode).toMatchObject({ message: { batching: { mode: 'auto', initialBudget: 222 } } });
    const fixed = session({ models: [entry('a')], spec: { batchSize: 16 }, records: [oom] });
    const described3 = run(fixed, start(fixed), described(fixed)).state;
    expect(cacheKeyToLookUp(described3, passStarted('a'))).toBeNull();
    expect(passOf(described3, 300)).toMatchObject({ record: { initialBudget: null, budgetSource: 'fixed' } });
  });

  it('in sequential mode closes one pass before opening the next, and is done only once the last pass completed', () => {
    const state = session({ mode: 'sequential', perModel: 1 });
    const { effects } = run(state, start(state), described(state), passStarted('a'), chunkDone('a', 0), passCompleted('a'), passStarted('b'), chunkDone('b', 0));
    const log = brief(effects).filter((e) => /^(pass_|encode|done)/.test(e));
    expect(log).toEqual(['pass_start a', 'encode a0', 'pass_end a', 'pass_start b', 'encode b0', 'pass_end b']);
    const last = run(state, start(state), described(state), passStarted('a'), chunkDone('a', 0), passCompleted('a'), passStarted('b'), chunkDone('b', 0), passCompleted('b'));
    expect(brief(last.effects).at(-1)).toBe('done');
    expect(brief(last.effects).filter((e) => e === 'done')).toHaveLength(1);
  });

  it('with several workers: a pass whose units other workers took before it loaded ends, and the session is done', () => {
    const state = session({ perModel: 1 });
    const opened = run(state, start(state), described(state)).state;
    // The run's queue drained by the other workers between this worker's pass_start and its pass_started.
    const drained = step({ ...opened, unsent: new Map([['a', []], ['b', []]]) }, { kind: 'mode', ensembleMode: 'simultaneous' });
    expect(brief(drained.effects)).toEqual(['pass_end a', 'pass_end b']);
    const { effects } = run(drained.state, passStarted('a'), passStarted('b'), passCompleted('a'), passCompleted('b'));
    expect(brief(effects).filter((e) => /^(encode|fail|done)/.test(e))).toEqual(['done']);
  });

  it('re-plans only the remaining work when the mode changes mid-run', () => {
    const changed = step(working(), { kind: 'mode', ensembleMode: 'sequential' });
    expect(brief(changed.effects)).toEqual(['pass_end b']);
    expect(changed.state.mode).toBe('sequential');
    const { effects } = run(changed.state, passCompleted('b'), chunkDone('a', 0));
    expect(brief(effects).filter((e) => /^(pass_|encode)/.test(e))).toEqual(['encode a1', 'pass_end a', 'pass_start b']);
  });

  it('fails on a fatal error (naming a document too large), logs a non-fatal one, and asks for a fresh runtime on recycle', () => {
    const state = working();
    const fatal = step(state, { kind: 'event', event: runtimeError('encode_failed', true) });
    expect(fatal.effects).toHaveLength(1);
    expect(fatal.effects[0]).toMatchObject({ kind: 'fail', error: { kind: 'internal', message: 'encode_failed happened' } });
    const tooLarge = step(state, { kind: 'event', event: runtimeError('document_too_large', true, { chunk: 0, row: 3, tokens: 9000 }) });
    expect(tooLarge.effects[0]).toMatchObject({ kind: 'fail', error: { kind: 'bad_input', message: expect.stringMatching(/^document "doc3" \(input row 4, 9000 tokens\) does not fit in memory alone with model a;/) } });
    expect(step(state, { kind: 'event', event: runtimeError('bad_message', false) }).effects[0]).toEqual({ kind: 'report', progress: { kind: 'log', line: 'runtime: bad_message happened' } });
    // with room for a unit, neither a failure nor a recycle hands one out
    const room = { ...state, inFlight: state.inFlight.slice(1) };
    expect(brief(step(room, { kind: 'event', event: { type: 'log', level: 'info', message: 'hi' } }).effects)).toEqual(['report log', 'encode a1', 'pass_end a']);
    expect(step(room, { kind: 'event', event: runtimeError('encode_failed', true) }).effects.map((e) => e.kind)).toEqual(['fail']);
    const recycle = step(room, { kind: 'event', event: runtimeError('recycle', true) });
    expect(recycle.effects).toEqual([{ kind: 'recycle', reason: 'recycle happened' }]);
  });

  it('fails, changing nothing, on a chunk it did not hand out, a model that is not the run\'s, or dimensions mean cannot join', () => {
    const state = working();
    for (const wrong of [chunkDone('b', 0), chunkDone('a', 1), { ...chunkDone('a', 0), rows: 9 }]) {
      const next = step(state, { kind: 'event', event: wrong });
      expect(next.effects).toEqual([{ kind: 'fail', error: expect.objectContaining({ kind: 'internal', message: expect.stringMatching(/^runtime reported an unexpected chunk: /) }) }]);
      expect(next.state).toBe(state);
    }
    const fresh = session();
    const readyState = run(fresh, start(fresh)).state;
    expect(step(readyState, { kind: 'event', event: described(fresh, {}, 'cd'.repeat(32)) }).effects[0]).toMatchObject({ kind: 'fail', error: { kind: 'bad_input', message: expect.stringMatching(/is not the one this run started with/) } });
    const mean = session({ spec: { aggregate: 'mean' } });
    const meanReady = run(mean, start(mean)).state;
    expect(step(meanReady, { kind: 'event', event: described(mean, { a: 8, b: 16 }) }).effects[0]).toMatchObject({ kind: 'fail', error: { message: expect.stringMatching(/differ \(a 8, b 16\)/) } });
    const unknownDim = run(mean, start(mean), described(mean, { a: 8, b: null }), passStarted('a'), chunkDone('a', 0)).state;
    expect(step(unknownDim, { kind: 'event', event: passStarted('b', 16) }).effects[0]).toMatchObject({ kind: 'fail', error: { message: expect.stringMatching(/differ \(a 8, b 16\)/) } });
  });

  it('fails, changing nothing, on a pass it did not open or close (a runtime out of step would stall the session)', () => {
    const state = working();
    for (const [wrong, says] of [
      [passCompleted('a'), /pass_completed for a, a pass the Engine did not close/],
      [passStarted('zz'), /pass_started for zz, a pass the Engine did not open/],
    ] as const) {
      const next = step(state, { kind: 'event', event: wrong });
      expect(next.effects).toEqual([{ kind: 'fail', error: expect.objectContaining({ kind: 'internal', message: expect.stringMatching(says) }) }]);
      expect(next.state).toBe(state);
    }
  });

  it('on an exit: a hung runtime leaves the units it held to redo (and its tmp files to remove); any other exit interrupts the run', () => {
    const state = working();
    const hung = step(state, { kind: 'exit', exit: { reason: 'hung', code: undefined, signal: 'SIGKILL', stderrTail: [], silentMs: 1500, timeoutMs: 1000 }, aborted: false });
    expect(hung.effects).toEqual([
      {
        kind: 'hung',
        silentMs: 1500,
        timeoutMs: 1000,
        unit: state.inFlight[0],
        tmpFiles: [`${join(RUN, 'chunks', 'a', 'chunk-000000.npy')}.tmp-4242`, `${join(RUN, 'chunks', 'b', 'chunk-000000.npy')}.tmp-4242`],
      },
    ]);
    const crashed = step(state, { kind: 'exit', exit: { reason: 'crashed', code: 1, signal: undefined, stderrTail: ['boom'] }, aborted: false });
    expect(crashed.effects[0]).toMatchObject({ kind: 'fail', error: { kind: 'interrupted', message: 'run interrupted: the Python runtime exited with code 1; its last log lines:\n  boom' } });
    const stopped = step(state, { kind: 'exit', exit: { reason: 'killed', code: undefined, signal: 'SIGKILL', stderrTail: [] }, aborted: true });
    expect(stopped.effects[0]).toMatchObject({ kind: 'fail', error: { message: 'run interrupted: stopped by a signal' } });
  });

  it('journals an OOM against the unit in hand, so a pass opened again starts from that budget; keeps the memory figures', () => {
    const state = working({ models: [entry('a')], perModel: 3 });
    const oom: RuntimeToEngine = { type: 'oom', kind: 'oom', docs: 8, tokens: 400, budget: 150, action: 'retry' };
    const { state: after, effects } = run(state, oom);
    expect(effects).toEqual([
      { kind: 'journal', record: { type: 'oom', model: 'a', chunk: 0, kind: 'oom', docs: 8, tokens: 400, budget: 150, action: 'retry' } },
      { kind: 'report', progress: { kind: 'oom', model: 'a', chunk: 0, docs: 8, tokens: 400, budget: 150, action: 'retry' } },
    ]);
    expect(cacheKeyToLookUp(after, passStarted('a'))).toBeNull();
    const memory = run(after, { type: 'memory', allocated: 100, reserved: 200, free: 50, total: 300, peak: 180 }, { type: 'memory', allocated: 120, reserved: 200, free: 40, total: 300, peak: 150 });
    expect(memory.state.memory).toEqual({ start: 100, end: 120, peak: 180, resident: 1000 });
    expect(memory.effects.filter((e) => e.kind === 'memory').at(-1)).toEqual({ kind: 'memory', figures: { start: 100, end: 120, peak: 180, resident: 1000 } });
  });
});
