/**
 * The panel's state (zustand, slices pattern): the generic slice and one slice
 * per kind of job. Live series are bounded windows (a day of 1 Hz samples each);
 * the journal on disk holds the rest of a run's history.
 */
import { create } from 'zustand';
import { createCoreSlice } from './core.ts';
import { createEmbedSlice } from './embed.ts';
import { KIND_STORES } from './kinds.ts';
import { createTrialsSlice } from './trials.ts';
import type { Store } from './types.ts';

export const useStore = create<Store>()((...a) => ({
  ...createCoreSlice(KIND_STORES)(...a),
  ...createEmbedSlice(...a),
  ...createTrialsSlice(...a),
}));

export { WINDOW, type View } from './core.ts';
export type { Store } from './types.ts';
