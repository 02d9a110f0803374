/**
 * An embed run in the user's words: the phase line, the progress line and why it
 * failed. Pure: the status (from the journal), the panel's live fold (job.ts) and
 * the CLI's progress bar all word a run with these, so they say the same thing.
 */
import type { RunFailure } from '../../contract/runs.js';
import { count, firstSentence } from '../../contract/words.js';

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

const pct = (used: number, total: number): string => `${Math.round((used / Math.max(1, total)) * 100)}%`;
const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/**
 * "memory at 96% of 16.00 GiB (critical level) in m chunk 3: batches halved to 2048 tokens, cached memory released".
 * `chunk` is the journal's index (0-based), said 1-based as the progress line says it.
 */
export function vramLevelLine(e: { model: string; chunk: number; level: 'warning' | 'critical'; used: number; total: number; action: 'warn' | 'shrink' | 'pause'; budget: number | null }): string {
  const what = { warn: 'nothing done below the critical level', shrink: `batches halved to ${e.budget ?? '?'} tokens, cached memory released`, pause: 'the run pauses' }[e.action];
  return `memory at ${pct(e.used, e.total)} of ${gib(e.total)} (${e.level} level) in ${e.model} chunk ${e.chunk + 1}: ${what}`;
}

/** "memory leak suspected in m: the baseline rises 20.1 MB per chunk over 8 chunks (+160.3 MB); a fresh runtime takes over". */
export function leakLine(e: { model: string; slopeMB: number; driftMB: number; units: number; recycle: boolean }): string {
  const base = `memory leak suspected in ${e.model}: the baseline after clean-up rises ${e.slopeMB.toFixed(1)} MB per chunk over ${e.units} chunks (+${e.driftMB.toFixed(1)} MB in all)`;
  return e.recycle ? `${base}; past the limit, a fresh runtime takes over between chunks` : base;
}

/** What the VRAM guard and the leak detector did, as `headroom status` lists it (runStatus.ts reads it from the journal). */
export interface GuardIncident {
  at: string;
  kind: 'warning' | 'critical' | 'leak' | 'recycle';
  worker: string | null;
  /** The CLI's line for it (vramLevelLine, leakLine; a recycle: "a fresh runtime took over: <reason>"). */
  words: string;
}

const GUARD_LINES = 5;

/** The `guard` lines of `headroom status`: counts, then the latest few incidents (none: no lines). */
export function guardLines(incidents: readonly GuardIncident[]): string[] {
  if (incidents.length === 0) return [];
  const said = (kind: GuardIncident['kind'], one: string, many = one): string[] => {
    const n = incidents.filter((incident) => incident.kind === kind).length;
    return n === 0 ? [] : [`${n} ${n === 1 ? one : many}`];
  };
  const counts = [...said('warning', 'memory warning', 'memory warnings'), ...said('critical', 'at the critical level'), ...said('leak', 'leak warning', 'leak warnings'), ...said('recycle', 'fresh runtime', 'fresh runtimes')];
  const shown = incidents.slice(-GUARD_LINES);
  const earlier = incidents.length - shown.length;
  return [
    `guard    ${counts.join(', ')}`,
    ...shown.map((incident) => `         ${incident.worker === null ? '' : `${incident.worker}: `}${incident.words}`),
    ...(earlier > 0 ? [`         (${earlier} earlier: \`headroom status --json\` lists them all)`] : []),
  ];
}

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
  if (/at the critical level/.test(why)) return 'interrupted: memory reached the critical level';
  if (/out of memory|MemoryError/i.test(why) || /\bOOM\b/.test(why)) return 'interrupted: out of memory';
  if (/hung/.test(why)) return 'interrupted: the runtime hung';
  if (/no space left/.test(why)) return 'interrupted: the disk is full';
  if (/was killed by/.test(why)) return 'interrupted: the runtime was killed';
  if (/exited with code/.test(why)) return 'interrupted: the runtime exited';
  if (/outputs do not match/.test(why)) return 'interrupted: the outputs changed on disk';
  if (/changed before assembly/.test(why)) return 'interrupted: a chunk file changed';
  return `interrupted: ${firstSentence(why)}`;
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
