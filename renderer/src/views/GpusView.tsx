import { Alert, Card, Group, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { TimeChart } from '../charts/TimeChart.tsx';
import { bytes } from '../format.ts';
import { useStore } from '../store/index.ts';

const MIB = 1024 ** 2;

export function GpusView() {
  const sample = useStore((s) => s.gpu);
  const history = useStore((s) => s.gpuHistory);
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
      <Title order={1} size="h3">
        GPUs
      </Title>
      {noGpu && (
        <Alert color="gray" title="No NVIDIA GPU found">
          {sample.note}
          {/[.!?]$/.test(sample.note ?? '.') ? '' : '.'} Runs use the CPU; system memory is shown instead.
        </Alert>
      )}
      {sample.gpus.map((gpu) => (
        <Card withBorder key={gpu.index}>
          <Group justify="space-between">
            <Text fw={600}>
              GPU {gpu.index}: {gpu.name}
            </Text>
            <Text size="sm">utilisation {gpu.utilization === null ? '—' : `${gpu.utilization}%`}</Text>
          </Group>
          <Progress value={(100 * gpu.memoryUsed) / gpu.memoryTotal} mt="xs" aria-label={`GPU ${gpu.index} memory`} />
          <Text size="sm" c="dimmed">
            {bytes(gpu.memoryUsed)} of {bytes(gpu.memoryTotal)} used
          </Text>
        </Card>
      ))}
      <Card withBorder>
        <Text fw={600}>System memory</Text>
        <Progress value={(100 * sample.system.memoryUsed) / sample.system.memoryTotal} mt="xs" aria-label="System memory" />
        <Text size="sm" c="dimmed">
          {bytes(sample.system.memoryUsed)} of {bytes(sample.system.memoryTotal)} used
        </Text>
      </Card>
      <TimeChart label={noGpu ? 'System memory' : 'GPU 0 memory'} unit="MiB" points={history} scale={MIB} />
      <Card withBorder>
        <Text fw={600} mb="xs">
          Headroom processes
        </Text>
        <Table aria-label="Headroom processes" fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Run</Table.Th>
              <Table.Th>PID</Table.Th>
              <Table.Th>Device</Table.Th>
              <Table.Th>Memory</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sample.runtimes.map((w) => (
              <Table.Tr key={w.pid}>
                <Table.Td>{w.runId}</Table.Td>
                <Table.Td>{w.pid}</Table.Td>
                <Table.Td>{w.device ?? '—'}</Table.Td>
                <Table.Td>{bytes(w.allocated)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {sample.runtimes.length === 0 && (
          <Text size="sm" c="dimmed">
            No runtime running.
          </Text>
        )}
      </Card>
    </Stack>
  );
}
