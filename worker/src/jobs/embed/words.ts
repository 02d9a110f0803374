/**
 * An embed run in the user's words: the phase line, the progress line and why it
 * failed. Pure: the status (from the journal), the panel's live fold (job.ts) and
 * the CLI's progress bar all word a run with these, so they say the same thing.
 */
import type { RunFailure } from '../../contract/runs.js';
import { count } from '../../contract/words.js';

export { count, duration } from '../../contract/words.js';

export interface ModelName {
  key: string;
  model: string;
}

/** "model 2 of 3 (all-MiniLM-L6-v2)"; a one-model run names its model alone. */
export function modelWords(models: readonly ModelName[], index: number): string {
  const name = models[index]?.model ?? '?';
  return models.length === 1 ? name : `model ${index + 1} of ${models.length} (${name})`;
}

export const loadingPhase = (models: readonly ModelName[], index: number): string => `loading ${modelWords(models, index)}`;

/** "encoding chunk 6 of 16"; a sequential ensemble adds which model. */
export function encodingPhase(chunk: number, chunksTotal: number, model?: { models: readonly ModelName[]; index: number }): string {
  const base = `encoding chunk ${Math.min(Math.max(chunk, 1), chunksTotal)} of ${chunksTotal}`;
  return model && model.models.length > 1 ? `${base} with ${modelWords(model.models, model.index)}` : base;
}

export const ASSEMBLING = 'assembling the outputs';
export const STARTING = 'starting the runtime';

/** "chunk 6 of 16 · 12,000/30,000 documents" while a chunk is worked on; "5 of 16 chunks · ..." otherwise. */
export function progressLine(p: { chunk: number | null; chunksDone: number; chunksTotal: number; documentsDone: number; documentsTotal: number }): string {
  const chunks = p.chunk === null ? `${p.chunksDone} of ${p.chunksTotal} chunks` : `chunk ${Math.min(p.chunk, p.chunksTotal)} of ${p.chunksTotal}`;
  return `${chunks} · ${count(p.documentsDone)}/${count(p.documentsTotal)} documents`;
}

/**
 * The phase of an interrupted run, from the reason its last session journaled;
 * null when it journaled none (the process that ran it ended without a word).
 */
export function interruptionPhase(reason: string | null): string {
  if (reason === null) return 'interrupted: the app exited';
  const why = reason.replace(/^run interrupted:\s*/, '');
  if (/^stopped by (a signal|SIG)/.test(why)) return 'stopped by you';
  if (/out of memory|MemoryError|OOM/i.test(why)) return 'interrupted: out of memory';
  if (/hung/.test(why)) return 'interrupted: the runtime hung';
  if (/no space left/.test(why)) return 'interrupted: the disk is full';
  if (/was killed by/.test(why)) return 'interrupted: the runtime was killed';
  if (/exited with code/.test(why)) return 'interrupted: the runtime exited';
  if (/outputs do not match/.test(why)) return 'interrupted: the outputs changed on disk';
  if (/changed before assembly/.test(why)) return 'interrupted: a chunk file changed';
  return `interrupted: ${firstSentence(why)}`;
}

/** The first clause of a message: up to its first `;`, `:`-free line, or full stop. */
function firstSentence(message: string): string {
  const line = message.split('\n')[0] ?? '';
  const cut = line.search(/;\s|\.\s/);
  return (cut === -1 ? line : line.slice(0, cut)).replace(/\.$/, '').trim();
}

/** CLI flags named in the user's words (the panel's form has no flags). */
const plain = (text: string): string =>
  text
    .replace(/`headroom resume [^`]*`/g, 'resume the run')
    .replace(/`/g, '')
    .replace(/--oom-policy (\w+)/g, 'OOM policy "$1"')
    .replace(/--max-seq-len/g, 'the max sequence length')
    .replace(/--max-batch-tokens/g, 'the max batch tokens')
    .replace(/--target-memory/g, 'the target memory')
    .replace(/--([a-z-]+)/g, (_, flag: string) => `the ${flag.replace(/-/g, ' ')} setting`);

const DEFAULT_FIX = 'fix what the message names, then resume the run (nothing done so far is lost)';

/** Why a run failed in one sentence, and what to do, from the message its session journaled. */
export function failureWords(message: string): RunFailure {
  const first = message.split('\n')[0] ?? '';
  if (/ran out of memory again after/.test(first)) {
    return {
      why: `${plain(firstSentence(first.replace(/:\s.*$/, '')))}.`,
      fix: 'lower the target memory or the max batch tokens, or set the OOM policy to "cpu" or "truncate", then resume the run',
    };
  }
  const split = first.indexOf('; ');
  const why = plain(split === -1 ? first : first.slice(0, split)).replace(/\.$/, '');
  const rest = split === -1 ? '' : plain(first.slice(split + 2)).trim();
  return { why: `${why}.`, fix: rest === '' ? DEFAULT_FIX : rest };
}

/** "failed: document "a" does not fit ..." (no full stop: it is a phase line). */
export const failedPhase = (failure: RunFailure): string => `failed: ${failure.why.replace(/\.$/, '')}`;
