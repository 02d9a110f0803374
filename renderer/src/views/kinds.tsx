/** The kinds of job this panel has views for: the run page's body and the New run form, keyed by kind. */
import type { ComponentType, ReactNode } from 'react';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { EMBED_KIND } from '../../../worker/src/contract/jobs/embed.ts';
import { TRIALS_KIND } from '../../../worker/src/contract/jobs/trials.ts';
import { readEmbedRun } from '../store/embed.ts';
import { EmbedRunView } from './embed/EmbedRunView.tsx';
import { ModelList } from './embed/ModelList.tsx';
import { NewEmbedRunForm } from './embed/NewEmbedRunForm.tsx';
import { TRIALS_VIEW } from './trials/kindView.tsx';

export interface KindView {
  /** The words for the kind in the New run form's chooser. */
  label: string;
  /** The run's page; null when the run does not parse as this kind (the shell then shows it as unknown). */
  page(run: RunInfo): ReactNode | null;
  NewRun: ComponentType;
  /** What the runs list shows of the run in its Models column (every model of an ensemble); absent: the store's one-liner. */
  listDetails?(run: RunInfo): ReactNode;
}

export const KIND_VIEWS: Readonly<Record<string, KindView>> = {
  [EMBED_KIND]: {
    label: 'Embed a corpus',
    page: (run) => {
      const info = readEmbedRun(run);
      return info && <EmbedRunView run={info} />;
    },
    NewRun: NewEmbedRunForm,
    listDetails: (run) => {
      const info = readEmbedRun(run);
      return info && <ModelList models={info.models} mode={info.ensembleMode} />;
    },
  },
  [TRIALS_KIND]: TRIALS_VIEW,
};

export function kindView(kind: string): KindView | undefined {
  return Object.hasOwn(KIND_VIEWS, kind) ? KIND_VIEWS[kind] : undefined;
}
