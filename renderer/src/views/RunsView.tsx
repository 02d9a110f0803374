import { Badge, Button, Group, Progress, Table, Text, Title } from '@mantine/core';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { bytes, dateTime } from '../format.ts';
import { useStore } from '../store.ts';

export const STATUS_COLOR: Record<RunInfo['status'], string> = {
  created: 'gray',
  running: 'blue',
  paused: 'yellow',
  interrupted: 'orange',
  failed: 'red',
  done: 'green',
};

export function RunsView() {
  const runs = useStore((s) => s.runs);
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const setError = useStore((s) => s.setError);
  const resume = (runId: string): void => {
    api?.resumeRun({ runId }).then(() => show('run', runId), (error: Error) => setError(error.message));
  };
  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={3}>Runs</Title>
        <Button onClick={() => show('new')}>New run</Button>
      </Group>
      {runs.length === 0 ? (
        <Text c="dimmed">No runs yet. Start one with "New run": the demo corpus is filled in.</Text>
      ) : (
        <Table striped highlightOnHover verticalSpacing="xs" aria-label="Runs" style={{ whiteSpace: 'nowrap' }}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Run</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Progress</Table.Th>
              <Table.Th>Models</Table.Th>
              <Table.Th>Device</Table.Th>
              <Table.Th>Started</Table.Th>
              <Table.Th>On disk</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.map((run) => (
              <Table.Tr key={run.runId} data-run={run.runId}>
                <Table.Td>
                  <Button variant="subtle" size="compact-sm" onClick={() => show('run', run.runId)}>
                    {run.runId}
                  </Button>
                </Table.Td>
                <Table.Td>{run.kind}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[run.status]} variant="light">
                    {run.status}
                  </Badge>
                </Table.Td>
                <Table.Td miw={160}>
                  <Progress value={run.chunksTotal ? (100 * run.chunksDone) / run.chunksTotal : 0} size="sm" aria-hidden />
                  <Text size="xs" c="dimmed">
                    {run.chunksDone}/{run.chunksTotal} units · {run.rowsTotal.toLocaleString()} docs
                  </Text>
                </Table.Td>
                <Table.Td style={{ whiteSpace: 'normal' }}>
                  <Text size="sm" lineClamp={2}>
                    {run.models.join(', ')}
                  </Text>
                </Table.Td>
                <Table.Td>{run.device ?? '—'}</Table.Td>
                <Table.Td>{dateTime(run.createdAt)}</Table.Td>
                <Table.Td>{bytes(run.diskBytes)}</Table.Td>
                <Table.Td>
                  {(run.status === 'interrupted' || run.status === 'failed') && (
                    <Button size="compact-sm" variant="light" onClick={() => resume(run.runId)}>
                      Resume run
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
