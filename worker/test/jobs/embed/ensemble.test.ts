import { describe, expect, it } from 'vitest';
import type { ChunkPlan } from '../../../src/jobs/embed/chunks/planner.js';
import { checkDims, combineRows, ensembleEntries, ensembleMode } from '../../../src/jobs/embed/ensemble.js';
import { nextStep, type Step } from '../../../src/jobs/embed/schedule.js';
import type { ModelEntry } from '../../../src/jobs/embed/manifest.js';

const entry = (key: string, model = key): ModelEntry => ({ model, key, weight: 1, device: 'cpu' });
const chunks = (n: number): ChunkPlan[] => Array.from({ length: n }, (_, index) => ({ index, start: index * 10, end: index * 10 + 10 }));

/** Runs the scheduler to the end, sending every step at once (as if the worker kept up). */
function drive(models: ModelEntry[], perModel: number, mode: 'simultaneous' | 'sequential', switchAfter?: number): string[] {
  const unsent = new Map(models.map((m) => [m.key, chunks(perModel)]));
  const open = new Set<string>();
  const log: string[] = [];
  let encodes = 0;
  let current = mode;
  for (let guard = 0; guard < 1000; guard += 1) {
    if (switchAfter !== undefined && encodes === switchAfter) current = 'sequential';
    const step: Step = nextStep(models, unsent, open, current);
    if (step.kind === 'none') return log;
    if (step.kind === 'start') open.add(step.entry.key);
    if (step.kind === 'end') open.delete(step.entry.key);
    if (step.kind === 'encode') {
      unsent.get(step.entry.key)!.shift();
      encodes += 1;
    }
    log.push(step.kind === 'encode' ? `${step.entry.key}${step.chunk.index}` : step.kind === 'end' ? `end ${step.entry.key}${step.release ? '' : ' keep'}` : `start ${step.entry.key}`);
  }
  throw new Error('the scheduler did not finish');
}

describe('scheduling (model, chunk) units', () => {
  const abc = [entry('a'), entry('b'), entry('c')];

  it('does chunk i for every model at once when simultaneous, closing each pass once its work is handed out', () => {
    expect(drive(abc, 2, 'simultaneous')).toEqual(['start a', 'start b', 'start c', 'a0', 'b0', 'c0', 'a1', 'end a', 'b1', 'end b', 'c1', 'end c']);
  });

  it('does one pass per model, releasing between passes, when sequential', () => {
    expect(drive(abc, 2, 'sequential')).toEqual(['start a', 'a0', 'a1', 'end a', 'start b', 'b0', 'b1', 'end b', 'start c', 'c0', 'c1', 'end c']);
  });

  it('keeps a model resident for the next pass that uses it', () => {
    const shared = [entry('a', 'same'), entry('b', 'same'), entry('c')];
    expect(drive(shared, 1, 'sequential')).toEqual(['start a', 'a0', 'end a keep', 'start b', 'b0', 'end b', 'start c', 'c0', 'end c']);
  });

  it('reorders only the remaining work when the mode changes', () => {
    const log = drive(abc, 2, 'simultaneous', 3);
    expect(log.filter((step) => /^[abc]\d$/.test(step))).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'c1']);
    expect(log.slice(log.indexOf('c0') + 1)).toEqual(['end b', 'end c', 'a1', 'end a', 'start b', 'b1', 'end b', 'start c', 'c1', 'end c']);
  });
});

describe('ensemble specs', () => {
  it('gives each model a unique key and equal default weights', () => {
    const models = ensembleEntries([{ model: 'org/m', device: 'cpu' }, { model: 'org/m', device: 'cpu' }, { model: 'x', device: 'auto' }], undefined);
    expect(models.map((m) => m.key)).toEqual(['org__m', 'org__m-2', 'x']);
    expect(models.map((m) => m.weight)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('refuses weights that do not match the models', () => {
    expect(() => ensembleEntries([{ model: 'a', device: 'cpu' }], [1, 2])).toThrow(/--weights has 2 value\(s\) but there are 1 model\(s\)/);
    expect(() => ensembleEntries([{ model: 'a', device: 'cpu' }], [-1])).toThrow(/must be from 0.000001 to 1000000/);
    expect(() => ensembleEntries([{ model: 'a', device: 'cpu' }], [Number.NaN])).toThrow(/must be a finite number/);
  });

  it('takes the mode from the flag, then the environment', () => {
    expect(ensembleMode(undefined, {})).toBe('simultaneous');
    expect(ensembleMode(undefined, { HEADROOM_ENSEMBLE_MODE: 'sequential' })).toBe('sequential');
    expect(ensembleMode('simultaneous', { HEADROOM_ENSEMBLE_MODE: 'sequential' })).toBe('simultaneous');
    expect(() => ensembleMode(undefined, { HEADROOM_ENSEMBLE_MODE: 'both' })).toThrow(/HEADROOM_ENSEMBLE_MODE is "both"/);
  });

  it('refuses mean over different dimensions, naming them', () => {
    expect(() => checkDims('mean', [{ key: 'a', dim: 384 }, { key: 'b', dim: 768 }])).toThrow(/differ \(a 384, b 768\)/);
    expect(() => checkDims('mean', [{ key: 'a', dim: 384 }, { key: 'b', dim: null }])).not.toThrow();
    expect(() => checkDims('concat', [{ key: 'a', dim: 384 }, { key: 'b', dim: 768 }])).not.toThrow();
  });

  it('normalises, weights, then concatenates or averages', () => {
    const a = Float32Array.from([3, 4, 0, 0]); // rows [3,4] and [0,0]
    const b = Float32Array.from([0, 2, 1, 0]);
    expect([...combineRows([a, b], [2, 2], [0.5, 2], 'concat', 2)]).toEqual([0.3, 0.4, 0, 2, 0, 0, 2, 0].map((v) => Math.fround(v)));
    expect([...combineRows([a, b], [2, 2], [1, 1], 'mean', 2)]).toEqual([0.3, 0.9, 0.5, 0].map((v) => Math.fround(v)));
    expect(combineRows([a], [2], [0.3], 'concat', 2)).toBe(a); // one model: its own vectors
  });
});
