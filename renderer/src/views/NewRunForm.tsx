import { ActionIcon, Button, Card, Group, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { StartRunSpec } from '../../../worker/src/contract/api.ts';
import { useStore } from '../store.ts';

interface ModelRow {
  model: string;
  weight: string;
  device: string;
}

const DEVICES = ['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:1'];

/** The embed-run form: checked with the contract's own schema before anything starts. */
export function NewRunForm() {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const [desktop, setDesktop] = useState(false);
  const [input, setInput] = useState('');
  const [models, setModels] = useState<ModelRow[]>([{ model: '', weight: '', device: 'auto' }]);
  const [ensembleMode, setEnsembleMode] = useState<'simultaneous' | 'sequential'>('simultaneous');
  const [aggregate, setAggregate] = useState<'concat' | 'mean'>('concat');
  const [chunkSize, setChunkSize] = useState<number | string>(500);
  const [batchMode, setBatchMode] = useState<'auto' | 'fixed'>('auto');
  const [batchSize, setBatchSize] = useState<number | string>(32);
  const [minBatch, setMinBatch] = useState<number | string>(8);
  const [maxBatch, setMaxBatch] = useState<number | string>(512);
  const [targetMemory, setTargetMemory] = useState<number | string>(0.85);
  const [vramLimit, setVramLimit] = useState<number | string>('');
  const [oomPolicy, setOomPolicy] = useState<'fail' | 'cpu' | 'truncate'>('fail');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void api?.defaults({}).then((d) => {
      setDesktop(d.desktop);
      setInput((current) => current || d.demoCorpus || '');
      setModels((rows) => (rows.length === 1 && !rows[0]!.model ? [{ model: d.defaultModel, weight: '', device: 'auto' }] : rows));
    });
  }, [api]);

  const asNumber = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

  const submit = async (): Promise<void> => {
    const candidate = {
      input,
      models: models.map((row) => ({ model: row.model.trim(), device: row.device, ...(row.weight === '' ? {} : { weight: Number(row.weight) }) })),
      ensembleMode,
      aggregate,
      chunkSize: asNumber(chunkSize),
      batchSize: batchMode === 'auto' ? 'auto' : asNumber(batchSize),
      minBatch: asNumber(minBatch),
      maxBatch: asNumber(maxBatch),
      targetMemory: asNumber(targetMemory),
      vramLimitGiB: vramLimit === '' ? null : asNumber(vramLimit),
      oomPolicy,
    };
    const parsed = StartRunSpec.safeParse(candidate);
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((issue) => [issue.path.join('.'), issue.message])));
      return;
    }
    if (models.some((row) => row.weight !== '') && models.some((row) => row.weight === '')) {
      setErrors({ 'models.0.weight': 'give every model a weight, or none (equal weights)' });
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const { runId } = await api!.startRun(candidate as never);
      show('run', runId);
    } catch (error) {
      setErrors({ form: (error as Error).message }); // the Engine checks again: its word is shown as is
    } finally {
      setBusy(false);
    }
  };

  const err = (path: string): string | undefined => errors[path];
  const setRow = (i: number, patch: Partial<ModelRow>): void => setModels(models.map((row, j) => (i === j ? { ...row, ...patch } : row)));

  return (
    <Stack maw={880}>
      <Title order={3}>New run</Title>
      <Card withBorder>
        <Stack gap="sm">
          <Group align="end">
            <TextInput label="Input file" description=".jsonl, .csv or .txt on this machine" value={input} onChange={(e) => setInput(e.currentTarget.value)} error={err('input')} style={{ flex: 1 }} />
            {desktop && (
              <Button variant="default" onClick={() => void api?.chooseInputFile({}).then(({ path }) => path && setInput(path))}>
                Browse…
              </Button>
            )}
          </Group>
          <Text fw={500} size="sm">
            Models
          </Text>
          {models.map((row, i) => (
            <Group key={i} align="start" wrap="nowrap">
              <TextInput aria-label={`Model ${i + 1}`} placeholder="hub name or local folder" value={row.model} onChange={(e) => setRow(i, { model: e.currentTarget.value })} error={err(`models.${i}.model`)} style={{ flex: 1 }} />
              <TextInput aria-label={`Weight ${i + 1}`} placeholder="weight (equal)" w={130} value={row.weight} onChange={(e) => setRow(i, { weight: e.currentTarget.value })} error={err(`models.${i}.weight`)} />
              <Select aria-label={`Device ${i + 1}`} data={DEVICES} w={110} value={row.device} onChange={(value) => setRow(i, { device: value ?? 'auto' })} allowDeselect={false} />
              <ActionIcon variant="subtle" color="gray" size="lg" aria-label={`Remove model ${i + 1}`} disabled={models.length === 1} onClick={() => setModels(models.filter((_, j) => j !== i))}>
                ×
              </ActionIcon>
            </Group>
          ))}
          {err('models') && (
            <Text c="red" size="sm">
              {err('models')}
            </Text>
          )}
          <Group>
            <Button variant="light" size="xs" onClick={() => setModels([...models, { model: '', weight: '', device: 'auto' }])}>
              Add model
            </Button>
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <div>
              <Text size="sm" fw={500}>
                Ensemble mode
              </Text>
              <SegmentedControl aria-label="Ensemble mode" data={['simultaneous', 'sequential']} value={ensembleMode} onChange={(v) => setEnsembleMode(v as typeof ensembleMode)} />
            </div>
            <div>
              <Text size="sm" fw={500}>
                Aggregate
              </Text>
              <SegmentedControl aria-label="Aggregate" data={['concat', 'mean']} value={aggregate} onChange={(v) => setAggregate(v as typeof aggregate)} />
            </div>
          </SimpleGrid>
        </Stack>
      </Card>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput clampBehavior="none" label="Chunk size (documents)" min={1} value={chunkSize} onChange={setChunkSize} error={err('chunkSize')} />
          <div>
            <Text size="sm" fw={500}>
              Batch size
            </Text>
            <SegmentedControl aria-label="Batch size mode" data={['auto', 'fixed']} value={batchMode} onChange={(v) => setBatchMode(v as typeof batchMode)} />
          </div>
          {batchMode === 'fixed' ? (
            <NumberInput clampBehavior="none" label="Fixed batch (documents)" min={1} value={batchSize} onChange={setBatchSize} error={err('batchSize')} />
          ) : (
            <NumberInput clampBehavior="none" label="Target memory (fraction)" min={0.05} max={1} step={0.05} decimalScale={2} value={targetMemory} onChange={setTargetMemory} error={err('targetMemory')} />
          )}
          <NumberInput clampBehavior="none" label="Floor (min docs per batch)" min={1} value={minBatch} onChange={setMinBatch} error={err('minBatch')} />
          <NumberInput clampBehavior="none" label="Ceiling (max docs per batch)" min={1} value={maxBatch} onChange={setMaxBatch} error={err('maxBatch')} />
          <NumberInput clampBehavior="none" label="VRAM limit (GiB)" placeholder="no limit" min={0.1} step={0.5} value={vramLimit} onChange={setVramLimit} error={err('vramLimitGiB')} />
          <Select label="OOM policy" description="when one document alone does not fit" data={['fail', 'cpu', 'truncate']} value={oomPolicy} onChange={(v) => setOomPolicy((v ?? 'fail') as typeof oomPolicy)} allowDeselect={false} />
        </SimpleGrid>
      </Card>
      {err('form') && (
        <Text c="red" role="alert">
          {err('form')}
        </Text>
      )}
      <Group>
        <Button onClick={() => void submit()} loading={busy}>
          Start run
        </Button>
        <Button variant="default" onClick={() => show('runs')}>
          Cancel
        </Button>
      </Group>
    </Stack>
  );
}
