/**
 * The GPUs view: what the Engine's monitor sees (1 Hz): each GPU's figures and the
 * processes on it (named by the run and worker they serve), memory no listed process
 * owns ("unaccounted"), Headroom workers that outlived their run (killable), and the
 * monitor's history (its own file, then live samples). Without an NVIDIA GPU it says
 * so and shows system memory.
 */
import { Alert, Anchor, Badge, Button, Card, Group, Modal, Progress, ScrollArea, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { CallResult, GpuDevice, GpuOrphan, GpuProcess, GpuSample } from '../../../worker/src/contract/api.ts';
import type { ExtraSeries } from '../charts/TimeChart.tsx';
import { TimeChart } from '../charts/TimeChart.tsx';
import { bytes, percent } from '../format.ts';
import { useStore } from '../store/index.ts';
import type { GpuLine } from '../store/gpus.ts';

const MIB = 1024 ** 2;
/** One colour per GPU, in index order (then round again). */
const GPU_COLORS = ['blue', 'teal', 'grape', 'orange', 'cyan', 'pink', 'lime', 'indigo'].map((c) => `var(--mantine-color-${c}-6)`);
const gpuColor = (index: number): string => GPU_COLORS[index % GPU_COLORS.length]!;

/** Where a process's memory figure comes from, in the view's words. */
export const SOURCE_WORDS: Record<GpuProcess['source'], string> = { 'nvidia-smi': 'nvidia-smi', torch: "worker's own figure (torch)" };

/** A figure with its unit, to one decimal at most (27.5 W, 45 °C); a dash where the GPU cannot say. */
const orNone = (value: number | null, unit: string): string => (value === null ? '—' : `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })}${unit}`);

function Figure({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div data-figure={label}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600}>
        {value}
      </Text>
      {detail && (
        <Text size="xs" c="dimmed">
          {detail}
        </Text>
      )}
    </div>
  );
}

/** A link to the run a process serves. */
function RunLink({ runId }: { runId: string }) {
  const show = useStore((s) => s.show);
  const known = useStore((s) => s.runs.some((run) => run.runId === runId));
  if (!known) return <Text span size="sm">{runId}</Text>;
  return (
    <Anchor component="button" size="sm" onClick={() => show('run', runId)} aria-label={`Open run ${runId}`}>
      {runId}
    </Anchor>
  );
}

function Serves({ process }: { process: GpuProcess }) {
  const h = process.headroom;
  if (!h)
    return (
      <Text span size="sm" c="dimmed">
        not Headroom's
      </Text>
    );
  return (
    <Group gap={6} wrap="nowrap">
      <RunLink runId={h.runId} />
      <Text span size="sm">
        {[h.worker, h.role === 'child' ? 'child process' : 'runtime'].filter(Boolean).join(' · ')}
      </Text>
      {h.orphan && (
        <Badge size="xs" color="red" variant="light">
          orphan
        </Badge>
      )}
    </Group>
  );
}

/** Unaccounted memory, with how it is reckoned and where the baseline comes from. */
function Unaccounted({ gpu }: { gpu: GpuDevice }) {
  const listed = gpu.processes.reduce((sum, p) => sum + (p.memoryUsed ?? 0), 0);
  const baseline = gpu.baseline.source === 'learned' ? `${bytes(gpu.baseline.bytes)} driver baseline (learned from a sample with no compute process on this GPU)` : `${bytes(gpu.baseline.bytes)} driver baseline (not learned yet: no idle sample seen, so this includes the driver's own use)`;
  return (
    <Text size="sm" data-figure="unaccounted" aria-label={`GPU ${gpu.index} unaccounted memory`}>
      <Text span fw={600}>
        Unaccounted: {gpu.unaccounted === null ? 'not known' : bytes(gpu.unaccounted)}
      </Text>{' '}
      <Text span c="dimmed" size="sm">
        {gpu.unaccounted === null
          ? '· a listed process has no memory figure, so what no process owns cannot be reckoned'
          : `· memory no listed process owns: ${bytes(gpu.memoryUsed)} used − ${bytes(listed)} listed − ${baseline}`}
      </Text>
    </Text>
  );
}

