/** The trials kind as the panel shows it: its run page and its New run form (views/kinds.tsx lists it). */
import type { RunInfo } from '../../../../worker/src/contract/api.ts';
import { readTrialsRun } from '../../store/trials.ts';
import type { KindView } from '../kinds.tsx';
import { NewSweepForm } from './NewSweepForm.tsx';
import { TrialsRunView } from './TrialsRunView.tsx';

export const TRIALS_VIEW: KindView = {
  label: 'Sweep hyperparameters',
  page: (run: RunInfo) => {
    const info = readTrialsRun(run);
    return info && <TrialsRunView run={info} />;
  },
  NewRun: NewSweepForm,
};
