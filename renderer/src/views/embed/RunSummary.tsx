/** A finished embed run told in one card (its outputs and figures), a failed one in one sentence, and the settings in force. */
import { Alert, Card, Group, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import type { RunFailure } from '../../../../worker/src/contract/runs.ts';
import type { EmbedDoneSummary, EmbedSettingsInForce } from '../../../../worker/src/contract/jobs/embed.ts';
import { bytes, count, percent, perSecond, seconds } from '../../format.ts';
import { CopyButton } from '../CopyButton.tsx';

function Figure({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600}>
        {value}
      </Text>
      {note && (
        <Text size="xs" c="dimmed">
          {note}
        </Text>
      )}
    </div>
  );
}

/** The outputs of a done run (paths to copy, sizes, sha256) and what it took. */
export function SummaryCard({ summary }: { summary: EmbedDoneSummary }) {
  const truncatedNote =
    summary.truncated > 0
      ? 'Documents longer than the model’s max length were cut there: only their beginning is embedded.'
      : 'No document was longer than its model’s max length: every text was embedded whole.';
  return (
    <Card withBorder padding="sm" aria-label="Summary">
      <Text fw={600} size="sm" mb="xs">
        Done: {summary.rows.toLocaleString()} × {summary.dim.toLocaleString()} embeddings
      </Text>
      <Table aria-label="Output files" fz="sm" verticalSpacing={4} mb="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>File</Table.Th>
            <Table.Th>Path</Table.Th>
            <Table.Th>Size</Table.Th>
            <Table.Th>sha256</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {summary.files.map((file) => {
            const id = `path-${file.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
            return (
              <Table.Tr key={file.name}>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{file.name}</Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap" align="start">
                    <Text id={id} size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                      {file.path}
                    </Text>
                    <CopyButton text={file.path} textId={id} label={`Copy the path of ${file.name}`} />
                  </Group>
                </Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{bytes(file.bytes)}</Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }} title={file.sha256}>
                    {file.sha256}
                  </Text>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm">
        <Figure label="Elapsed" value={seconds(summary.elapsedMs / 1000)} />
        <Figure label="Speed" value={perSecond(summary.docsPerSecond, 'docs')} />
        <Figure label="Tokens" value={perSecond(summary.tokensPerSecond, 'tok')} note="real tokens, padding not counted" />
        <Figure label="Truncated" value={`${count(summary.truncated, 'doc')} (${percent(summary.truncatedShare, 1)})`} />
        <Figure label="OOMs recovered" value={summary.oomsRecovered.toLocaleString()} note={`${count(summary.batches, 'batch', 'batches')}`} />
        <Figure label="Cut to fit / on CPU" value={`${summary.cutToFit.toLocaleString()} / ${summary.onCpu.toLocaleString()}`} />
      </SimpleGrid>
      <Text size="xs" c="dimmed" mt="xs">
        {truncatedNote}
      </Text>
    </Card>
  );
}

/** A failed run: why, in one sentence, and what to do. */
export function FailureCard({ failure }: { failure: RunFailure }) {
  return (
    <Alert color="red" title="The run failed" aria-label="Failure">
      <Text size="sm">{failure.why}</Text>
      <Text size="sm" fw={600} mt={4}>
        What to do: {failure.fix}
      </Text>
    </Alert>
  );
}

const batchWords = (s: EmbedSettingsInForce): string =>
  s.batchSize === 'auto' ? `auto, ${s.minBatch}–${s.maxBatch} docs${s.maxBatchTokens === null ? '' : `, ${s.maxBatchTokens.toLocaleString()} tokens pinned`}` : `fixed, ${s.batchSize} docs`;

/** The settings the run works with now (after any change asked while it ran). */
export function SettingsCard({ settings }: { settings: EmbedSettingsInForce }) {
  const rows: [string, string][] = [
    ['Ensemble mode', settings.ensembleMode],
    ['Aggregate', settings.aggregate],
    ['Chunk size', count(settings.chunkSize, 'doc')],
    ['Batches', batchWords(settings)],
    ['Memory target', `${Math.round(settings.targetMemory * 100)}%${settings.vramLimitGiB === null ? '' : ` of ${settings.vramLimitGiB} GiB`}`],
    ['Max length', settings.maxSeqLen === null ? 'the model’s own' : `${settings.maxSeqLen} tokens`],
    ['OOM policy', settings.oomPolicy],
    ['Chunks kept', settings.keepChunks ? 'yes' : 'no'],
  ];
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Settings in force
      </Text>
      <Stack gap={2} mb="xs">
        {settings.models.map((m) => (
          <Text key={m.key} size="sm" style={{ overflowWrap: 'anywhere' }}>
            {m.model}{' '}
            <Text span size="xs" c="dimmed">
              weight {m.weight} · {m.device}
              {m.ranOn && m.ranOn !== m.device ? ` (ran on ${m.ranOn})` : ''}
            </Text>
          </Text>
        ))}
      </Stack>
      <Table aria-label="Settings in force" fz="sm" verticalSpacing={2}>
        <Table.Tbody>
          {rows.map(([name, value]) => (
            <Table.Tr key={name}>
              <Table.Th scope="row" fw={400} c="dimmed" w="40%">
                {name}
              </Table.Th>
              <Table.Td>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
