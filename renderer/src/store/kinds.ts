/** The kinds of job this panel has a slice for. A kind not here is listed as "unknown kind X"; its events are dropped. */
import { EMBED_KIND } from '../../../worker/src/contract/jobs/embed.ts';
import { embedStore } from './embed.ts';
import { TRIALS_KIND } from '../../../worker/src/contract/jobs/trials.ts';
import { trialsStore } from './trials.ts';
import type { KindStore } from './types.ts';

export const KIND_STORES: Readonly<Record<string, KindStore>> = { [EMBED_KIND]: embedStore, [TRIALS_KIND]: trialsStore };

export function kindStore(kind: string): KindStore | undefined {
  return Object.hasOwn(KIND_STORES, kind) ? KIND_STORES[kind] : undefined;
}