function Processes({ gpu }: { gpu: GpuDevice }) {
  if (gpu.processes.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {gpu.processSource === 'none' ? 'No per-process figures: nvidia-smi lists no compute process on this GPU and no Headroom worker reports one.' : 'No compute process on this GPU.'}
      </Text>
    );
  return (
    <ScrollArea type="auto">
      <Table aria-label={`GPU ${gpu.index} processes`} fz="sm" verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>PID</Table.Th>
            <Table.Th>Memory</Table.Th>
            <Table.Th>Figure from</Table.Th>
            <Table.Th>Serves</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {gpu.processes.map((p) => (
            <Table.Tr key={p.pid} data-pid={p.pid}>
              <Table.Td>{p.pid}</Table.Td>
              <Table.Td data-bytes={p.memoryUsed ?? ''}>{bytes(p.memoryUsed)}</Table.Td>
              <Table.Td>{SOURCE_WORDS[p.source]}</Table.Td>
              <Table.Td>
                <Serves process={p} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollArea>
  );
}

function GpuCard({ gpu }: { gpu: GpuDevice }) {
  const share = gpu.memoryTotal > 0 ? (100 * gpu.memoryUsed) / gpu.memoryTotal : 0;
  return (
    <Card withBorder component="section" aria-label={`GPU ${gpu.index}`} data-gpu={gpu.index}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Text fw={600} style={{ overflowWrap: 'anywhere' }}>
            GPU {gpu.index}: {gpu.name}
          </Text>
          {gpu.uuid && (
            <Text size="xs" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
              {gpu.uuid}
            </Text>
          )}
        </Group>
        <Progress value={share} aria-label={`GPU ${gpu.index} memory`} color={share >= 95 ? 'red' : share >= 85 ? 'yellow' : 'blue'} />
        <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="xs">
          <Figure label="Memory" value={`${bytes(gpu.memoryUsed)} of ${bytes(gpu.memoryTotal)}`} detail={`${percent(gpu.memoryUsed, gpu.memoryTotal)} used`} />
          <Figure label="Utilisation" value={orNone(gpu.utilization, '%')} />
          <Figure label="Temperature" value={orNone(gpu.temperature, ' °C')} />
          <Figure label="Power" value={gpu.power === null ? '—' : `${orNone(gpu.power, ' W')}${gpu.powerLimit === null ? '' : ` of ${orNone(gpu.powerLimit, ' W')}`}`} />
        </SimpleGrid>
        <Processes gpu={gpu} />
        <Unaccounted gpu={gpu} />
      </Stack>
    </Card>
  );
}

/** Headroom's runtimes in this Engine and their own torch figures (what a run's workers say they hold). */
function Workers({ runtimes }: { runtimes: GpuSample['runtimes'] }) {
  return (
    <Card withBorder component="section" aria-label="Headroom workers">
      <Text fw={600}>Headroom workers</Text>
      <Text size="xs" c="dimmed" mb="xs">
        The runtimes this Engine started, and the memory each reports itself (torch: allocated, reserved by its cache, peak; its CUDA context not included).
      </Text>
      {runtimes.length === 0 ? (
        <Text size="sm" c="dimmed">
          No runtime running.
        </Text>
      ) : (
        <ScrollArea type="auto">
          <Table aria-label="Headroom workers" fz="sm" verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Worker</Table.Th>
                <Table.Th>PID</Table.Th>
                <Table.Th>Device</Table.Th>
                <Table.Th>Allocated</Table.Th>
                <Table.Th>Reserved</Table.Th>
                <Table.Th>Peak</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runtimes.map((w) => (
                <Table.Tr key={w.pid} data-pid={w.pid}>
                  <Table.Td>
                    <RunLink runId={w.runId} />
                  </Table.Td>
                  <Table.Td>{w.worker ?? '—'}</Table.Td>
                  <Table.Td>{w.pid}</Table.Td>
                  <Table.Td>{w.device ?? '—'}</Table.Td>
                  <Table.Td>{bytes(w.allocated)}</Table.Td>
                  <Table.Td>{bytes(w.reserved)}</Table.Td>
                  <Table.Td>{bytes(w.peak)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Card>
  );
}

type KillAnswer = { pid: number; ok: true; result: CallResult<'killOrphan'> } | { pid: number; ok: false; message: string };

/** Headroom processes that outlived their run: each can be killed with its process group, after a confirm. */
function Orphans({ orphans, note, answer, setAnswer }: { orphans: GpuOrphan[]; note: string | null; answer: KillAnswer | null; setAnswer(answer: KillAnswer | null): void }) {
  const api = useStore((s) => s.api);
  const connected = useStore((s) => s.connected);
  const [asking, setAsking] = useState<GpuOrphan | null>(null);
  const [busy, setBusy] = useState(false);
  const kill = (orphan: GpuOrphan): void => {
    setAsking(null);
    setBusy(true);
    api
      ?.killOrphan({ pid: orphan.pid })
      .then(
        (result) => setAnswer({ pid: orphan.pid, ok: true, result }),
        (error: Error) => setAnswer({ pid: orphan.pid, ok: false, message: error.message }),
      )
      .finally(() => setBusy(false));
  };
  return (
    <Card withBorder component="section" aria-label="Orphans">
      <Text fw={600}>Orphans</Text>
      <Text size="xs" c="dimmed" mb="xs">
        Headroom workers that outlived their run (they should never: their memory stays held until they end). Kill ends the worker's whole process group.
      </Text>
      {note && (
        <Text size="sm" c="dimmed">
          {note}
        </Text>
      )}
      {!note && orphans.length === 0 && (
        <Text size="sm" c="dimmed">
          None: every Headroom process found serves a live run.
        </Text>
      )}
      {orphans.length > 0 && (
        <ScrollArea type="auto">
          <Table aria-label="Orphans" fz="sm" verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>PID</Table.Th>
                <Table.Th>Run</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>GPU memory</Table.Th>
                <Table.Th>Resident</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {orphans.map((o) => (
                <Table.Tr key={o.pid} data-pid={o.pid}>
                  <Table.Td>
                    {o.pid}
                    {o.pgid !== o.pid && (
                      <Text span size="xs" c="dimmed">
                        {' '}
                        (group {o.pgid})
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <RunLink runId={o.runId} />
                    {o.worker && (
                      <Text span size="xs">
                        {' '}
                        · {o.worker}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td maw={320} style={{ overflowWrap: 'anywhere' }}>
                    {o.why}
                  </Table.Td>
                  <Table.Td>{bytes(o.gpuMemory)}</Table.Td>
                  <Table.Td>{bytes(o.rss)}</Table.Td>
                  <Table.Td>
                    <Button size="xs" color="red" variant="light" disabled={!connected || busy} onClick={() => setAsking(o)} aria-label={`Kill orphan ${o.pid}`}>
                      Kill
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
      {answer && (
        <Alert mt="xs" color={answer.ok ? 'green' : 'red'} withCloseButton onClose={() => setAnswer(null)} title={answer.ok ? `Process group ${answer.result.pgid} killed` : `Process ${answer.pid} was not killed`} role="status">
          {answer.ok ? answer.result.message : answer.message}
        </Alert>
      )}
      <Modal opened={asking !== null} onClose={() => setAsking(null)} title="Kill this orphan?">
        {asking && (
          <>
            <Text size="sm">
              SIGKILL to process group {asking.pgid} (process {asking.pid}, run {asking.runId}
              {asking.worker ? `, worker ${asking.worker}` : ''}): every process in it ends at once, and the memory it holds is freed.
            </Text>
            <Text size="xs" c="dimmed" mt="xs" style={{ overflowWrap: 'anywhere' }}>
              {asking.command}
            </Text>
            <Group justify="end" mt="md">
              <Button variant="default" onClick={() => setAsking(null)}>
                Keep it
              </Button>
              <Button color="red" onClick={() => kill(asking)}>
                Kill process group
              </Button>
            </Group>
          </>
        )}
      </Modal>
    </Card>
  );
}

/** The charts: memory per GPU (and its unaccounted part, dashed), utilisation per GPU; system memory without a GPU. */
function HistoryCharts({ noGpu }: { noGpu: boolean }) {
  const series = useStore((s) => s.gpuSeries);
  const lines = useMemo(() => Object.entries(series.gpus).map(([index, line]) => [Number(index), line] as [number, GpuLine]).sort((a, b) => a[0] - b[0]), [series.gpus]);
  const memory = useMemo(() => {
    const extras: ExtraSeries[] = [];
    lines.forEach(([index, line], i) => {
      if (i > 0) extras.push({ name: `GPU ${index}`, points: line.used, color: gpuColor(index) });
      extras.push({ name: `GPU ${index} unaccounted`, points: line.unaccounted, color: gpuColor(index), dashed: true });
    });
    return extras;
  }, [lines]);
  const util = useMemo(() => lines.slice(1).map(([index, line]): ExtraSeries => ({ name: `GPU ${index}`, points: line.util, color: gpuColor(index) })), [lines]);
  if (noGpu || lines.length === 0) return <TimeChart label="System memory" unit="MiB" points={series.system} scale={MIB} caption="this machine's memory in use" />;
  const [firstIndex, first] = lines[0]!;
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <TimeChart label="GPU memory" name={`GPU ${firstIndex}`} unit="MiB" points={first.used} extras={memory} scale={MIB} color={gpuColor(firstIndex)} caption="used per GPU; dashed: unaccounted" />
      <TimeChart label="GPU utilisation" name={`GPU ${firstIndex}`} unit="%" points={first.util} extras={util} color={gpuColor(firstIndex)} />
    </SimpleGrid>
  );
}

export function GpusView() {
  const sample = useStore((s) => s.gpu);
  return <GpusPage sample={sample} />;
}

/** The view of one sample (the latest): its own component, so that tests render it from a sample they give. */
export function GpusPage({ sample }: { sample: GpuSample | null }) {
  // Kept here: the Orphans card moves (to the top while it lists any), and the answer must outlive the move.
  const [answer, setAnswer] = useState<KillAnswer | null>(null);
  if (!sample)
    return (
      <Stack>
        <Title order={1} size="h3">
          GPUs
        </Title>
        <Text c="dimmed">Waiting for the first sample…</Text>
      </Stack>
    );
  const noGpu = sample.gpus.length === 0;
  return (
    <Stack>
      <div>
        <Title order={1} size="h3">
          GPUs
        </Title>
        {!noGpu && (
          <Text size="sm" c="dimmed">
            What nvidia-smi reports each second, each process named by the Headroom run it serves. Unaccounted memory is in use on a GPU but owned by no listed process: held by a killed process, another container or a display server.
          </Text>
        )}
      </div>
      {sample.orphans.length > 0 && <Orphans orphans={sample.orphans} note={sample.orphanNote} answer={answer} setAnswer={setAnswer} />}
      {noGpu ? (
        <Alert color="gray" title="No NVIDIA GPU found">
          {sample.note}
          {/[.!?]$/.test(sample.note ?? '.') ? '' : '.'} Runs use the CPU; system memory is shown instead.
        </Alert>
      ) : (
        sample.note && (
          <Alert color="yellow" title="The monitor says">
            {sample.note}
          </Alert>
        )
      )}
      {sample.gpus.map((gpu) => (
        <GpuCard key={gpu.index} gpu={gpu} />
      ))}
      <Card withBorder component="section" aria-label="System memory">
        <Text fw={600}>System memory</Text>
        <Progress value={(100 * sample.system.memoryUsed) / sample.system.memoryTotal} mt="xs" aria-label="System memory" />
        <Text size="sm" c="dimmed">
          {bytes(sample.system.memoryUsed)} of {bytes(sample.system.memoryTotal)} used
        </Text>
      </Card>
      <HistoryCharts noGpu={noGpu} />
      <Workers runtimes={sample.runtimes} />
      {sample.orphans.length === 0 && <Orphans orphans={sample.orphans} note={sample.orphanNote} answer={answer} setAnswer={setAnswer} />}
    </Stack>
  );
}
