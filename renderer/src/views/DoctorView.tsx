import { Badge, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { DoctorReport } from '../../../worker/src/contract/api.ts';
import { useStore } from '../store/index.ts';

export function DoctorView() {
  const api = useStore((s) => s.api);
  const [report, setReport] = useState<DoctorReport | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (): void => {
    setBusy(true);
    void api
      ?.doctor({})
      .then(setReport)
      .finally(() => setBusy(false));
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          Doctor
        </Title>
        <Button onClick={run} loading={busy}>
          Run checks
        </Button>
      </Group>
      {!report && <Text c="dimmed">Checks Python, torch, CUDA, GPUs, nvidia-smi, disk space and the default model.</Text>}
      {report && (
        <Table aria-label="Checks" verticalSpacing="xs">
          <Table.Tbody>
            {report.checks.map((check) => (
              <Table.Tr key={check.name}>
                <Table.Td w={90}>
                  <Badge color={check.ok ? 'green' : 'orange'} variant="light">
                    {check.ok ? 'ok' : 'fix'}
                  </Badge>
                </Table.Td>
                <Table.Td w={180}>{check.name}</Table.Td>
                <Table.Td>
                  <Text size="sm">{check.detail}</Text>
                  {check.fix && (
                    <Text size="sm" c="var(--mantine-color-orange-light-color)">
                      {check.fix}
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
