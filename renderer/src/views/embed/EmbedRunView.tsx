/** An embed run's page: the shared header and controls, its live settings, its charts, passes and events. */
import { Card, Code, ScrollArea, Select, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useMemo } from 'react';
import { EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';
import type { EmbedRunInfo, EmbedSettings } from '../../../../worker/src/contract/jobs/embed.ts';
import type { Point } from '../../charts/decimate.ts';
import { TimeChart } from '../../charts/TimeChart.tsx';
import { bytes, clock, seconds } from '../../format.ts';
import { useStore } from '../../store/index.ts';
import { embedSeriesOf, type RunSeries } from '../../store/embed.ts';
import { LIVE } from '../../store/runs.ts';
import { DiskCard, RunControls, RunHeader, useAct } from '../runParts.tsx';

const MIB = 1024 ** 2;

/** Units per second over the last few chunk points, and the time left at that rate. */
function rateAndEta(points: Point[], total: number): { rate: number | null; eta: number | null } {
  const recent = points.slice(-6);
  if (recent.length < 2) return { rate: null, eta: null };
  const first = recent[0]!;
  const last = recent.at(-1)!;
  const rate = (last.v - first.v) / Math.max(1e-9, last.t - first.t);
  return { rate, eta: rate > 0 ? (total - last.v) / rate : null };
}

/** Each live part subscribes to its own slice of the store: an event re-renders what it changed, not the page. */
function LiveChart({ runId, pick, ...props }: { runId: string; pick: (series: RunSeries) => Point[] } & Omit<Parameters<typeof TimeChart>[0], 'points'>) {
  const points = useStore((s) => pick(embedSeriesOf(s, runId)));
  return <TimeChart {...props} points={points} />;
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
  return <TimeChart label="VRAM" unit="MiB" points={points} scale={MIB} thresholds={thresholds} marks={ooms} caption={caption} />;
}

function ProgressLine({ run, live }: { run: EmbedRunInfo; live: boolean }) {
  const chunks = useStore((s) => embedSeriesOf(s, run.runId).chunks);
  const batches = useStore((s) => embedSeriesOf(s, run.runId).batches);
  const ooms = useStore((s) => embedSeriesOf(s, run.runId).ooms.length);
  const { rate, eta } = live ? rateAndEta(chunks, run.unitsTotal) : { rate: null, eta: null };
  return (
    <Text size="sm" mt="xs">
      {run.unitsDone}/{run.unitsTotal} (model, chunk) units · {rate === null ? '—' : `${rate.toFixed(2)} units/s`} · ETA {seconds(eta)} · {batches.toLocaleString()} batches · {ooms} OOMs
    </Text>
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
            <Table.Td>{pass.model}</Table.Td>
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
    <ScrollArea h={180} aria-label="Event log">
      <Code block fz="xs">
        {log.length ? log.map((entry) => `${clock(entry.at / 1000)}  ${entry.line}`).join('\n') : 'no events yet'}
      </Code>
    </ScrollArea>
  );
}

/** The settings an embed run takes while it works (setPolicy), with the contract's options. */
function Settings({ run }: { run: EmbedRunInfo }) {
  const api = useStore((s) => s.api);
  const act = useAct();
  const apply = (settings: EmbedSettings): void => act(api?.setPolicy({ runId: run.runId, ...settings }));
  return (
    <>
      <Select<OomPolicy> size="xs" w={150} label="OOM policy" data={OomPolicy.options} placeholder="unchanged" onChange={(oom) => oom && apply({ oom })} />
      <Select<EnsembleMode> size="xs" w={150} label="Ensemble mode" data={EnsembleMode.options} value={run.ensembleMode} onChange={(ensembleMode) => ensembleMode && apply({ ensembleMode })} allowDeselect={false} />
    </>
  );
}

const pickBatch = (s: RunSeries): Point[] => s.batchDocs;
const pickTokens = (s: RunSeries): Point[] => s.tokensPerSecond;
const pickChunks = (s: RunSeries): Point[] => s.chunks;

export function EmbedRunView({ run }: { run: EmbedRunInfo }) {
  const { runId } = run;
  const live = LIVE.has(run.status);
  return (
    <Stack>
      <RunHeader run={run} subtitle={`${run.models.join(' + ')} · ${run.ensembleMode} · ${run.input}`} />
      <RunControls run={run} settings={<Settings run={run} />}>
        <ProgressLine run={run} live={live} />
      </RunControls>

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <VramChart runId={runId} device={run.device} />
        <LiveChart runId={runId} pick={pickBatch} label="Batch size" unit="docs" step />
        <LiveChart runId={runId} pick={pickTokens} label="Tokens per second" unit="tok/s" color="var(--mantine-color-teal-6)" />
        <LiveChart runId={runId} pick={pickChunks} label="Chunks" unit="units" step color="var(--mantine-color-grape-6)" />
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Ensemble passes
          </Text>
          <Passes runId={runId} />
        </Card>
        <DiskCard run={run} holds="chunks, journal, outputs" removes="its chunks, journal and any embeddings.npy" />
      </SimpleGrid>

      <Card withBorder padding="sm">
        <Text fw={600} size="sm" mb="xs">
          Events
        </Text>
        <EventLog runId={runId} />
      </Card>
    </Stack>
  );
}
