import { Alert, Badge, Button, Card, Code, Group, Modal, ScrollArea, Select, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { Point } from '../decimate.ts';
import { TimeChart } from '../TimeChart.tsx';
import { bytes, clock, seconds } from '../format.ts';
import { seriesOf, useStore, type RunSeries } from '../store.ts';
import { STATUS_COLOR } from './RunsView.tsx';

const MIB = 1024 ** 2;

/** Units per second over the last few chunk points, and the time left at that rate. */
function rateAndEta(points: { t: number; v: number }[], total: number): { rate: number | null; eta: number | null } {
  const recent = points.slice(-6);
  if (recent.length < 2) return { rate: null, eta: null };
  const first = recent[0]!;
  const last = recent.at(-1)!;
  const rate = (last.v - first.v) / Math.max(1e-9, last.t - first.t);
  return { rate, eta: rate > 0 ? (total - last.v) / rate : null };
}

/** Each live part subscribes to its own slice of the store: an event re-renders what it changed, not the page. */
function LiveChart({ runId, pick, ...props }: { runId: string; pick: (series: RunSeries) => Point[] } & Omit<Parameters<typeof TimeChart>[0], 'points'>) {
  const points = useStore((s) => pick(seriesOf(s, runId)));
  return <TimeChart {...props} points={points} />;
}

function VramChart({ runId, device }: { runId: string; device: string | null }) {
  const points = useStore((s) => seriesOf(s, runId).vram);
  const total = useStore((s) => seriesOf(s, runId).total);
  const ooms = useStore((s) => seriesOf(s, runId).ooms);
  const thresholds = useMemo(
    () => (total ? [{ value: total * 0.85, label: 'warning 85%', color: 'var(--mantine-color-yellow-7)' }, { value: total * 0.95, label: 'critical 95%', color: 'var(--mantine-color-red-7)' }] : []),
    [total],
  );
  const caption = device === 'cpu' ? 'process memory (CPU run)' : device ? `${device} allocated` : undefined;
  return <TimeChart label="VRAM" unit="MiB" points={points} scale={MIB} thresholds={thresholds} marks={ooms} caption={caption} />;
}

function ProgressLine({ runId, total, live }: { runId: string; total: number; live: boolean }) {
  const chunks = useStore((s) => seriesOf(s, runId).chunks);
  const batches = useStore((s) => seriesOf(s, runId).batches);
  const ooms = useStore((s) => seriesOf(s, runId).ooms.length);
  const done = useStore((s) => s.runs.find((r) => r.runId === runId)?.chunksDone ?? 0);
  const { rate, eta } = live ? rateAndEta(chunks, total) : { rate: null, eta: null };
  return (
    <Text size="sm" mt="xs">
      {done}/{total} (model, chunk) units · {rate === null ? '—' : `${rate.toFixed(2)} units/s`} · ETA {seconds(eta)} · {batches.toLocaleString()} batches · {ooms} OOMs
    </Text>
  );
}

function Passes({ runId }: { runId: string }) {
  const passes = useStore((s) => seriesOf(s, runId).passes);
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
  const log = useStore((s) => seriesOf(s, runId).log);
  return (
    <ScrollArea h={180} aria-label="Event log">
      <Code block fz="xs">
        {log.length ? log.map((entry) => `${clock(entry.at / 1000)}  ${entry.line}`).join('\n') : 'no events yet'}
      </Code>
    </ScrollArea>
  );
}

const pickBatch = (s: RunSeries): Point[] => s.batchDocs;
const pickTokens = (s: RunSeries): Point[] => s.tokensPerSecond;
const pickChunks = (s: RunSeries): Point[] => s.chunks;

export function RunView() {
  const runId = useStore((s) => s.selected);
  const run = useStore((s) => s.runs.find((r) => r.runId === s.selected));
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const setError = useStore((s) => s.setError);
  const [confirmDelete, setConfirmDelete] = useState(false);

  if (!runId || !run) return <Text c="dimmed">Choose a run from the list.</Text>;
  const act = (promise: Promise<unknown> | undefined): void => void promise?.catch((error: Error) => setError(error.message));
  const live = run.status === 'running' || run.status === 'paused';

  return (
    <Stack>
      <Group justify="space-between" align="start">
        <div>
          <Title order={3}>{run.runId}</Title>
          <Text size="sm" c="dimmed">
            {run.models.join(' + ')} · {run.ensembleMode} · {run.input}
          </Text>
        </div>
        <Group gap="xs">
          <Badge size="lg" variant="light" color={STATUS_COLOR[run.status]}>
            <span role="status" aria-label="Run status">
              {run.status}
            </span>
          </Badge>
        </Group>
      </Group>

      <Card withBorder padding="sm">
        <Group justify="space-between">
          <Group gap="xs">
            <Button size="sm" disabled={run.status !== 'running'} onClick={() => act(api?.pauseRun({ runId }))}>
              Pause
            </Button>
            <Button size="sm" variant="light" disabled={run.status !== 'paused'} onClick={() => act(api?.resumeRun({ runId }))}>
              Resume
            </Button>
            <Button size="sm" variant="light" color="red" disabled={!live} onClick={() => act(api?.stopRun({ runId }))}>
              Stop
            </Button>
            {(run.status === 'interrupted' || run.status === 'failed') && (
              <Button size="sm" onClick={() => act(api?.resumeRun({ runId }))}>
                Resume run
              </Button>
            )}
          </Group>
          <Group gap="xs">
            <Select size="xs" w={150} label="OOM policy" data={['fail', 'cpu', 'truncate']} placeholder="unchanged" onChange={(v) => v && act(api?.setPolicy({ runId, oom: v as 'fail' }))} />
            <Select size="xs" w={150} label="Ensemble mode" data={['simultaneous', 'sequential']} value={run.ensembleMode} onChange={(v) => v && act(api?.setPolicy({ runId, ensembleMode: v as 'sequential' }))} allowDeselect={false} />
          </Group>
        </Group>
        <ProgressLine runId={runId} total={run.chunksTotal} live={live} />
        {run.errors.map((error) => (
          <Alert key={error} color="red" mt="xs" title="Error">
            {error}
          </Alert>
        ))}
      </Card>

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
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Cache on disk
          </Text>
          <Text size="sm">
            {bytes(run.diskBytes)} in the run folder (chunks, journal, outputs)
          </Text>
          <Button mt="sm" size="xs" color="red" variant="light" disabled={live} onClick={() => setConfirmDelete(true)}>
            Delete run folder
          </Button>
        </Card>
      </SimpleGrid>

      <Card withBorder padding="sm">
        <Text fw={600} size="sm" mb="xs">
          Events
        </Text>
        <EventLog runId={runId} />
      </Card>

      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this run's folder?">
        <Text size="sm">
          This removes {bytes(run.diskBytes)}: its chunks, journal and any embeddings.npy. It cannot be undone.
        </Text>
        <Group justify="end" mt="md">
          <Button variant="default" onClick={() => setConfirmDelete(false)}>
            Keep it
          </Button>
          <Button
            color="red"
            onClick={() => {
              setConfirmDelete(false);
              act(api?.deleteCache({ runId }).then(() => show('runs')));
            }}
          >
            Delete
          </Button>
        </Group>
      </Modal>
    </Stack>
  );
}
