import { Badge, Button, Group, Progress, Table, Text, Title, Tooltip, VisuallyHidden } from '@mantine/core';
import type { KeyboardEvent, MouseEvent } from 'react';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { bytes, dateTime, seconds } from '../format.ts';
import { useStore } from '../store/index.ts';
import { LIVE, runRow, type RunRow } from '../store/runs.ts';
import { nameOf, progressLineOf, timingOf, unitsLine } from './facts.ts';
import { kindView } from './kinds.tsx';
import { STATUS_COLOR } from './status.ts';
import { useNow } from './useNow.ts';

export function RunsView() {
  const runs = useStore((s) => s.runs);
  const show = useStore((s) => s.show);
  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={1} size="h3">
          Runs
        </Title>
        <Button onClick={() => show('new')}>New run</Button>
      </Group>
      {runs.length === 0 ? <Text c="dimmed">No runs yet. Start one with "New run": the demo corpus is filled in.</Text> : <RunsTable runs={runs} />}
    </>
  );
}

/** Elapsed, and the ETA while running: the list's clock ticks only while some run works. */
function TimeCell({ run, now }: { run: RunInfo; now: number }) {
  const { elapsedS, etaS } = timingOf(run, now);
  return (
    <>
      <Text size="sm">{seconds(elapsedS)}</Text>
      {etaS !== null && (
        <Text size="xs" c="dimmed">
          {seconds(etaS)} left
        </Text>
      )}
    </>
  );
}

/** The kind's own words (every model of an ensemble), or the generic one-liner. */
function Details({ row }: { row: RunRow }) {
  const own = row.viewable ? kindView(row.run.kind)?.listDetails?.(row.run) : undefined;
  return (
    own ?? (
      <Text size="sm" c={row.viewable ? undefined : 'dimmed'}>
        {row.details}
      </Text>
    )
  );
}

/** Every run, of any kind: the generic fields, and the kind's own words where this panel knows the kind. */
export function RunsTable({ runs }: { runs: readonly RunInfo[] }) {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const setError = useStore((s) => s.setError);
  const connected = useStore((s) => s.connected);
  const now = useNow(runs.some((run) => LIVE.has(run.status)));
  const resume = (event: MouseEvent, runId: string): void => {
    event.stopPropagation(); // the row would open the run too
    api?.resumeRun({ runId }).then(() => show('run', runId), (error: Error) => setError(error.message));
  };
  const openOnKey = (event: KeyboardEvent, runId: string): void => {
    if (event.target !== event.currentTarget || (event.key !== 'Enter' && event.key !== ' ')) return;
    event.preventDefault();
    show('run', runId);
  };
  return (
    // The table scrolls inside its own box on a narrow window, never the page; badges keep their whole word.
    <Table.ScrollContainer minWidth={1000}>
      <Table striped highlightOnHover verticalSpacing="xs" aria-label="Runs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Run</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Progress</Table.Th>
            <Table.Th>Time</Table.Th>
            <Table.Th>Models</Table.Th>
            <Table.Th>Device</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th>On disk</Table.Th>
            <Table.Th>
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {runs.map((run) => runRow(run)).map((row) => {
            const { runId } = row.run;
            const name = nameOf(row.run);
            return (
              <Table.Tr
                key={runId}
                data-run={runId}
                tabIndex={0}
                aria-label={`Open run ${name ?? runId}, ${row.run.status}`}
                style={{ cursor: 'pointer' }}
                onClick={() => show('run', runId)}
                onKeyDown={(event) => openOnKey(event, runId)}
              >
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  <Text size="sm" fw={600} c="var(--mantine-color-anchor)">
                    {name ?? runId}
                  </Text>
                  {name && (
                    <Text size="xs" c="dimmed">
                      {runId}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td c={row.viewable ? undefined : 'var(--mantine-color-orange-light-color)'}>{row.kind}</Table.Td>
                <Table.Td>
                  {/* Badges never shrink: the column is as wide as the longest word. */}
                  <Badge color={STATUS_COLOR[row.run.status]} variant="light" opacity={connected ? 1 : 0.6} styles={{ root: { overflow: 'visible', flexShrink: 0 }, label: { overflow: 'visible', textOverflow: 'clip' } }}>
                    {row.run.status}
                  </Badge>
                </Table.Td>
                <Table.Td miw={150}>
                  <Progress value={row.percent} size="sm" aria-hidden />
                  <Tooltip label={unitsLine(row.run)} openDelay={300}>
                    <Text size="xs" c="dimmed">
                      {progressLineOf(row.run)}
                    </Text>
                  </Tooltip>
                </Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  <TimeCell run={row.run} now={now} />
                </Table.Td>
                <Table.Td miw={200} style={{ maxWidth: 300, overflowWrap: 'break-word' }}>
                  <Details row={row} />
                </Table.Td>
                <Table.Td>{row.run.device ?? '—'}</Table.Td>
                <Table.Td>{dateTime(row.run.createdAt)}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{bytes(row.run.diskBytes)}</Table.Td>
                <Table.Td>
                  {row.resumable && (
                    <Button size="compact-sm" variant="light" disabled={!connected} onClick={(event) => resume(event, runId)}>
                      Resume run
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
