/** Numbers with their units, the same way everywhere. */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const gib = value / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(2)} GiB` : `${(value / 1024 ** 2).toFixed(1)} MiB`;
}

export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value < 60) return `${value.toFixed(1)} s`;
  const minutes = Math.floor(value / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(value % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const clock = (t: number): string => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

export const dateTime = (iso: string): string => new Date(iso).toLocaleString([], { hour12: false });
