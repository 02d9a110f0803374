/** An embed run's page: the shared header and controls, its live settings, its charts, passes and events. */
import { Card, Code, Group, ScrollArea, Select, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';
import type { EmbedRunInfo, EmbedSettings } from '../../../../worker/src/contract/jobs/embed.ts';
import type { Point } from '../../charts/decimate.ts';
import { rollingMean } from '../../charts/smooth.ts';
import { TimeAxisToggle } from '../../charts/TimeAxisToggle.tsx';
import { TimeChart, type ExtraSeries } from '../../charts/TimeChart.tsx';
import { bytes, clock, count, perSecond, seconds } from '../../format.ts';
import { useStore } from '../../store/index.ts';
import { embedSeriesOf, type RunSeries } from '../../store/embed.ts';
import { LIVE, RESUMABLE } from '../../store/runs.ts';
import { DiskCard, RunControls, RunHeader, RunProgress } from '../runParts.tsx';
import { guardLevels, guardTotal, markColor, pct } from './guard.ts';
import { FailureCard, SettingsCard, SummaryCard } from './RunSummary.tsx';
import { GuardCard, WorkersCard } from './WorkersCard.tsx';

const MIB = 1024 ** 2;

/** Each live part subscribes to its own slice of the store: an event re-renders what it changed, not the page. */
function LiveChart({ runId, pick, ...props }: { runId: string; pick: (series: RunSeries) => Point[] } & Omit<Parameters<typeof TimeChart>[0], 'points'>) {
  const points = useStore((s) => pick(embedSeriesOf(s, runId)));
  return <TimeChart {...props} runId={runId} points={points} />;
}

const WORKER_COLORS = ['blue', 'teal', 'grape', 'orange', 'cyan', 'pink', 'lime', 'indigo'].map((c) => `var(--mantine-color-${c}-6)`);

/** With several workers: one line per worker of a per-worker series (empty with one worker: the run's own line is drawn). */
function useWorkerLines(run: EmbedRunInfo, key: 'workerVram' | 'workerBatch'): ExtraSeries[] {
  const byWorker = useStore((s) => embedSeriesOf(s, run.runId)[key]);
  const workers = run.workers;
  return useMemo(
    () => (workers && workers.length > 1 ? workers.map((w, i) => ({ name: `${w.id}${w.device ? ` (${w.device})` : ''}`, points: byWorker[w.id] ?? [], color: WORKER_COLORS[i % WORKER_COLORS.length]! })) : []),
    [workers, byWorker],
  );
}

/** Batch sizes: the run's, or each worker's line (several workers' batches interleaved would read as a zigzag). */
function BatchChart({ run }: { run: EmbedRunInfo }) {
  const points = useStore((s) => embedSeriesOf(s, run.runId).batchDocs);
  const [first, ...rest] = useWorkerLines(run, 'workerBatch');
  return <TimeChart label="Batch size" unit="docs" runId={run.runId} points={first ? first.points : points} name={first?.name} color={first?.color} extras={rest} caption={first ? 'per worker' : undefined} step integer />;
}

/**
 * Memory: the run's (one worker) or each worker's line (several), the guard's levels from the run's own
 * settings, OOMs in red, and the guard's, the leak detector's and the workers' events as dashed marks.
 */
function VramChart({ run }: { run: EmbedRunInfo }) {
  const { runId, device, settings } = run;
  const points = useStore((s) => embedSeriesOf(s, runId).vram);
  const total = useStore((s) => embedSeriesOf(s, runId).total);
  const ooms = useStore((s) => embedSeriesOf(s, runId).ooms);
  const incidents = useStore((s) => embedSeriesOf(s, runId).incidents);
  const lines = useWorkerLines(run, 'workerVram');
  const levels = guardLevels(settings);
  const base = guardTotal(settings, total);
  const thresholds = useMemo(
    () =>
      base
        ? [
            { value: base * levels.warning, label: `warning ${pct(levels.warning)}`, color: 'var(--mantine-color-yellow-7)' },
            { value: base * levels.critical, label: `critical ${pct(levels.critical)}`, color: 'var(--mantine-color-red-7)' },
          ]
        : [],
    [base, levels.warning, levels.critical],
  );
  const notes = useMemo(() => incidents.map((incident) => ({ t: incident.t, color: markColor(incident.kind) })), [incidents]);
  const caption = lines.length > 0 ? 'allocated, per worker' : device === 'cpu' ? 'process memory (CPU run)' : device ? `${device} allocated` : undefined;
  const [first, ...rest] = lines;
  return (
    <TimeChart
      label="VRAM"
      unit="MiB"
      runId={runId}
      points={first ? first.points : points}
      name={first?.name}
      color={first?.color}
      extras={rest}
      scale={MIB}
      thresholds={thresholds}
      marks={ooms}
      notes={notes}
      caption={`${caption ? `${caption} · ` : ''}levels of ${settings.vramLimitGiB === null ? 'the device' : 'the cap'}`}
    />
  );
}

/** The header's progress (phase, bar, elapsed, docs/s, ETA) and what the charts count (batches, OOMs). */
function ProgressLine({ run }: { run: EmbedRunInfo }) {
  const batches = useStore((s) => embedSeriesOf(s, run.runId).batches);
  const ooms = useStore((s) => embedSeriesOf(s, run.runId).ooms.length);
  return (
    <RunProgress run={run} rate={run.status === 'running' ? perSecond(run.docsPerSecond, 'docs') : undefined}>
      <Text size="sm" c="dimmed">
        {count(batches, 'batch', 'batches')} · {count(ooms, 'OOM')} seen here
      </Text>
    </RunProgress>
  );
}

function Passes({ runId }: { runId: string }) {
  const passes = useStore((s) => embedSeriesOf(s, runId).passes);
  // The worker named only where passes ran on more than one worker.
  const byWorker = new Set(passes.map((pass) => pass.worker)).size > 1;
  return (
    <Table aria-label="Passes" verticalSpacing={4} fz="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Model</Table.Th>
          <Table.Th>Device</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>Time</Table.Th>
          <Table.Th>Model memory</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {passes.map((pass, i) => (
          <Table.Tr key={`${pass.model}-${pass.worker}-${pass.phase}-${i}`}>
            <Table.Td miw={150} style={{ overflowWrap: 'anywhere' }}>
              {pass.model}
              {byWorker && pass.worker && (
                <Text span size="xs" c="dimmed">
                  {' '}
                  · {pass.worker}
                </Text>
              )}
            </Table.Td>
            <Table.Td>{pass.device}</Table.Td>
            <Table.Td>{pass.phase}</Table.Td>
            <Table.Td>{pass.phase === 'completed' ? seconds((pass.ms ?? 0) / 1000) : '—'}</Table.Td>
            <Table.Td>{bytes(pass.residentPeak)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function EventLog({ runId }: { runId: string }) {
  const log = useStore((s) => embedSeriesOf(s, runId).log);
  return (
    // Focusable, so the log scrolls from the keyboard too.
    <ScrollArea h={180} aria-label="Event log" viewportProps={{ tabIndex: 0 }}>
      <Code block fz="xs" tabIndex={0}>
        {log.length ? log.map((entry) => `${clock(entry.at / 1000)}  ${entry.line}`).join('\n') : 'no events yet'}
      </Code>
    </ScrollArea>
  );
}

/** What a select says under it: nothing when the run works with its value, "pending" until the run confirms a change. */
function pendingNote<T>(asked: T | undefined, inForce: T, live: boolean): string | undefined {
  if (asked === undefined || asked === inForce) return undefined;
  return live ? `pending: the run still uses ${String(inForce)}` : 'applies when the run resumes';
}

/** The settings an embed run takes while it works (setPolicy): each select shows the value in force, a change as pending until confirmed. */
function Settings({ run }: { run: EmbedRunInfo }) {
  const api = useStore((s) => s.api);
  const connected = useStore((s) => s.connected);
  const setError = useStore((s) => s.setError);
  const [asked, setAsked] = useState<EmbedSettings>({});
  const { oomPolicy, ensembleMode } = run.settings;
  // A change is confirmed when the run reports it in force: it stops being pending.
  useEffect(() => {
    setAsked((prev) => (prev.oom === oomPolicy || prev.ensembleMode === ensembleMode ? { oom: prev.oom === oomPolicy ? undefined : prev.oom, ensembleMode: prev.ensembleMode === ensembleMode ? undefined : prev.ensembleMode } : prev));
  }, [oomPolicy, ensembleMode]);
  const apply = (settings: EmbedSettings): void => {
    setAsked((prev) => ({ ...prev, ...settings }));
    api?.setPolicy({ runId: run.runId, ...settings }).catch((error: Error) => {
      setAsked({});
      setError(error.message);
    });
  };
  // A stopped or failed run takes them too (a failed run's fix is often "resume with another OOM policy"): they apply at its resume.
  const live = LIVE.has(run.status);
  const off = !connected || !(live || RESUMABLE.has(run.status));
  return (
    <>
      <SettingSelect label="OOM policy" options={OomPolicy.options} inForce={oomPolicy} asked={asked.oom} live={live} disabled={off} onChange={(oom) => apply({ oom })} />
      <SettingSelect label="Ensemble mode" options={EnsembleMode.options} inForce={ensembleMode} asked={asked.ensembleMode} live={live} disabled={off} onChange={(mode) => apply({ ensembleMode: mode })} />
    </>
  );
}

/** One setting a run takes while it works: the value asked for (pending until the run confirms it) or the one in force. */
function SettingSelect<T extends string>({ label, options, inForce, asked, live, disabled, onChange }: { label: string; options: readonly T[]; inForce: T; asked: T | undefined; live: boolean; disabled: boolean; onChange(value: T): void }) {
  return (
    <Select<T>
      size="xs"
      w={170}
      label={label}
      data={options}
      value={asked ?? inForce}
      description={pendingNote(asked, inForce, live)}
      inputWrapperOrder={['label', 'input', 'description']}
      onChange={(value) => value && onChange(value)}
      allowDeselect={false}
      disabled={disabled}
    />
  );
}


/**
 * Tokens per second is per batch (a chunk's last, small batch dips): drawn as a rolling mean, with the raw
 * value of the last batch said beside it (a second, raw line doubled the chart's cost per event: bench:panel).
 */
function TokensChart({ runId }: { runId: string }) {
  const raw = useStore((s) => embedSeriesOf(s, runId).tokensPerSecond);
  const smooth = useMemo(() => rollingMean(raw), [raw]);
  const last = raw.at(-1);
  const caption = `mean of 8 batches${last ? ` · last batch ${Math.round(last.v).toLocaleString()} tok/s` : ''}`;
  return <TimeChart label="Tokens per second" unit="tok/s" runId={runId} points={smooth} caption={caption} color="var(--mantine-color-teal-6)" />;
}
const pickChunks = (s: RunSeries): Point[] => s.chunks;

export function EmbedRunView({ run }: { run: EmbedRunInfo }) {
  const { runId } = run;
  return (
    <Stack>
      <RunHeader run={run} subtitle={`${run.models.join(' + ')} · ${run.settings.ensembleMode} · ${run.input}`} />
      <RunControls run={run} settings={<Settings run={run} />}>
        <ProgressLine run={run} />
      </RunControls>
      {run.summary && <SummaryCard summary={run.summary} />}
      {run.failure && <FailureCard failure={run.failure} />}

      <Group justify="flex-end">
        <TimeAxisToggle />
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <VramChart run={run} />
        <BatchChart run={run} />
        <TokensChart runId={runId} />
        <LiveChart runId={runId} pick={pickChunks} label="Chunks" unit="chunks" step integer color="var(--mantine-color-grape-6)" caption={run.models.length > 1 ? 'one per model and chunk' : undefined} />
      </SimpleGrid>

      {run.workers && run.workers.length > 0 && <WorkersCard run={{ ...run, workers: run.workers }} />}
      <GuardCard run={run} />

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Ensemble passes
          </Text>
          <Passes runId={runId} />
        </Card>
        <SettingsCard settings={run.settings} />
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Events
          </Text>
          <EventLog runId={runId} />
        </Card>
        <DiskCard run={run} holds="chunks, journal, outputs" removes="its chunks, journal and any embeddings.npy" />
      </SimpleGrid>
    </Stack>
  );
}
