/**
 * The New sweep form: starts from the contract's defaults (the CLI's), previews the
 * data file's columns (inspectData: rows x columns, each column's type and first
 * values) so the target is chosen by a click, shows the default search space as an
 * editable table, and shows every refusal next to the field it names: the form's
 * own check (TrialsRequest) first, then the Engine's (the runtime reads the data,
 * the target and the space before any run folder exists).
 */
import { Autocomplete, Badge, Button, Card, Checkbox, Group, NumberInput, ScrollArea, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useEffect } from 'react';
import { TRIALS_KIND, TrialsRequest } from '../../../../worker/src/contract/jobs/trials.ts';
import { DeviceKeyword } from '../../../../worker/src/contract/protocol.ts';
import { TrialsEngineName, TrialsSampler } from '../../../../worker/src/contract/trialsProtocol.ts';
import { useStore } from '../../store/index.ts';
import { useSweepForm, type InspectState, type TaskChoice, type Validation } from './formState.ts';
import { RANGE_LABELS, spaceOf, type RangeKey, type SpaceRows } from './space.ts';

const PREVIEW_DELAY_MS = 300;
/** Values shown per column in the preview. */
const SAMPLE_ROWS = 5;
const REQUEST_KEYS = new Set(Object.keys(TrialsRequest.shape));

const asNumber = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

/**
 * The Engine's refusal placed by field: "startRun: trials: ..." at the gate, or a
 * runtime line naming its key first ("target: no column "y" in table.csv"); a line
 * naming no field of the form goes to the form.
 */
export function placeSweepErrors(message: string): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const line of message.split('\n')) {
    const gate = /^(?:startRun: )?([A-Za-z_][\w.]*): (.*)$/s.exec(line);
    const root = gate?.[1]!.split('.')[0];
    const key = gate && root && REQUEST_KEYS.has(root) ? (root === 'space' ? gate[1]!.split('.').slice(0, 2).join('.') : root) : 'form';
    const text = key === 'form' ? line : gate![2]!;
    errors[key] = errors[key] ? `${errors[key]}\n${text}` : text;
  }
  return errors;
}

const cell = (value: number | string | null): string => (value === null ? '—' : typeof value === 'number' ? String(Number(value.toPrecision(6))) : value);

