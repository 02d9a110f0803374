/**
 * A sweep's page: the shared header and controls (pause, resume, stop, "Resume run"),
 * the best trial so far and the engine in force, "Trial progress", the live loss
 * curves, memory and concurrency on the run's time axis, the trials table, and a
 * summary card once done.
 */
import { Card, Code, Group, ScrollArea, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useMemo } from 'react';
import type { TrialsRunInfo } from '../../../../worker/src/contract/jobs/trials.ts';
import type { TrialResult } from '../../../../worker/src/contract/trialsProtocol.ts';
import { TimeAxisToggle } from '../../charts/TimeAxisToggle.tsx';
import { TimeChart } from '../../charts/TimeChart.tsx';
import { bytes, clock, count, seconds } from '../../format.ts';
import { useStore } from '../../store/index.ts';
import { bestOf, paramsLine, sweepOf } from '../../store/trials.ts';
import { CopyButton } from '../CopyButton.tsx';
import { FailureCard } from '../embed/RunSummary.tsx';
import { DiskCard, RunControls, RunHeader, RunProgress } from '../runParts.tsx';
import { useNow } from '../useNow.ts';
import { LossCurvesChart, TrialProgressChart } from './charts.tsx';
import { TrialsTable } from './TrialsTable.tsx';

const MIB = 1024 ** 2;

const metricName = (metric: string | null): string => (metric === 'r2' ? 'R²' : metric === 'auc' ? 'AUC' : (metric ?? 'value'));

/** The best trial: the run's own record, or the best of the trials seen here (whichever is newer). */
function useBest(run: TrialsRunInfo): { number: number; value: number; params: TrialResult['params'] } | null {
  const results = useStore((s) => sweepOf(s, run.runId).results);
  return useMemo(() => {
    const seen = bestOf(results);
    if (seen && (!run.best || seen.value! >= run.best.value)) return { number: seen.number, value: seen.value!, params: seen.params };
    return run.best;
  }, [results, run.best]);
}

function SweepProgress({ run }: { run: TrialsRunInfo }) {
  const engine = useStore((s) => sweepOf(s, run.runId).engine);
  const best = useBest(run);
  const metric = metricName(run.metric);
  return (
    <RunProgress run={run}>
      <Text size="sm" aria-label="Best so far">
        {best ? (
          <>
            best {metric} <b>{best.value.toFixed(4)}</b>, trial {best.number}: {paramsLine(best.params)}
          </>
        ) : (
          'no trial finished yet'
        )}
      </Text>
      <Text size="sm" c="dimmed" aria-label="Engine">
        {engine
          ? `${engine.engine} engine, ${count(engine.concurrency, 'member')} at once on ${engine.device}: ${engine.why}`
          : run.engine
            ? `${run.engine} engine${run.concurrency ? `, ${count(run.concurrency, 'member')} at once` : ''}`
            : `engine ${run.settings.engine}, concurrency ${run.settings.concurrency}`}
      </Text>
    </RunProgress>
  );
}

