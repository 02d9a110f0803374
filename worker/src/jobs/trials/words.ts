/**
 * A sweep in the user's words: the phase, the progress line, a trial's result.
 * Pure: the status (from the journal), the panel's live fold and the CLI's
 * reporter word a sweep with these, so they say the same thing.
 */
import type { FamilySummary } from '../../contract/jobs/trials.js';
import type { RunFailure } from '../../contract/runs.js';
import type { TrialResult, TrialsFamily } from '../../contract/trialsProtocol.js';
import { count, duration, firstSentence } from '../../contract/words.js';

export const STARTING = 'starting the runtime';
export const OPENING = 'opening the study';
export const FINISHING = 'finishing the sweep';

/**
 * "training 8 trials at once · 12 of 20 done"; one at a time says so. A sweep that
 * names families says which one trains: "xgboost: 2 workers · 23 of 60 done",
 * "nn: training 8 trials at once · 2 of 60 done".
 */
export function trainingPhase(concurrency: number, done: number, total: number, family?: TrialsFamily): string {
  const nn = concurrency === 1 ? 'training 1 trial at a time' : `training ${count(concurrency)} trials at once`;
  const how = family === undefined ? nn : family === 'nn' ? `nn: ${nn}` : `${family}: ${concurrency === 1 ? '1 worker' : `${count(concurrency)} workers`}`;
  return `${how} · ${count(Math.min(done, total))} of ${count(total)} done`;
}

/** A value as the table shows it: four decimals (r2 and auc live in [-inf, 1]). */
export const metricValue = (value: number): string => (Math.abs(value) >= 1000 ? value.toExponential(3) : value.toFixed(4));

/** Whether a sweep's words name the family of a trial: every sweep but one of the NN family alone (worded as before families existed). */
export const namesFamilies = (families: readonly TrialsFamily[] | undefined): boolean => families !== undefined && (families.length > 1 || families[0] !== 'nn');

/** "xgboost trial 7"; "trial 7" of an NN trial unless named (a sweep of several families names every family). */
export const trialName = (family: TrialsFamily | undefined, number: number, named = family !== undefined && family !== 'nn'): string =>
  named && family !== undefined ? `${family} trial ${number}` : `trial ${number}`;

/** "12 of 20 trials · best r2 0.9123 (trial 7)"; "… · no result yet" before the first; "(xgboost trial 3)" when the sweep names families. */
export function progressLine(p: { done: number; total: number; metric: string | null; best: { family?: TrialsFamily; number: number; value: number } | null; named?: boolean }): string {
  const trials = `${count(p.done)} of ${count(p.total)} trials`;
  if (p.best === null) return `${trials} · no result yet`;
  return `${trials} · best ${p.metric ?? 'value'} ${metricValue(p.best.value)} (${trialName(p.best.family, p.best.number, p.named)})`;
}

/** "hidden 64-32, lr 0.0012, weight_decay 1.2e-5, dropout 0.1": a trial's parameters in one line. */
export function paramsLine(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key} ${typeof value === 'number' ? (Number.isInteger(value) ? String(value) : Number(value.toPrecision(3)).toString()) : String(value)}`)
    .join(', ');
}

/** "trial 3 complete: r2 0.8123 in 42 epochs (1.2 s)" / "xgboost trial 3 complete: r2 0.8 in 120 rounds (0.3 s)" / "trial 4 failed: <why>". */
export function trialLine(result: TrialResult, metric: string | null, of?: { done: number; total: number }, named?: boolean): string {
  const name = `${trialName(result.family, result.number, named)}${of ? ` (${count(of.done)} of ${count(of.total)})` : ''}`;
  if (result.state === 'failed') return `${name} failed: ${result.message ?? 'no reason given'}`;
  const value = result.value === null ? 'no value' : `${metric ?? 'value'} ${metricValue(result.value)}`;
  const steps = result.family === 'nn' ? 'epochs' : 'rounds';
  return `${name} ${result.state}: ${value} in ${count(result.epochs)} ${steps} (${(result.ms / 1000).toFixed(1)} s)`;
}

/** Bytes in the unit that reads best: "26 KiB", "12.0 MiB", "1.50 GiB". */
export const bytesWords = (bytes: number): string =>
  bytes < 1024 ** 2 ? `${Math.ceil(bytes / 1024)} KiB` : bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/** "12.0 MiB" (measured) or "~12.0 MiB" (the estimate), "8 KiB" below a MiB, "1.5 GiB" from a GiB; a dash when unknown. */
export function peakWords(bytes: number | null, source: FamilySummary['peakSource']): string {
  return bytes === null ? '—' : `${source === 'estimate' ? '~' : ''}${bytesWords(bytes)}`;
}

/** Lines of text laid out in columns (each as wide as its widest cell), the first line a header. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * The families side by side, ranked (the status's and the CLI summary's comparison):
 * family, rank, best value, trials, ms per trial, peak memory, the family's time; with
 * params, the best trial's parameters last.
 */
export function familyTable(families: readonly FamilySummary[], metric: string | null, options: { params?: boolean } = {}): string[] {
  const ordered = [...families].sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity));
  const header = ['family', 'rank', `best ${metric ?? 'value'}`, 'trials', 'ms/trial', 'peak', 'time', ...(options.params ? ['best params'] : [])];
  const rows = ordered.map((f) => [
    f.family,
    f.rank === null ? '—' : String(f.rank),
    f.best === null ? '—' : `${metricValue(f.best.value)} (#${f.best.number})`,
    `${count(f.trialsDone)}/${count(f.trialsTotal)}${f.failed > 0 ? ` (${count(f.failed)} failed)` : ''}`,
    f.msPerTrial === null ? '—' : count(f.msPerTrial),
    peakWords(f.peakBytes, f.peakSource),
    duration(f.elapsedMs),
    ...(options.params ? [f.best === null ? '—' : paramsLine(f.best.params)] : []),
  ]);
  return columns([header, ...rows]);
}

/** The phase of an interrupted sweep, from the reason its last session journaled (null: the process ended without a word). */
export function interruptionPhase(reason: string | null): string {
  if (reason === null) return 'interrupted: the app exited';
  const why = reason.replace(/^run interrupted:\s*/, '');
  if (/^stopped by (a signal|SIG)/.test(why)) return 'stopped by you';
  if (/hung/.test(why)) return 'interrupted: the runtime hung';
  if (/no space left/.test(why)) return 'interrupted: the disk is full';
  if (/was killed by/.test(why)) return 'interrupted: the runtime was killed';
  if (/exited with code/.test(why)) return 'interrupted: the runtime exited';
  return `interrupted: ${firstSentence(why)}`;
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
