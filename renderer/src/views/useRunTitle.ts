/** The tab's title says the state of the open run ("42% running · my-run — Headroom"), so a background tab tells it too. */
import { useEffect } from 'react';
import { useStore } from '../store/index.ts';
import { nameOf, percentOf } from './facts.ts';

const VIEW_TITLES = { runs: 'Runs', new: 'New run', run: 'Run', gpus: 'GPUs', doctor: 'Doctor' } as const;

export function useRunTitle(): void {
  const view = useStore((s) => s.view);
  const connected = useStore((s) => s.connected);
  const run = useStore((s) => (s.view === 'run' ? s.runs.find((r) => r.runId === s.selected) : undefined));
  const title = run ? `${run.status === 'running' ? `${Math.floor(percentOf(run))}% ` : ''}${run.status} · ${nameOf(run) ?? run.runId}` : VIEW_TITLES[view];
  const full = `${connected ? '' : '(offline) '}${title} — Headroom`;
  useEffect(() => {
    document.title = full;
  }, [full]);
}
