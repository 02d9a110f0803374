/**
 * A run of several workers: each worker's device, state and latest figures (live while the run works, else the
 * last its history recorded); and what the guard and the workers' health reported.
 */
import { Badge, Card, ColorSwatch, Group, ScrollArea, Table, Text } from '@mantine/core';
import type { EmbedRunInfo, EmbedWorkerInfo } from '../../../../worker/src/contract/jobs/embed.ts';
import { bytes, clock } from '../../format.ts';
import { embedSeriesOf, workerFigures, type Incident, type RunSeries } from '../../store/embed.ts';
import { useStore } from '../../store/index.ts';
import { LIVE } from '../../store/runs.ts';
import { guardLevels, INCIDENT_WORDS, markColor, pct } from './guard.ts';

const STATE_WORDS: Record<EmbedWorkerInfo['state'], string> = { starting: 'starting', working: 'running', restarting: 'restarting', given_up: 'given up', done: 'done', stopped: 'stopped' };
const STATE_COLOR: Record<EmbedWorkerInfo['state'], string> = { starting: 'gray', working: 'blue', restarting: 'grape', given_up: 'red', done: 'green', stopped: 'gray' };

/** Under a column's name, when its figures are not live: "at end" or "last known" (a second line: the table stays narrow). */
function When({ live, when }: { live: boolean; when: string }) {
  return live ? null : (
    <Text span display="block" size="xs" c="dimmed" fw={400}>
      {when}
    </Text>
  );
}

export function WorkersCard({ run }: { run: EmbedRunInfo & { workers: EmbedWorkerInfo[] } }) {
  const workerVram = useStore((s) => embedSeriesOf(s, run.runId).workerVram);
  const workerBatch = useStore((s) => embedSeriesOf(s, run.runId).workerBatch);
  const workerPeak = useStore((s) => embedSeriesOf(s, run.runId).workerPeak);
  return <WorkersPart workers={run.workers} series={{ workerVram, workerBatch, workerPeak }} live={LIVE.has(run.status)} done={run.status === 'done'} />;
}

/** The card itself: `series` gives each worker's last recorded figures, shown (and said to be) when the run is not live. */
export function WorkersPart({ workers, series, live, done }: { workers: EmbedWorkerInfo[]; series: Pick<RunSeries, 'workerVram' | 'workerBatch' | 'workerPeak'>; live: boolean; done: boolean }) {
  const when = done ? 'at end' : 'last known';
  return (
    <Card withBorder padding="sm" component="section" aria-label="Workers">
      <Text fw={600} size="sm" mb={live ? 'xs' : 0}>
        Workers
      </Text>
      {!live && (
        <Text size="xs" c="dimmed" mb="xs">
          {done ? 'Memory and batch size at the run’s end' : 'The run is not running: memory and batch size as last known'}: each worker’s last recorded figures, from the run’s history.
        </Text>
      )}
      <ScrollArea type="auto">
        <Table aria-label="Workers" fz="sm" verticalSpacing={4} style={{ whiteSpace: 'nowrap' }}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Worker</Table.Th>
              <Table.Th>Device</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>PID</Table.Th>
              <Table.Th>
                Memory <When live={live} when={when} />
              </Table.Th>
              <Table.Th>Peak</Table.Th>
              <Table.Th>
                Batch <When live={live} when={when} />
              </Table.Th>
              <Table.Th>Budget</Table.Th>
              <Table.Th>Units done</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {workers.map((w) => {
              const figures = workerFigures(w, series, live);
              const recorded = figures.recordedAt === null ? undefined : `recorded at ${clock(figures.recordedAt)}`;
              return (
                <Table.Tr key={w.id} data-worker={w.id} data-state={w.state} data-units={w.chunksDone} data-recorded-at={figures.recordedAt ?? undefined}>
                  <Table.Td>{w.id}</Table.Td>
                  <Table.Td>{w.device ?? 'the models’ own'}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Badge size="sm" variant="light" color={STATE_COLOR[w.state]} style={{ flexShrink: 0 }}>
                        {STATE_WORDS[w.state]}
                      </Badge>
                      {w.restarts > 0 && (
                        <Text span size="xs" c="dimmed">
                          restarted {w.restarts}×
                        </Text>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>{w.pid ?? '—'}</Table.Td>
                  <Table.Td title={recorded}>{bytes(figures.allocated)}</Table.Td>
                  <Table.Td>{bytes(figures.peak)}</Table.Td>
                  <Table.Td title={recorded}>{figures.batchDocs === null ? '—' : `${figures.batchDocs} docs`}</Table.Td>
                  <Table.Td>{w.budget === null ? '—' : `${Math.round(w.budget).toLocaleString()} tok`}</Table.Td>
                  <Table.Td>{w.chunksDone.toLocaleString()}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Card>
  );
}

/** The guard's levels, and each warning, action, leak warning, hang and restart the run reported (from its history). */
export function GuardCard({ run }: { run: EmbedRunInfo }) {
  const incidents = useStore((s) => embedSeriesOf(s, run.runId).incidents);
  return <GuardPart run={run} incidents={incidents} />;
}

export function GuardPart({ run, incidents }: { run: EmbedRunInfo; incidents: readonly Incident[] }) {
  const levels = guardLevels(run.settings);
  return (
    <Card withBorder padding="sm" component="section" aria-label="VRAM guard and worker health">
      <Text fw={600} size="sm">
        VRAM guard and worker health
      </Text>
      <Text size="xs" c="dimmed" mb="xs" data-levels={`${levels.warning} ${levels.critical} ${levels.onCritical}`}>
        Warning at {pct(levels.warning)}, critical at {pct(levels.critical)} of {run.settings.vramLimitGiB === null ? 'the device' : `the ${run.settings.vramLimitGiB} GiB cap`}; at critical: {levels.onCritical === 'shrink' ? 'shrink the budget and release cached memory' : 'pause the run'}.
      </Text>
      {incidents.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing reported: no level crossed, no leak, no worker hung or restarted.
        </Text>
      ) : (
        <ScrollArea h={incidents.length > 6 ? 200 : undefined} type="auto" viewportProps={{ tabIndex: 0 }} aria-label="Guard and health events">
          <Table aria-label="Guard and health events" fz="xs" verticalSpacing={2}>
            <Table.Tbody>
              {incidents.map((incident, i) => (
                <Table.Tr key={`${incident.t}-${i}`} data-kind={incident.kind} data-worker={incident.worker ?? ''}>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>{clock(incident.t)}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'nowrap' }}>
                    <Group gap={6} wrap="nowrap">
                      <ColorSwatch size={8} color={markColor(incident.kind)} withShadow={false} aria-hidden />
                      <Text span size="xs" fw={600}>
                        {INCIDENT_WORDS[incident.kind]}
                      </Text>
                    </Group>
                  </Table.Td>
                  <Table.Td>{incident.worker ?? ''}</Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{incident.words}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Card>
  );
}
