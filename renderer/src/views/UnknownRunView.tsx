import { Alert, Stack, Text } from '@mantine/core';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import type { RunRow } from '../store/runs.ts';
import { DiskCard, RunErrors, RunHeader } from './runParts.tsx';

/** A run this panel cannot show (a kind it does not know, or run info that does not fit its kind): what is known of it. */
export function UnknownRunView({ row }: { row: RunRow }) {
  const run: RunInfo = row.run;
  return (
    <Stack>
      <RunHeader run={run} subtitle={row.kind} />
      <Alert color="orange" title={row.kind}>
        <Text size="sm">
          {run.known ? 'This panel has no view for this run.' : 'This Headroom does not know this kind of job: it lists the run, it cannot run or show it.'} {run.unitsDone}/
          {run.unitsTotal} {run.unit} done.
        </Text>
      </Alert>
      <RunErrors run={run} />
      <DiskCard run={run} holds="its journal and outputs" removes="everything in its folder" />
    </Stack>
  );
}
