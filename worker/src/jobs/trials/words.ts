/**
 * A sweep in the user's words: the phase, the progress line, a trial's result.
 * Pure: the status (from the journal), the panel's live fold and the CLI's
 * reporter word a sweep with these, so they say the same thing.
 */
import type { RunFailure } from '../../contract/runs.js';
import type { TrialResult } from '../../contract/trialsProtocol.js';
import { count } from '../../contract/words.js';

export const STARTING = 'starting the runtime';
export const OPENING = 'opening the study';
export const FINISHING = 'finishing the sweep';

/** "training 8 trials at once · 12 of 20 done"; one at a time says so. */
export function trainingPhase(concurrency: number, done: number, total: number): string {
  const how = concurrency === 1 ? 'training 1 trial at a time' : `training ${count(concurrency)} trials at once`;
  return `${how} · ${count(Math.min(done, total))} of ${count(total)} done`;
}

/** A value as the table shows it: four decimals (r2 and auc live in [-inf, 1]). */
export const metricValue = (value: number): string => (Math.abs(value) >= 1000 ? value.toExponential(3) : value.toFixed(4));

/** "12 of 20 trials · best r2 0.9123 (trial 7)"; "… · no result yet" before the first. */
export function progressLine(p: { done: number; total: number; metric: string | null; best: { number: number; value: number } | null }): string {
  const trials = `${count(p.done)} of ${count(p.total)} trials`;
  if (p.best === null) return `${trials} · no result yet`;
  return `${trials} · best ${p.metric ?? 'value'} ${metricValue(p.best.value)} (trial ${p.best.number})`;
}

/** "hidden 64-32, lr 0.0012, weight_decay 1.2e-5, dropout 0.1": a trial's parameters in one line. */
export function paramsLine(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key} ${typeof value === 'number' ? (Number.isInteger(value) ? String(value) : Number(value.toPrecision(3)).toString()) : String(value)}`)
    .join(', ');
}

/** "trial 3 complete: r2 0.8123 in 42 epochs (1.2 s)" / "trial 4 failed: <why>". */
export function trialLine(result: TrialResult, metric: string | null): string {
  if (result.state === 'failed') return `trial ${result.number} failed: ${result.message ?? 'no reason given'}`;
  const value = result.value === null ? 'no value' : `${metric ?? 'value'} ${metricValue(result.value)}`;
  return `trial ${result.number} ${result.state}: ${value} in ${count(result.epochs)} epochs (${(result.ms / 1000).toFixed(1)} s)`;
}

/** The first clause of a message: up to its first "; " or ". ". */
const firstClause = (message: string): string => {
  const line = message.split('\n')[0] ?? '';
  const cut = line.search(/;\s|\.\s/);
  return (cut === -1 ? line : line.slice(0, cut)).replace(/\.$/, '').trim();
};

/** The phase of an interrupted sweep, from the reason its last session journaled (null: the process ended without a word). */
export function interruptionPhase(reason: string | null): string {
  if (reason === null) return 'interrupted: the app exited';
  const why = reason.replace(/^run interrupted:\s*/, '');
  if (/^stopped by (a signal|SIG)/.test(why)) return 'stopped by you';
  if (/hung/.test(why)) return 'interrupted: the runtime hung';
  if (/no space left/.test(why)) return 'interrupted: the disk is full';
  if (/was killed by/.test(why)) return 'interrupted: the runtime was killed';
  if (/exited with code/.test(why)) return 'interrupted: the runtime exited';
  return `interrupted: ${firstClause(why)}`;
}

const DEFAULT_FIX = 'fix what the message names, then resume the run (finished trials are kept)';

/** Why a sweep failed in one sentence, and what to do, from the message its session journaled (CLI words made plain). */
export function failureWords(message: string): RunFailure {
  const first = (message.split('\n')[0] ?? '').replace(/`headroom resume [^`]*`/g, 'resume the run').replace(/`/g, '');
  const split = first.indexOf('; ');
  const why = (split === -1 ? first : first.slice(0, split)).replace(/\.$/, '');
  const rest = split === -1 ? '' : first.slice(split + 2).trim();
  return { why: `${why}.`, fix: rest === '' ? DEFAULT_FIX : rest };
}

/** "failed: <why>" (no full stop: it is a phase line). */
export const failedPhase = (failure: RunFailure): string => `failed: ${failure.why.replace(/\.$/, '')}`;
