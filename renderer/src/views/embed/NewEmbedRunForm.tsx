/**
 * The embed-run form: starts from the contract's defaults (the CLI's), previews the
 * chosen file's first records so its fields can be chosen by a click, keeps its state
 * across views (formState.ts), and shows every refusal next to the field it names:
 * the form's own check (the EmbedRequest schema) first, then the Engine's, which
 * checks the input and every model before it creates anything.
 */
import { ActionIcon, Badge, Button, Card, Group, NumberInput, ScrollArea, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useEffect } from 'react';
import { EMBED_KIND, EMBED_REQUEST_DEFAULTS, EmbedRequest, embedFieldOfLine, type OnCritical } from '../../../../worker/src/contract/jobs/embed.ts';
import { Aggregate, Batching, DeviceKeyword, EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';
import { useStore } from '../../store/index.ts';
import { DEFAULT_DEVICE, emptyRow, levelOf, useEmbedForm, workersOf, type BatchMode, type ModelRow, type PreviewState } from './formState.ts';

/** The device words a request accepts besides cuda:N (one per GPU the monitor sees is added). */
const DEVICE_WORDS = DeviceKeyword.options;
/** Typing pauses this long before the file is previewed. */
const PREVIEW_DELAY_MS = 300;

const asNumber = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

/** The Engine's refusal, one line per field it names ("Model 1: ..."), placed by field; a line naming none goes to the form. */
function placeErrors(message: string): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const line of message.split('\n')) {
    // A refusal at the gate reads "startRun: models.0.model: ...": its path is the field.
    const gate = /^startRun: ([\w.]+): (.*)$/s.exec(line);
    const placed = gate ? { path: gate[1]!, message: gate[2]! } : embedFieldOfLine(line);
    const key = placed?.path ?? 'form';
    errors[key] = errors[key] ? `${errors[key]}\n${placed?.message ?? line}` : (placed?.message ?? line);
  }
  return errors;
}

/**
 * A schema refusal as the form shows it: a worker's device under the Workers field (naming the one typed),
 * any other field by its path.
 */
function formError(path: string[], message: string, candidate: EmbedRequest): [string, string] {
  if (path[0] === 'workers' && path.length > 1) return ['workers', `"${candidate.workers?.[Number(path[1])] ?? ''}": ${message}`];
  return [path.join('.') || 'form', message];
}

/** What the chosen field is missing, from the preview, before anything is asked of the Engine. */
function fieldHint(preview: PreviewState | null, field: string, which: 'textField' | 'idField'): string | undefined {
  const result = preview?.result;
  if (!result || result.format === 'txt' || result.records.length === 0 || field === '') return undefined;
  if (!result.fields.includes(field)) {
    const none = `no record among the first ${result.records.length} has a field "${field}"`;
    if (which === 'textField') return `${none}: click one in the preview`;
    // The default id may be absent (documents are then numbered by line); a field named otherwise is a typo.
    return field === EMBED_REQUEST_DEFAULTS.idField ? undefined : `${none}: click one in the preview, or set "${EMBED_REQUEST_DEFAULTS.idField}" to number documents by line`;
  }
  if (which === 'textField' && !result.textFields.includes(field)) return `"${field}" does not hold text in every record shown`;
  return undefined;
}

