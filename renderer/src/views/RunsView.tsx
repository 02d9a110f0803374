import { Badge, Button, Group, Progress, Table, Text, Title } from '@mantine/core';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { bytes, dateTime } from '../format.ts';
import { useStore } from '../store/index.ts';
import { runRow } from '../store/runs.ts';
import { STATUS_COLOR } from './status.ts';

export function RunsView() {
  const runs = useStore((s) => s.runs);
  const show = useStore((s) => s.show);
  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={3}>Runs</Title>
        <Button onClick={() => show('new')}>New run</Button>
      </Group>
      {runs.length === 0 ? <Text c="dimmed">No runs yet. Start one with "New run": the demo corpus is filled in.</Text> : <RunsTable runs={runs} />}
    </>
  );
}

/** Every run, of any kind: the generic fields, and the kind's own words where this panel knows the kind. */
export function RunsTable({ runs }: { runs: readonly RunInfo[] }) {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const setError = useStore((s) => s.setError);
  const resume = (runId: string): void => {
    api?.resumeRun({ runId }).then(() => show('run', runId), (error: Error) => setError(error.message));
  };
  return (
    // The table scrolls inside its own box on a narrow window, never the page; badges keep their whole word.
    <Table.ScrollContainer minWidth={880}>
      <Table striped highlightOnHover verticalSpacing="xs" aria-label="Runs" style={{ whiteSpace: 'nowrap' }}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Run</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Progress</Table.Th>
            <Table.Th>Details</Table.Th>
            <Table.Th>Device</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th>On disk</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {runs.map((run) => runRow(run)).map((row) => (
            <Table.Tr key={row.run.runId} data-run={row.run.runId}>
              <Table.Td>
                <Button variant="subtle" size="compact-sm" onClick={() => show('run', row.run.runId)}>
                  {row.run.runId}
                </Button>
              </Table.Td>
              <Table.Td c={row.viewable ? undefined : 'orange'}>{row.kind}</Table.Td>
              <Table.Td>
                <Badge color={STATUS_COLOR[row.run.status]} variant="light" style={{ minWidth: 'max-content', overflow: 'visible' }}>
                  {row.run.status}
                </Badge>
              </Table.Td>
              <Table.Td miw={160}>
                <Progress value={row.percent} size="sm" aria-hidden />
                <Text size="xs" c="dimmed">
                  {row.progress}
                </Text>
              </Table.Td>
              <Table.Td style={{ whiteSpace: 'normal', maxWidth: 260, overflowWrap: 'anywhere' }}>
                <Text size="sm" lineClamp={2} c={row.viewable ? undefined : 'dimmed'}>
                  {row.details}
                </Text>
              </Table.Td>
              <Table.Td>{row.run.device ?? '—'}</Table.Td>
              <Table.Td>{dateTime(row.run.createdAt)}</Table.Td>
              <Table.Td>{bytes(row.run.diskBytes)}</Table.Td>
              <Table.Td>
                {row.resumable && (
                  <Button size="compact-sm" variant="light" onClick={() => resume(row.run.runId)}>
                    Resume run
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
