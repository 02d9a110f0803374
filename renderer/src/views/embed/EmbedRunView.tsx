/** An embed run's page: the shared header and controls, its live settings, its charts, passes and events. */
import { Card, Code, Group, ScrollArea, Select, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';
import type { EmbedRunInfo, EmbedSettings } from '../../../../worker/src/contract/jobs/embed.ts';
import type { Point } from '../../charts/decimate.ts';
import { rollingMean } from '../../charts/smooth.ts';
import { TimeAxisToggle } from '../../charts/TimeAxisToggle.tsx';
import { TimeChart } from '../../charts/TimeChart.tsx';
import { bytes, clock, count, perSecond, seconds } from '../../format.ts';
import { useStore } from '../../store/index.ts';
import { embedSeriesOf, type RunSeries } from '../../store/embed.ts';
import { LIVE, RESUMABLE } from '../../store/runs.ts';
import { DiskCard, RunControls, RunHeader, RunProgress } from '../runParts.tsx';
import { FailureCard, SettingsCard, SummaryCard } from './RunSummary.tsx';

const MIB = 1024 ** 2;

/** Each live part subscribes to its own slice of the store: an event re-renders what it changed, not the page. */
function LiveChart({ runId, pick, ...props }: { runId: string; pick: (series: RunSeries) => Point[] } & Omit<Parameters<typeof TimeChart>[0], 'points'>) {
  const points = useStore((s) => pick(embedSeriesOf(s, runId)));
  return <TimeChart {...props} runId={runId} points={points} />;
}

function VramChart({ runId, device }: { runId: string; device: string | null }) {
  const points = useStore((s) => embedSeriesOf(s, runId).vram);
  const total = useStore((s) => embedSeriesOf(s, runId).total);
  const ooms = useStore((s) => embedSeriesOf(s, runId).ooms);
  const thresholds = useMemo(
    () => (total ? [{ value: total * 0.85, label: 'warning 85%', color: 'var(--mantine-color-yellow-7)' }, { value: total * 0.95, label: 'critical 95%', color: 'var(--mantine-color-red-7)' }] : []),
    [total],
  );
  const caption = device === 'cpu' ? 'process memory (CPU run)' : device ? `${device} allocated` : undefined;
  return <TimeChart label="VRAM" unit="MiB" runId={runId} points={points} scale={MIB} thresholds={thresholds} marks={ooms} caption={caption} />;
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
        {passes.map((pass) => (
          <Table.Tr key={`${pass.model}-${pass.phase}`}>
            <Table.Td miw={150} style={{ overflowWrap: 'anywhere' }}>
              {pass.model}
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

const pickBatch = (s: RunSeries): Point[] => s.batchDocs;

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
        <VramChart runId={runId} device={run.device} />
        <LiveChart runId={runId} pick={pickBatch} label="Batch size" unit="docs" step integer />
        <TokensChart runId={runId} />
        <LiveChart runId={runId} pick={pickChunks} label="Chunks" unit="chunks" step integer color="var(--mantine-color-grape-6)" caption={run.models.length > 1 ? 'one per model and chunk' : undefined} />
      </SimpleGrid>

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
