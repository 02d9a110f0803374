/**
 * The store's shape: one generic slice (core.ts) and one slice per kind of job
 * (embed.ts, ...), composed in index.ts (zustand's slices pattern).
 */
import type { StateCreator } from 'zustand';
import type { RunEvent, RunHistory, RunInfo } from '../../../worker/src/contract/api.ts';
import type { CoreSlice } from './core.ts';
import type { EmbedSlice } from './embed.ts';
import type { TrialsSlice } from './trials.ts';

export type Store = CoreSlice & EmbedSlice & TrialsSlice;

export type SliceCreator<T> = StateCreator<Store, [], [], T>;

/** What a kind of job gives the runs list: its own words for a run (its RunInfo read with its schema). */
export interface RunWords {
  /** One line on what the run does (embed: its models). */
  details: string;
  /** Said after the units in the progress column (embed: "600 docs"); null for nothing. */
  progressNote: string | null;
}

/** A kind's part of the store: how its runs read in the list, and where its events go. */
export interface KindStore {
  /** Null when the run does not parse as this kind's RunInfo (it is then listed as unreadable). */
  describe(run: RunInfo): RunWords | null;
  /** Hands one of this kind's events to its slice; false when the event failed its kind's schema and was dropped. */
  onEvent(store: Store, event: RunEvent): boolean;
  /** Replaces a run's series with the ones its history rebuilds (the view opened, reloaded or reconnected). */
  rebuild(store: Store, history: RunHistory): void;
}