function DataPreview({ inspect, target, onPick }: { inspect: InspectState; target: string; onPick(column: string): void }) {
  if (inspect.error !== null) return null; // said under the Data file field
  const { result } = inspect;
  const shown = Math.min(SAMPLE_ROWS, Math.max(0, ...result.columns.map((c) => c.sample.length)));
  return (
    <Stack gap="xs" aria-label="Preview of the data">
      <Group gap="xs">
        <Text size="sm" fw={500}>
          Preview
        </Text>
        <Badge variant="light">{result.format}</Badge>
        <Text size="sm" c="dimmed" data-testid="data-shape">
          {result.rows.toLocaleString()} rows × {result.columns.length.toLocaleString()} columns{shown ? `; the first ${shown} shown` : ''}
        </Text>
      </Group>
      {result.columns.length > 0 && (
        <>
          <Text size="sm">Click a column to make it the target; the others are the features.</Text>
          <ScrollArea type="auto">
            <Table withTableBorder striped aria-label="Data columns" fz="xs">
              <Table.Thead>
                <Table.Tr>
                  {result.columns.map((column) => (
                    <Table.Th key={column.name}>
                      <UnstyledButton aria-label={`Use column "${column.name}" as the target`} aria-pressed={column.name === target} onClick={() => onPick(column.name)} style={{ fontWeight: 600, textDecoration: 'underline dotted' }}>
                        {column.name}
                        {column.name === target && (
                          <Badge ml={6} size="xs" variant="filled">
                            target
                          </Badge>
                        )}
                      </UnstyledButton>
                      <Text size="xs" c="dimmed">
                        {column.dtype}
                      </Text>
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {Array.from({ length: shown }, (_, i) => (
                  <Table.Tr key={i}>
                    {result.columns.map((column) => (
                      <Table.Td key={column.name}>{cell(column.sample[i] ?? null)}</Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </>
      )}
    </Stack>
  );
}

/** The search space, one row per parameter, with the defaults shown. */
function SpaceTable({ rows, errors, onChange }: { rows: SpaceRows; errors: Record<string, string>; onChange(rows: SpaceRows): void }) {
  const setRange = (key: RangeKey, patch: Partial<SpaceRows[RangeKey]>): void => onChange({ ...rows, [key]: { ...rows[key], ...patch } });
  return (
    <Table aria-label="Search space" verticalSpacing="xs" fz="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Parameter</Table.Th>
          <Table.Th>Values</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        <Table.Tr>
          <Table.Th scope="row" fw={500}>
            Hidden layers
          </Table.Th>
          <Table.Td>
            <TextInput
              label="Hidden layer shapes"
              description='the shapes to choose from: widths joined by "-", shapes separated by commas'
              value={rows.hidden}
              onChange={(e) => onChange({ ...rows, hidden: e.currentTarget.value })}
              error={errors['space.hidden']}
            />
          </Table.Td>
        </Table.Tr>
        {(Object.keys(RANGE_LABELS) as RangeKey[]).map((key) => (
          <Table.Tr key={key}>
            <Table.Th scope="row" fw={500}>
              {RANGE_LABELS[key]}
            </Table.Th>
            <Table.Td>
              <Group align="start" gap="sm">
                <TextInput w={140} label="from" aria-label={`${RANGE_LABELS[key]} from`} value={rows[key].low} onChange={(e) => setRange(key, { low: e.currentTarget.value })} error={errors[`space.${key}`] ? true : undefined} />
                <TextInput w={140} label="to" aria-label={`${RANGE_LABELS[key]} to`} value={rows[key].high} onChange={(e) => setRange(key, { high: e.currentTarget.value })} error={errors[`space.${key}`] ? true : undefined} />
                <Checkbox mt={32} label="log scale" aria-label={`${RANGE_LABELS[key]} on a log scale`} checked={rows[key].log} onChange={(e) => setRange(key, { log: e.currentTarget.checked })} />
              </Group>
              {errors[`space.${key}`] && (
                <Text c="red" size="xs" mt={4}>
                  {errors[`space.${key}`]}
                </Text>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function NewSweepForm() {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const gpus = useStore((s) => s.gpu?.gpus);
  const form = useSweepForm();
  const { set, data, errors, inspect } = form;
  /** A field edited: its error goes (it is checked again at the next start). */
  const edit = (key: string, patch: Parameters<typeof set>[0]): void => set({ ...patch, ...(errors[key] ? { errors: { ...errors, [key]: '' } } : {}) });
  const devices = [...DeviceKeyword.options, ...(gpus ?? []).map((gpu) => `cuda:${gpu.index}`)];

  // The data path typed is inspected once typing pauses; an answer for a path no longer typed is dropped.
  useEffect(() => {
    const path = data.trim();
    if (!api || path === '' || inspect?.path === path) return;
    const timer = setTimeout(() => {
      api.inspectData({ path }).then(
        (result) => useSweepForm.getState().data.trim() === path && set({ inspect: { path, result, error: null } }),
        (error: unknown) => useSweepForm.getState().data.trim() === path && set({ inspect: { path, result: null, error: (error as Error).message } }),
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [api, data, inspect?.path, set]);

  const submit = async (): Promise<void> => {
    const { space, errors: spaceErrors } = spaceOf(form.space);
    const candidate: TrialsRequest = {
      data: data.trim(),
      target: form.target.trim(),
      task: form.task,
      trials: asNumber(form.trials),
      epochs: asNumber(form.epochs),
      patience: asNumber(form.patience),
      folds: form.validation === 'folds' ? asNumber(form.folds) : null,
      valFraction: asNumber(form.valFraction),
      concurrency: form.concurrencyMode === 'auto' ? 'auto' : asNumber(form.concurrency),
      sampler: form.sampler,
      seed: asNumber(form.seed),
      device: form.device,
      engine: form.engine,
      space,
      ...(form.name.trim() === '' ? {} : { name: form.name }),
    };
    const parsed = TrialsRequest.safeParse(candidate);
    const found: Record<string, string> = { ...spaceErrors };
    if (!parsed.success) for (const issue of parsed.error.issues) found[issue.path.map(String).join('.') || 'form'] ??= issue.message;
    if (Object.keys(found).length > 0 || !parsed.success) {
      set({ errors: found });
      return;
    }
    set({ errors: {}, busy: true });
    try {
      const { runId } = await api!.startRun({ kind: TRIALS_KIND, ...parsed.data });
      set({ name: '' }); // a name is for one run; the rest stays for the next
      show('run', runId);
    } catch (error) {
      set({ errors: placeSweepErrors((error as Error).message) });
    } finally {
      set({ busy: false });
    }
  };

  const err = (path: string): string | undefined => errors[path];
  const columns = inspect?.result?.columns.map((c) => c.name) ?? [];
  const shown = inspect && inspect.path === data.trim() ? inspect : null;

  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        New sweep
      </Title>
      <Card withBorder>
        <Stack gap="sm">
          <TextInput label="Name" description="optional: how the runs list shows this sweep" value={form.name} onChange={(e) => edit('name', { name: e.currentTarget.value })} error={err('name')} maxLength={80} />
          <TextInput label="Data file" description="X.npy, table.csv or table.parquet on this machine" value={data} onChange={(e) => edit('data', { data: e.currentTarget.value })} error={err('data') ?? shown?.error ?? undefined} />
          {shown && <DataPreview inspect={shown} target={form.target} onPick={(target) => set({ target, errors: { ...errors, target: '' } })} />}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Autocomplete label="Target" description="a column of the table, or a y.npy file" data={columns} value={form.target} onChange={(target) => edit('target', { target })} error={err('target')} />
            <div>
              <Text size="sm" fw={500}>
                Task
              </Text>
              <SegmentedControl<TaskChoice>
                aria-label="Task"
                data={[
                  { value: 'auto', label: 'auto' },
                  { value: 'regression', label: 'regression (R²)' },
                  { value: 'binary', label: 'binary (AUC)' },
                ]}
                value={form.task}
                onChange={(task) => set({ task })}
              />
              <Text size="xs" c="dimmed">
                auto: binary when the target holds only 0 and 1
              </Text>
            </div>
          </SimpleGrid>
        </Stack>
      </Card>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput clampBehavior="none" label="Trials" min={1} value={form.trials} onChange={(trials) => edit('trials', { trials })} error={err('trials')} />
          <NumberInput clampBehavior="none" label="Epochs" description="at most, per trial" min={1} value={form.epochs} onChange={(epochs) => edit('epochs', { epochs })} error={err('epochs')} />
          <NumberInput clampBehavior="none" label="Patience (epochs)" description="0: never stop early" min={0} value={form.patience} onChange={(patience) => edit('patience', { patience })} error={err('patience')} />
          <div>
            <Text size="sm" fw={500}>
              Validation
            </Text>
            <SegmentedControl<Validation>
              aria-label="Validation"
              data={[
                { value: 'holdout', label: 'held-out part' },
                { value: 'folds', label: 'K folds' },
              ]}
              value={form.validation}
              onChange={(validation) => set({ validation })}
            />
          </div>
          {form.validation === 'folds' ? (
            <NumberInput clampBehavior="none" label="Folds" min={2} max={50} value={form.folds} onChange={(folds) => edit('folds', { folds })} error={err('folds')} />
          ) : (
            <NumberInput clampBehavior="none" label="Validation fraction" min={0.05} max={0.95} step={0.05} decimalScale={3} value={form.valFraction} onChange={(valFraction) => edit('valFraction', { valFraction })} error={err('valFraction')} />
          )}
          <Group align="end" gap="xs" wrap="nowrap">
            <div>
              <Text size="sm" fw={500}>
                Concurrency
              </Text>
              <SegmentedControl<'auto' | 'fixed'>
                aria-label="Concurrency mode"
                data={[
                  { value: 'auto', label: 'auto' },
                  { value: 'fixed', label: 'fixed' },
                ]}
                value={form.concurrencyMode}
                onChange={(concurrencyMode) => set({ concurrencyMode })}
              />
            </div>
            {form.concurrencyMode === 'fixed' && <NumberInput clampBehavior="none" w={110} label="Members at once" min={1} value={form.concurrency} onChange={(concurrency) => edit('concurrency', { concurrency })} error={err('concurrency')} />}
          </Group>
          <Select<TrialsSampler> label="Sampler" data={TrialsSampler.options} value={form.sampler} onChange={(v) => v && set({ sampler: v })} allowDeselect={false} />
          <NumberInput clampBehavior="none" label="Seed" min={0} value={form.seed} onChange={(seed) => edit('seed', { seed })} error={err('seed')} />
          <Select label="Device" data={devices} value={form.device} onChange={(v) => v && set({ device: v })} error={err('device')} allowDeselect={false} />
          <Select<'auto' | TrialsEngineName> label="Engine" description="auto: batched on a GPU, the fastest on a CPU" data={['auto', ...TrialsEngineName.options]} value={form.engine} onChange={(v) => v && set({ engine: v })} error={err('engine')} allowDeselect={false} />
        </SimpleGrid>
      </Card>
      <Card withBorder>
        <Text fw={600} size="sm">
          Search space
        </Text>
        <Text size="xs" c="dimmed" mb="xs">
          The default space is shown; edit any row. Learning rate and weight decay are drawn on a log scale.
        </Text>
        <SpaceTable rows={form.space} errors={errors} onChange={(space) => set({ space, errors: Object.fromEntries(Object.entries(errors).filter(([key]) => !key.startsWith('space'))) })} />
        {err('space') && (
          <Text c="red" size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {err('space')}
          </Text>
        )}
      </Card>
      {err('form') && (
        <Text c="red" role="alert" style={{ whiteSpace: 'pre-wrap' }}>
          {err('form')}
        </Text>
      )}
      <Group>
        <Button onClick={() => void submit()} loading={form.busy}>
          Start sweep
        </Button>
        <Button variant="default" onClick={() => show('runs')}>
          Cancel
        </Button>
      </Group>
    </Stack>
  );
}
