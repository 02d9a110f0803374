/**
 * The VRAM guard's levels of a run, as its settings in force say them, and how the
 * run view marks what the guard, the leak detector and the workers' health reported.
 */
import type { EmbedSettingsInForce, OnCritical } from '../../../../worker/src/contract/jobs/embed.ts';
import type { Incident } from '../../store/embed.ts';

const GIB = 1024 ** 3;

export interface GuardLevels {
  warning: number;
  critical: number;
  onCritical: OnCritical;
}

/** The run's warning and critical levels (fractions) and its critical action, from its settings in force. */
export function guardLevels(settings: EmbedSettingsInForce): GuardLevels {
  return { warning: settings.vramWarning, critical: settings.vramCritical, onCritical: settings.onCritical };
}

/** What the levels are fractions of: the run's cap (--vram-limit) where it has one below the device, else the device. */
export function guardTotal(settings: EmbedSettingsInForce, deviceTotal: number | null): number | null {
  const cap = settings.vramLimitGiB === null ? null : settings.vramLimitGiB * GIB;
  if (cap === null) return deviceTotal;
  return deviceTotal === null ? cap : Math.min(cap, deviceTotal);
}

export const pct = (fraction: number): string => `${Math.round(fraction * 1000) / 10}%`;

/** Each kind's Mantine colour: a dot in the events list, a dashed mark on the memory chart. */
export const INCIDENT_COLOR: Record<Incident['kind'], string> = {
  warning: 'yellow',
  critical: 'red',
  leak: 'orange',
  recycle: 'orange',
  hung: 'grape',
  restarted: 'grape',
  given_up: 'red',
};
export const markColor = (kind: Incident['kind']): string => `var(--mantine-color-${INCIDENT_COLOR[kind]}-7)`;

export const INCIDENT_WORDS: Record<Incident['kind'], string> = {
  warning: 'VRAM warning',
  critical: 'VRAM critical',
  leak: 'leak warning',
  recycle: 'leak: recycled',
  hung: 'hung',
  restarted: 'restarted',
  given_up: 'given up',
};
