/** The embed-run form: starts from the contract's defaults and is checked with its EmbedRequest before anything starts. */
import { ActionIcon, Button, Card, Group, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { EMBED_KIND, EMBED_REQUEST_DEFAULTS, EmbedModelRequest, EmbedRequest } from '../../../../worker/src/contract/jobs/embed.ts';
import { Aggregate, Batching, DeviceKeyword, EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';
import { useStore } from '../../store/index.ts';

const D = EMBED_REQUEST_DEFAULTS;
/** A model row's device when none is chosen (the contract's default). */
const DEFAULT_DEVICE = EmbedModelRequest.shape.device.parse(undefined);
/** The device words a request accepts besides cuda:N (one per GPU the monitor sees is added). */
const DEVICE_WORDS = DeviceKeyword.options;
/** What the fixed batch field offers when one switches to fixed batches (the request's own default is 'auto'). */
const FIXED_BATCH_SUGGESTION = 32;

type BatchMode = (typeof Batching.shape.mode.options)[number];

interface ModelRow {
  model: string;
  weight: string;
  device: string;
}

const emptyRow = (model = ''): ModelRow => ({ model, weight: '', device: DEFAULT_DEVICE });
const asNumber = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

export function NewEmbedRunForm() {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const gpus = useStore((s) => s.gpu?.gpus);
  const [desktop, setDesktop] = useState(false);
  const [input, setInput] = useState('');
  const [models, setModels] = useState<ModelRow[]>([emptyRow()]);
  const [ensembleMode, setEnsembleMode] = useState<EnsembleMode>(D.ensembleMode);
  const [aggregate, setAggregate] = useState<Aggregate>(D.aggregate);
  const [chunkSize, setChunkSize] = useState<number | string>(D.chunkSize);
  const [batchMode, setBatchMode] = useState<BatchMode>(D.batchSize === 'auto' ? 'auto' : 'fixed');
  const [batchSize, setBatchSize] = useState<number | string>(D.batchSize === 'auto' ? FIXED_BATCH_SUGGESTION : D.batchSize);
  const [minBatch, setMinBatch] = useState<number | string>(D.minBatch);
  const [maxBatch, setMaxBatch] = useState<number | string>(D.maxBatch);
  const [targetMemory, setTargetMemory] = useState<number | string>(D.targetMemory);
  const [vramLimit, setVramLimit] = useState<number | string>(D.vramLimitGiB ?? '');
  const [oomPolicy, setOomPolicy] = useState<OomPolicy>(D.oomPolicy);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const devices = [...DEVICE_WORDS, ...(gpus ?? []).map((gpu) => `cuda:${gpu.index}`)];

  useEffect(() => {
    void api?.defaults({}).then((d) => {
      setDesktop(d.desktop);
      setInput((current) => current || d.demoCorpus || '');
      setModels((rows) => (rows.length === 1 && !rows[0]!.model ? [emptyRow(d.defaultModel)] : rows));
    });
  }, [api]);

  const submit = async (): Promise<void> => {
    const candidate: EmbedRequest = {
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
    const parsed = EmbedRequest.safeParse(candidate);
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((issue) => [issue.path.map(String).join('.'), issue.message])));
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const { runId } = await api!.startRun({ kind: EMBED_KIND, ...parsed.data });
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
              <Select aria-label={`Device ${i + 1}`} data={devices} w={110} value={row.device} onChange={(value) => setRow(i, { device: value ?? DEFAULT_DEVICE })} error={err(`models.${i}.device`)} allowDeselect={false} />
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
            <Button variant="light" size="xs" onClick={() => setModels([...models, emptyRow()])}>
              Add model
            </Button>
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <div>
              <Text size="sm" fw={500}>
                Ensemble mode
              </Text>
              <SegmentedControl<EnsembleMode> aria-label="Ensemble mode" data={EnsembleMode.options} value={ensembleMode} onChange={setEnsembleMode} />
            </div>
            <div>
              <Text size="sm" fw={500}>
                Aggregate
              </Text>
              <SegmentedControl<Aggregate> aria-label="Aggregate" data={Aggregate.options} value={aggregate} onChange={setAggregate} />
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
            <SegmentedControl<BatchMode> aria-label="Batch size mode" data={Batching.shape.mode.options} value={batchMode} onChange={setBatchMode} />
          </div>
          {batchMode === 'fixed' ? (
            <NumberInput clampBehavior="none" label="Fixed batch (documents)" min={1} value={batchSize} onChange={setBatchSize} error={err('batchSize')} />
          ) : (
            <NumberInput clampBehavior="none" label="Target memory (fraction)" min={0.05} max={1} step={0.05} decimalScale={2} value={targetMemory} onChange={setTargetMemory} error={err('targetMemory')} />
          )}
          <NumberInput clampBehavior="none" label="Floor (min docs per batch)" min={1} value={minBatch} onChange={setMinBatch} error={err('minBatch')} />
          <NumberInput clampBehavior="none" label="Ceiling (max docs per batch)" min={1} value={maxBatch} onChange={setMaxBatch} error={err('maxBatch')} />
          <NumberInput clampBehavior="none" label="VRAM limit (GiB)" placeholder="no limit" min={0.1} step={0.5} value={vramLimit} onChange={setVramLimit} error={err('vramLimitGiB')} />
          <Select<OomPolicy> label="OOM policy" description="when one document alone does not fit" data={OomPolicy.options} value={oomPolicy} onChange={(v) => v && setOomPolicy(v)} allowDeselect={false} />
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
