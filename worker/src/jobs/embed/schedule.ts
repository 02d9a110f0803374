/**
 * The order of an ensemble's work. The unit is (model, chunk); a pass is one
 * model's share. simultaneous: every model's pass open, chunk i for all models
 * before chunk i+1. sequential: one pass at a time, the model released between
 * passes unless the next pass uses the same one. The mode may change at any step:
 * only the remaining work is reordered.
 */
import type { EnsembleMode } from '../../contract/protocol.js';
import type { ChunkPlan } from './chunks/planner.js';
import type { ModelEntry } from './manifest.js';

export type Step =
  | { kind: 'start'; entry: ModelEntry }
  | { kind: 'end'; entry: ModelEntry; release: boolean }
  | { kind: 'encode'; entry: ModelEntry; chunk: ChunkPlan }
  | { kind: 'none' };

/** Models that load the same weights onto the same device share one resident copy. */
const sameModel = (a: ModelEntry, b: ModelEntry): boolean => a.model === b.model && a.device === b.device;

/**
 * The next thing to send. `unsent` holds each model's chunks not yet handed out
 * (in chunk order); `open` the keys of passes started and not ended.
 */
export function nextStep(models: readonly ModelEntry[], unsent: ReadonlyMap<string, readonly ChunkPlan[]>, open: ReadonlySet<string>, mode: EnsembleMode): Step {
  const withWork = models.filter((entry) => (unsent.get(entry.key)?.length ?? 0) > 0);
  const wanted = mode === 'simultaneous' ? withWork : withWork.slice(0, 1);
  for (const entry of models) {
    if (open.has(entry.key) && !wanted.includes(entry)) {
      return { kind: 'end', entry, release: !wanted.some((next) => sameModel(next, entry)) };
    }
  }
  const closed = wanted.find((entry) => !open.has(entry.key));
  if (closed) return { kind: 'start', entry: closed };
  let best: { entry: ModelEntry; chunk: ChunkPlan } | undefined;
  for (const entry of wanted) {
    const chunk = unsent.get(entry.key)![0]!;
    if (!best || chunk.index < best.chunk.index) best = { entry, chunk };
  }
  return best ? { kind: 'encode', ...best } : { kind: 'none' };
}