function Preview({ preview, onPick, pickFor, setPickFor, textField, idField }: { preview: PreviewState; onPick(field: string): void; pickFor: 'textField' | 'idField'; setPickFor(which: 'textField' | 'idField'): void; textField: string; idField: string }) {
  if (preview.error !== null) return null; // shown under the Input file field
  const result = preview.result;
  const columns = result.format === 'txt' ? ['text'] : result.fields;
  const rows = result.rows !== null ? `${result.rows.toLocaleString()} documents` : result.rowsEstimate !== null ? `about ${result.rowsEstimate.toLocaleString()} documents` : 'documents not counted';
  return (
    <Stack gap="xs" aria-label="Preview of the input">
      <Group gap="xs">
        <Text size="sm" fw={500}>
          Preview
        </Text>
        <Badge variant="light">{result.format}</Badge>
        <Text size="sm" c="dimmed">
          {rows}; the first {result.records.length} shown
        </Text>
      </Group>
      {result.problem && (
        <Text size="sm" c="red">
          {result.problem}
        </Text>
      )}
      {result.format === 'txt' ? (
        <Text size="sm" c="dimmed">
          A .txt file: each line is a document, numbered by its line.
        </Text>
      ) : (
        <Group gap="xs">
          <Text size="sm">Click a field to use it as the</Text>
          <SegmentedControl<'textField' | 'idField'>
            size="xs"
            aria-label="A click on a field chooses the"
            data={[
              { value: 'textField', label: 'Text field' },
              { value: 'idField', label: 'ID field' },
            ]}
            value={pickFor}
            onChange={setPickFor}
          />
        </Group>
      )}
      <ScrollArea type="auto">
        <Table withTableBorder striped aria-label="First records">
          <Table.Thead>
            <Table.Tr>
              {columns.map((field) => {
                const role = field === textField ? 'text' : field === idField ? 'id' : null;
                return (
                  <Table.Th key={field}>
                    {result.format === 'txt' ? (
                      field
                    ) : (
                      <UnstyledButton aria-label={`Use field "${field}"`} aria-pressed={role !== null} onClick={() => onPick(field)} style={{ fontWeight: 600, textDecoration: 'underline dotted' }}>
                        {field}
                        {role && (
                          <Badge ml={6} size="xs" variant="filled">
                            {role}
                          </Badge>
                        )}
                      </UnstyledButton>
                    )}
                  </Table.Th>
                );
              })}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {result.records.map((record, i) => (
              <Table.Tr key={i}>
                {columns.map((field) => (
                  <Table.Td key={field} style={{ maxWidth: 320, overflowWrap: 'anywhere' }}>
                    <Text size="xs" lineClamp={3}>
                      {record[field] ?? ''}
                    </Text>
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Stack>
  );
}

export function NewEmbedRunForm() {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const gpus = useStore((s) => s.gpu?.gpus);
  const form = useEmbedForm();
  const { set, input, models, errors, preview } = form;
  const devices = [...DEVICE_WORDS, ...(gpus ?? []).map((gpu) => `cuda:${gpu.index}`)];

  // The panel's defaults fill an untouched form once; coming back to the form keeps what was typed.
  useEffect(() => {
    if (!api || useEmbedForm.getState().seeded) return;
    void api.defaults({}).then((d) => {
      const now = useEmbedForm.getState();
      set({
        seeded: true,
        desktop: d.desktop,
        input: now.input || d.demoCorpus || '',
        models: now.models.length === 1 && !now.models[0]!.model ? [emptyRow(d.defaultModel)] : now.models,
      });
    });
  }, [api, set]);

  // The file typed is previewed once typing pauses; an answer for a path no longer typed is dropped.
  useEffect(() => {
    const path = input.trim();
    if (!api || path === '' || preview?.path === path) return;
    const timer = setTimeout(() => {
      api.previewInput({ path }).then(
        (result) => useEmbedForm.getState().input.trim() === path && set({ preview: { path, result, error: null } }),
        (error: unknown) => useEmbedForm.getState().input.trim() === path && set({ preview: { path, result: null, error: (error as Error).message } }),
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [api, input, preview?.path, set]);

  const submit = async (): Promise<void> => {
    // The fields the form words itself (percent levels, the workers list): checked here, in the form's words, before the schema.
    const workers = workersOf(form.workers, gpus?.length ?? 0);
    const vramWarning = levelOf(form.vramWarning);
    const vramCritical = levelOf(form.vramCritical);
    const own: Record<string, string> = {};
    if (typeof workers === 'string') own.workers = workers;
    if (typeof vramWarning === 'string') own.vramWarning = vramWarning;
    if (typeof vramCritical === 'string') own.vramCritical = vramCritical;
    const candidate: EmbedRequest = {
      input,
      models: models.map((row) => ({ model: row.model.trim(), device: row.device, ...(row.weight === '' ? {} : { weight: Number(row.weight) }) })),
      ensembleMode: form.ensembleMode,
      aggregate: form.aggregate,
      chunkSize: asNumber(form.chunkSize),
      batchSize: form.batchMode === 'auto' ? 'auto' : asNumber(form.batchSize),
      minBatch: asNumber(form.minBatch),
      maxBatch: asNumber(form.maxBatch),
      targetMemory: asNumber(form.targetMemory),
      vramLimitGiB: form.vramLimit === '' ? null : asNumber(form.vramLimit),
      oomPolicy: form.oomPolicy,
      workers: typeof workers === 'string' ? null : workers,
      vramWarning: typeof vramWarning === 'string' ? EMBED_REQUEST_DEFAULTS.vramWarning : vramWarning,
      vramCritical: typeof vramCritical === 'string' ? EMBED_REQUEST_DEFAULTS.vramCritical : vramCritical,
      onCritical: form.onCritical,
      textField: form.textField.trim(),
      idField: form.idField.trim(),
      ...(form.name.trim() === '' ? {} : { name: form.name }),
    };
    const parsed = EmbedRequest.safeParse(candidate);
    if (!parsed.success || Object.keys(own).length > 0) {
      // A level the form refused stood in as its default: the schema's comparison of the two would then mislead.
      const schema = (parsed.success ? [] : parsed.error.issues.map((issue) => formError(issue.path.map(String), issue.message, candidate))).filter(([key]) => !(key === 'vramWarning' && (own.vramWarning || own.vramCritical)));
      set({ errors: { ...Object.fromEntries(schema), ...own } });
      return;
    }
    set({ errors: {}, busy: true });
    try {
      const { runId } = await api!.startRun({ kind: EMBED_KIND, ...parsed.data });
      set({ name: '' }); // a name is for one run; the rest stays for the next
      show('run', runId);
    } catch (error) {
      set({ errors: placeErrors((error as Error).message) }); // the Engine checks again, and names the fields
    } finally {
      set({ busy: false });
    }
  };

  const err = (path: string): string | undefined => errors[path];
  const setRow = (i: number, patch: Partial<ModelRow>): void => set({ models: models.map((row, j) => (i === j ? { ...row, ...patch } : row)) });
  const txt = preview?.result?.format === 'txt';
  const pick = (field: string): void => {
    const { pickFor } = useEmbedForm.getState();
    set({ [pickFor]: field, errors: { ...errors, [pickFor]: '' } });
    // The text field is usually chosen first; the next click then chooses the id.
    if (pickFor === 'textField') set({ pickFor: 'idField' });
  };

  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        New run
      </Title>
      <Card withBorder>
        <Stack gap="sm">
          <TextInput label="Name" description="optional: how the runs list shows this run" placeholder="e.g. support tickets, March" value={form.name} onChange={(e) => set({ name: e.currentTarget.value })} error={err('name')} maxLength={80} />
          <Group align="end">
            <TextInput
              label="Input file"
              description=".jsonl, .csv or .txt on this machine"
              value={input}
              onChange={(e) => set({ input: e.currentTarget.value })}
              error={err('input') ?? preview?.error ?? undefined}
              style={{ flex: 1 }}
            />
            {form.desktop && (
              <Button variant="default" onClick={() => void api?.chooseInputFile({}).then(({ path }) => path && set({ input: path }))}>
                Browse…
              </Button>
            )}
          </Group>
          {preview && preview.path === input.trim() && <Preview preview={preview} onPick={pick} pickFor={form.pickFor} setPickFor={(which) => set({ pickFor: which })} textField={form.textField} idField={form.idField} />}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="Text field"
              description="the field (.jsonl) or column (.csv) holding each document's text"
              value={form.textField}
              disabled={txt}
              onChange={(e) => set({ textField: e.currentTarget.value })}
              error={err('textField') || fieldHint(preview, form.textField, 'textField')}
            />
            <TextInput
              label="ID field"
              description="each document's id; documents are numbered by line where it is absent"
              value={form.idField}
              disabled={txt}
              onChange={(e) => set({ idField: e.currentTarget.value })}
              error={err('idField') || fieldHint(preview, form.idField, 'idField')}
            />
          </SimpleGrid>
          <Text fw={500} size="sm">
            Models
          </Text>
          {models.map((row, i) => (
            <Group key={i} align="start" wrap="nowrap">
              <TextInput aria-label={`Model ${i + 1}`} placeholder="hub name or local folder" value={row.model} onChange={(e) => setRow(i, { model: e.currentTarget.value })} error={err(`models.${i}.model`)} style={{ flex: 1 }} />
              <TextInput aria-label={`Weight ${i + 1}`} placeholder="weight (equal)" w={130} value={row.weight} onChange={(e) => setRow(i, { weight: e.currentTarget.value })} error={err(`models.${i}.weight`)} />
              <Select aria-label={`Device ${i + 1}`} data={devices} w={110} value={row.device} onChange={(value) => setRow(i, { device: value ?? DEFAULT_DEVICE })} error={err(`models.${i}.device`)} allowDeselect={false} />
              <ActionIcon variant="subtle" color="gray" size="lg" aria-label={`Remove model ${i + 1}`} disabled={models.length === 1} onClick={() => set({ models: models.filter((_, j) => j !== i) })}>
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
            <Button variant="light" size="xs" onClick={() => set({ models: [...models, emptyRow()] })}>
              Add model
            </Button>
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <div>
              <Text size="sm" fw={500}>
                Ensemble mode
              </Text>
              <SegmentedControl<EnsembleMode> aria-label="Ensemble mode" data={EnsembleMode.options} value={form.ensembleMode} onChange={(value) => set({ ensembleMode: value })} />
            </div>
            <div>
              <Text size="sm" fw={500}>
                Aggregate
              </Text>
              <SegmentedControl<Aggregate> aria-label="Aggregate" data={Aggregate.options} value={form.aggregate} onChange={(value) => set({ aggregate: value })} />
            </div>
          </SimpleGrid>
        </Stack>
      </Card>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput clampBehavior="none" label="Chunk size (documents)" min={1} value={form.chunkSize} onChange={(value) => set({ chunkSize: value })} error={err('chunkSize')} />
          <div>
            <Text size="sm" fw={500}>
              Batch size
            </Text>
            <SegmentedControl<BatchMode> aria-label="Batch size mode" data={Batching.shape.mode.options} value={form.batchMode} onChange={(value) => set({ batchMode: value })} />
          </div>
          {form.batchMode === 'fixed' ? (
            <NumberInput clampBehavior="none" label="Fixed batch (documents)" min={1} value={form.batchSize} onChange={(value) => set({ batchSize: value })} error={err('batchSize')} />
          ) : (
            <NumberInput clampBehavior="none" label="Target memory (fraction)" min={0.05} max={1} step={0.05} decimalScale={2} value={form.targetMemory} onChange={(value) => set({ targetMemory: value })} error={err('targetMemory')} />
          )}
          <NumberInput clampBehavior="none" label="Floor (min docs per batch)" min={1} value={form.minBatch} onChange={(value) => set({ minBatch: value })} error={err('minBatch')} />
          <NumberInput clampBehavior="none" label="Ceiling (max docs per batch)" min={1} value={form.maxBatch} onChange={(value) => set({ maxBatch: value })} error={err('maxBatch')} />
          <NumberInput clampBehavior="none" label="VRAM limit (GiB)" placeholder="no limit" min={0.1} step={0.5} value={form.vramLimit} onChange={(value) => set({ vramLimit: value })} error={err('vramLimitGiB')} />
          <Select<OomPolicy> label="OOM policy" description="when one document alone does not fit" data={OomPolicy.options} value={form.oomPolicy} onChange={(v) => v && set({ oomPolicy: v })} allowDeselect={false} />
        </SimpleGrid>
      </Card>
      <Card withBorder>
        <Stack gap="sm">
          <TextInput
            label="Workers"
            description={`empty: one worker on the models' devices; "all": one per GPU${gpus?.length ? ` (${gpus.length} here)` : ''}; or a list, one worker each: cuda:0,cuda:1 or cpu,cpu`}
            placeholder="one worker"
            value={form.workers}
            onChange={(e) => set({ workers: e.currentTarget.value })}
            error={err('workers')}
          />
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <NumberInput clampBehavior="none" label="VRAM warning (%)" description="of the device, or of the VRAM limit" min={1} max={100} value={form.vramWarning} onChange={(value) => set({ vramWarning: value })} error={err('vramWarning')} />
            <NumberInput clampBehavior="none" label="VRAM critical (%)" description="the guard acts past it" min={1} max={100} value={form.vramCritical} onChange={(value) => set({ vramCritical: value })} error={err('vramCritical')} />
            <div>
              {/* "At critical": the contract's label for onCritical (FORM_LABELS), the words the Engine's refusals use. */}
              <Text size="sm" fw={500}>
                At critical
              </Text>
              <SegmentedControl<OnCritical>
                aria-label="At critical"
                data={[
                  { value: 'shrink', label: 'shrink budget' },
                  { value: 'pause', label: 'pause run' },
                ]}
                value={form.onCritical}
                onChange={(value) => set({ onCritical: value })}
              />
              {err('onCritical') && (
                <Text c="red" size="xs">
                  {err('onCritical')}
                </Text>
              )}
            </div>
          </SimpleGrid>
        </Stack>
      </Card>
      {err('form') && (
        <Text c="red" role="alert" style={{ whiteSpace: 'pre-wrap' }}>
          {err('form')}
        </Text>
      )}
      <Group>
        <Button onClick={() => void submit()} loading={form.busy}>
          Start run
        </Button>
        <Button variant="default" onClick={() => show('runs')}>
          Cancel
        </Button>
      </Group>
    </Stack>
  );
}