function Running({ runId }: { runId: string }) {
  const running = useStore((s) => sweepOf(s, runId).running);
  const live = useStore((s) => s.runs.some((r) => r.runId === runId && r.status === 'running'));
  const now = useNow(live);
  if (running.length === 0) return null;
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Running now
      </Text>
      <Table aria-label="Running trials" fz="sm" verticalSpacing={2}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Trial</Table.Th>
            <Table.Th>Params</Table.Th>
            <Table.Th>Members</Table.Th>
            <Table.Th>For</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {running.map((r) => (
            <Table.Tr key={r.number}>
              <Table.Td>{r.number}</Table.Td>
              <Table.Td>{paramsLine(r.params)}</Table.Td>
              <Table.Td>{r.members}</Table.Td>
              <Table.Td>{seconds(Math.max(0, now - r.startedAt) / 1000)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function Charts({ run }: { run: TrialsRunInfo }) {
  const { runId } = run;
  const results = useStore((s) => sweepOf(s, runId).results);
  const curves = useStore((s) => sweepOf(s, runId).curves);
  const vram = useStore((s) => sweepOf(s, runId).vram);
  const ooms = useStore((s) => sweepOf(s, runId).ooms);
  const concurrency = useStore((s) => sweepOf(s, runId).concurrency);
  const trialsTotal = useStore((s) => sweepOf(s, runId).trialsTotal) ?? run.trialsTotal;
  const caption = run.device === 'cpu' ? 'process memory (CPU run)' : run.device ? `${run.device} allocated` : undefined;
  return (
    <>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <TrialProgressChart results={results} metric={metricName(run.metric)} trialsTotal={trialsTotal} />
        <LossCurvesChart curves={curves} />
      </SimpleGrid>
      <Group justify="flex-end">
        <TimeAxisToggle />
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <TimeChart label="VRAM" unit="MiB" runId={runId} points={vram} scale={MIB} marks={ooms} caption={caption} />
        <TimeChart label="Concurrency" unit="members" runId={runId} points={concurrency} step integer color="var(--mantine-color-grape-6)" caption="members trained at once" />
      </SimpleGrid>
    </>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600}>
        {value}
      </Text>
    </div>
  );
}

/** A done sweep: its best trial, that trial's params and metrics, the files it wrote, its time. */
function SweepSummary({ run }: { run: TrialsRunInfo }) {
  const runDir = useStore((s) => sweepOf(s, run.runId).runDir);
  const results = useStore((s) => sweepOf(s, run.runId).results);
  const best = useMemo(() => bestOf(results), [results]);
  const failed = results.filter((r) => r.state === 'failed').length;
  const files = runDir ? ['trials.jsonl', 'study.db'].map((name) => ({ name, path: `${runDir}${runDir.includes('\\') ? '\\' : '/'}${name}` })) : [];
  return (
    <Card withBorder padding="sm" aria-label="Summary">
      <Text fw={600} size="sm" mb="xs">
        Done: {count(run.trialsDone, 'trial')}
        {best ? `, best ${metricName(run.metric)} ${best.value!.toFixed(4)} (trial ${best.number})` : ''}
      </Text>
      {best && (
        <Table aria-label="Best trial" fz="sm" verticalSpacing={2} mb="sm">
          <Table.Tbody>
            {Object.entries(best.params).map(([key, value]) => (
              <Table.Tr key={key}>
                <Table.Th scope="row" fw={400} c="dimmed" w="30%">
                  {key}
                </Table.Th>
                <Table.Td>{String(value)}</Table.Td>
              </Table.Tr>
            ))}
            {Object.entries(best.metrics).map(([key, value]) => (
              <Table.Tr key={`m-${key}`}>
                <Table.Th scope="row" fw={400} c="dimmed">
                  {key}
                </Table.Th>
                <Table.Td>{value.toPrecision(6)}</Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr>
              <Table.Th scope="row" fw={400} c="dimmed">
                epochs
              </Table.Th>
              <Table.Td>
                {best.epochs} (best at {best.bestEpoch}), seed {best.seed}
              </Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      )}
      {files.length > 0 && (
        <Table aria-label="Sweep files" fz="sm" verticalSpacing={4} mb="sm">
          <Table.Tbody>
            {files.map((file) => {
              const id = `path-${file.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
              return (
                <Table.Tr key={file.name}>
                  <Table.Th scope="row" style={{ whiteSpace: 'nowrap' }}>
                    {file.name}
                  </Table.Th>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap" align="start">
                      <Text id={id} size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                        {file.path}
                      </Text>
                      <CopyButton text={file.path} textId={id} label={`Copy the path of ${file.name}`} />
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
        <Figure label="Elapsed" value={seconds(run.elapsedMs / 1000)} />
        <Figure label="Trials" value={`${run.trialsDone} complete${failed ? `, ${failed} failed` : ''}`} />
        <Figure label="Engine" value={`${run.engine ?? run.settings.engine}${run.concurrency ? ` × ${run.concurrency}` : ''}`} />
        <Figure label="Peak memory (best trial)" value={best ? `${bytes(best.peakBytes)}${best.peakSource === 'estimate' ? ' (estimate)' : ''}` : '—'} />
      </SimpleGrid>
      {runDir && (
        <Text size="xs" c="dimmed" mt="xs">
          optuna-dashboard can read study.db while a sweep runs: optuna-dashboard sqlite:///{runDir}/study.db
        </Text>
      )}
    </Card>
  );
}

function EventLog({ runId }: { runId: string }) {
  const log = useStore((s) => sweepOf(s, runId).log);
  return (
    <ScrollArea h={180} aria-label="Event log" viewportProps={{ tabIndex: 0 }}>
      <Code block fz="xs" tabIndex={0}>
        {log.length ? log.map((entry) => `${clock(entry.at / 1000)}  ${entry.line}`).join('\n') : 'no events yet'}
      </Code>
    </ScrollArea>
  );
}

function Trials({ run }: { run: TrialsRunInfo }) {
  const results = useStore((s) => sweepOf(s, run.runId).results);
  const skipped = useStore((s) => sweepOf(s, run.runId).skipped);
  const best = useBest(run);
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Trials
      </Text>
      {skipped.length > 0 && (
        <Text size="sm" c="red" mb="xs">
          trials.jsonl: {skipped.map((s) => `line ${s.line} skipped (${s.reason})`).join('; ')}
        </Text>
      )}
      <TrialsTable trials={results} bestNumber={best?.number ?? null} />
    </Card>
  );
}

export function TrialsRunView({ run }: { run: TrialsRunInfo }) {
  const task = run.task ?? 'task auto';
  return (
    <Stack>
      <RunHeader run={run} subtitle={`sweep of ${run.target} in ${run.data} · ${task} · ${run.settings.sampler} sampler, seed ${run.settings.seed}`} />
      <RunControls run={run}>
        <SweepProgress run={run} />
      </RunControls>
      {run.status === 'done' && <SweepSummary run={run} />}
      {run.failure && <FailureCard failure={run.failure} />}
      <Charts run={run} />
      <Running runId={run.runId} />
      <Trials run={run} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Events
          </Text>
          <EventLog runId={run.runId} />
        </Card>
        <DiskCard run={run} holds="journal, study.db, trials.jsonl" removes="its journal, study.db and trials.jsonl" />
      </SimpleGrid>
    </Stack>
  );
}
