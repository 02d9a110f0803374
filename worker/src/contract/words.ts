/**
 * How numbers and times read, the same in the CLI, `headroom status` and the panel
 * (the renderer imports this too): "12,000", "1 h 02 min", "4.2 s".
 */

/** 12000 -> "12,000". */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A duration in the largest units that matter: "850 ms", "4.2 s", "3 min 05 s", "1 h 02 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  const two = (v: number): string => String(v).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)} min ${two(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${two(Math.floor((s % 3600) / 60))} min`;
}

/** Elapsed time now: the ended sessions' time plus the one running since `sessionStartedAt`. */
export const elapsedNow = (info: { elapsedMs: number; sessionStartedAt: string | null }, now = Date.now()): number =>
  info.elapsedMs + (info.sessionStartedAt === null ? 0 : Math.max(0, now - Date.parse(info.sessionStartedAt)));

/** "12.3 docs/s": a rate with its unit (small ones keep two decimals, so a slow run never reads "0"), or a dash when there is none yet. */
export function perSecond(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : value < 100 ? 1 : 0 })} ${unit}/s`;
}

/** The first clause of a message: its first line, up to its first "; " or ". " (describeExit's dangling "; its last log lines:" goes too). */
export function firstSentence(message: string): string {
  const line = message.split('\n')[0] ?? '';
  const cut = line.search(/;\s|\.\s/);
  return (cut === -1 ? line : line.slice(0, cut)).replace(/\.$/, '').trim();
}
