/** Numbers with their units, the same way everywhere. */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const gib = value / 1024 ** 3;
  if (gib >= 1) return `${gib.toFixed(2)} GiB`;
  // Small files (ids.txt) in KiB or bytes, never "0.0 MiB".
  if (value >= 1024 ** 2) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${value} B`;
}

export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value < 60) return `${value.toFixed(1)} s`;
  const minutes = Math.floor(value / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(value % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const clock = (t: number): string => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

export const dateTime = (iso: string): string => new Date(iso).toLocaleString([], { hour12: false });

/** Rates read as the CLI and `headroom status` write them. */
export { perSecond } from '../../worker/src/contract/words.ts';

/** "42%": a share of a whole, whole percents except near the ends (0.4%, 99.6%). */
export function percent(part: number, whole: number): string {
  if (!whole) return '—';
  const share = (100 * part) / whole;
  return `${share > 0 && share < 1 ? share.toFixed(1) : share > 99 && share < 100 ? share.toFixed(1) : Math.round(share)}%`;
}

/** A count with its noun, singular or plural ("1 chunk", "16 chunks"). */
export const count = (n: number, noun: string, plural = `${noun}s`): string => `${n.toLocaleString()} ${n === 1 ? noun : plural}`;
