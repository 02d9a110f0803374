/** The run page's shell: finds the selected run and hands it to its kind's view; a run no view can show is shown as such. */
import { Stack, Text, Title } from '@mantine/core';
import { Fragment, type ReactNode } from 'react';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { useStore } from '../store/index.ts';
import { runRow } from '../store/runs.ts';
import { kindView } from './kinds.tsx';
import { UnknownRunView } from './UnknownRunView.tsx';

/** The page for one run: its kind's view, or the unknown-run page when no view here can show it. */
export function runPage(run: RunInfo): ReactNode {
  const row = runRow(run);
  const page = row.viewable ? kindView(run.kind)?.page(run) : null;
  return page ?? <UnknownRunView row={row} />;
}

export function RunPage() {
  const run = useStore((s) => s.runs.find((r) => r.runId === s.selected));
  // Keyed by run: another run's page is a fresh tree, so no chart shows the last run's points while the new ones draw.
  return run ? (
    <Fragment key={run.runId}>{runPage(run)}</Fragment>
  ) : (
    <Stack>
      <Title order={1} size="h3">
        Run view
      </Title>
      <Text c="dimmed">Choose a run from the list.</Text>
    </Stack>
  );
}
