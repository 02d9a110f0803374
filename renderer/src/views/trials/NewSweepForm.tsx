/**
 * The New sweep form: starts from the contract's defaults (the CLI's), previews the
 * data file's columns (inspectData: rows x columns, each column's type and first
 * values) so the target is chosen by a click, offers the model families to compare
 * (NN checked) and the tree workers, shows each chosen family's default search space
 * as an editable table, and shows every refusal next to the field it names: the
 * form's own check (TrialsRequest) first, then the Engine's (the runtime reads the
 * data, the target and the spaces, and finds each family's library, before any run
 * folder exists).
 */
import { Autocomplete, Badge, Button, Card, Checkbox, Group, NumberInput, ScrollArea, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useEffect } from 'react';
import { TRIALS_KIND, TrialsRequest } from '../../../../worker/src/contract/jobs/trials.ts';
import { DeviceKeyword } from '../../../../worker/src/contract/protocol.ts';
import { TrialsEngineName, TrialsFamily, TrialsSampler } from '../../../../worker/src/contract/trialsProtocol.ts';
import { useStore } from '../../store/index.ts';
import { FAMILY_LABEL } from './families.ts';
import { useSweepForm, type InspectState, type TaskChoice, type Validation } from './formState.ts';
import { PARAM_HINTS, paramName, spacesOf, type ParamRow, type RangeRow } from './space.ts';

const PREVIEW_DELAY_MS = 300;
/** Values shown per column in the preview. */
const SAMPLE_ROWS = 5;
const REQUEST_KEYS = new Set(Object.keys(TrialsRequest.shape));

const asNumber = (value: number | string): number => (value === '' ? Number.NaN : Number(value));

/** A runtime line about a family's space or library: "space: xgboost: key 'max_depth': ...", "space, family nn: key 'lr': ...", "family 'catboost': ...". */
function familyLine(line: string): { key: string; text: string } | null {
  const space = /^(?:startRun: )?[^:,]*(?:, family |: )(nn|xgboost|lightgbm|catboost): key '([^']+)': (.*)$/s.exec(line);
  if (space) return { key: `space.${space[1]}.${space[2]}`, text: space[3]! };
  const library = /^(?:startRun: )?family '(\w+)': (.*)$/s.exec(line);
  if (library) return { key: 'families', text: `${library[1]}: ${library[2]}` };
  return null;
}

/**
 * The Engine's refusal placed by field: "startRun: trials: ..." at the gate, or a
 * runtime line naming its key first ("target: no column "y" in table.csv", "space:
 * xgboost: key 'max_depth': ..."); a line naming no field of the form goes to the form.
 */
export function placeSweepErrors(message: string): Record<string, string> {
  const errors: Record<string, string> = {};
  const add = (key: string, text: string): void => {
    errors[key] = errors[key] ? `${errors[key]}\n${text}` : text;
  };
  for (const line of message.split('\n')) {
    const family = familyLine(line);
    if (family) {
      add(family.key, family.text);
      continue;
    }
    const gate = /^(?:startRun: )?([A-Za-z_][\w.]*): (.*)$/s.exec(line);
    const root = gate?.[1]!.split('.')[0];
    const key = gate && root && REQUEST_KEYS.has(root) ? (root === 'space' ? gate[1]!.split('.').slice(0, 3).join('.') : root) : 'form';
    add(key, key === 'form' ? line : gate![2]!);
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

/** A range's inputs: from, to, log scale; labelled by family and parameter so every family's rows stay apart. */
function RangeInputs({ family, row, error, onChange }: { family: TrialsFamily; row: RangeRow; error: string | undefined; onChange(row: RangeRow): void }) {
  const name = family === 'nn' ? paramName(family, row.key) : `${FAMILY_LABEL[family]} ${row.key}`;
  return (
    <>
      <Group align="start" gap="sm" wrap="nowrap">
        <TextInput w={120} label="from" aria-label={`${name} from`} value={row.low} onChange={(e) => onChange({ ...row, low: e.currentTarget.value })} error={error ? true : undefined} />
        <TextInput w={120} label="to" aria-label={`${name} to`} value={row.high} onChange={(e) => onChange({ ...row, high: e.currentTarget.value })} error={error ? true : undefined} />
        <Checkbox mt={32} label="log scale" aria-label={`${name} on a log scale`} checked={row.log} onChange={(e) => onChange({ ...row, log: e.currentTarget.checked })} />
        {row.whole && (
          <Text mt={34} size="xs" c="dimmed">
            whole numbers
          </Text>
        )}
      </Group>
      {error && (
        <Text c="red" size="xs" mt={4} style={{ whiteSpace: 'pre-wrap' }}>
          {error}
        </Text>
      )}
    </>
  );
}

/** A family's search space, one row per parameter, its default shown. */
export function SpaceTable({ family, rows, errors, onChange }: { family: TrialsFamily; rows: readonly ParamRow[]; errors: Record<string, string>; onChange(rows: ParamRow[]): void }) {
  const setRow = (i: number, row: ParamRow): void => onChange(rows.map((r, j) => (j === i ? row : r)));
  return (
    <Table aria-label={`Search space of ${FAMILY_LABEL[family]}`} verticalSpacing={6} fz="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th w="34%">Parameter</Table.Th>
          <Table.Th>Values</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((row, i) => {
          const error = errors[`space.${family}.${row.key}`];
          return (
            <Table.Tr key={row.key}>
              <Table.Th scope="row" fw={500}>
                {family === 'nn' ? (
                  row.kind === 'shapes' ? (
                    'Hidden layers'
                  ) : (
                    paramName(family, row.key)
                  )
                ) : (
                  <>
                    <Text span ff="monospace" size="sm">
                      {row.key}
                    </Text>
                    {PARAM_HINTS[row.key] && (
                      <Text size="xs" c="dimmed" fw={400}>
                        {PARAM_HINTS[row.key]}
                      </Text>
                    )}
                  </>
                )}
              </Table.Th>
              <Table.Td>
                {row.kind === 'shapes' ? (
                  <TextInput
                    label="Hidden layer shapes"
                    description='the shapes to choose from: widths joined by "-", shapes separated by commas'
                    value={row.text}
                    onChange={(e) => setRow(i, { ...row, text: e.currentTarget.value })}
                    error={error}
                  />
                ) : (
                  <RangeInputs family={family} row={row} error={error} onChange={(next) => setRow(i, next)} />
                )}
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}

const FAMILY_CHOICE: Record<TrialsFamily, string> = {
  nn: 'NN (PyTorch networks, trained batched)',
  xgboost: 'XGBoost',
  lightgbm: 'LightGBM',
  catboost: 'CatBoost',
};

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

  const families = TrialsFamily.options.filter((f) => form.families.includes(f));
  const trees = families.some((f) => f !== 'nn');
  const nn = families.includes('nn');

  const submit = async (): Promise<void> => {
    const { space, errors: spaceErrors } = spacesOf(families, form.space);
    const candidate: TrialsRequest = {
      data: data.trim(),
      target: form.target.trim(),
      task: form.task,
      families,
      treeWorkers: form.treeWorkersMode === 'auto' ? 'auto' : asNumber(form.treeWorkers),
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
    // A space's issue goes to its row (space.<family>.<param>), any other to its field.
    if (!parsed.success) for (const issue of parsed.error.issues) found[(issue.path[0] === 'space' ? issue.path.slice(0, 3) : issue.path.slice(0, 1)).map(String).join('.') || 'form'] ??= issue.message;
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
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Checkbox.Group
            label="Model families"
            description="each gets its own study and the number of trials below; they run one after another, each with the whole machine"
            value={form.families}
            onChange={(chosen) => edit('families', { families: chosen as TrialsFamily[] })}
            error={err('families')}
          >
            <Stack gap={6} mt={6}>
              {TrialsFamily.options.map((family) => (
                <Checkbox key={family} value={family} label={FAMILY_CHOICE[family]} />
              ))}
            </Stack>
          </Checkbox.Group>
          {trees && (
            <Group align="end" gap="xs" wrap="nowrap">
              <div>
                <Text size="sm" fw={500}>
                  Tree workers
                </Text>
                <Text size="xs" c="dimmed" mb={4}>
                  processes per GPU training tree trials side by side (on a CPU, processes with the cores split between them); auto: from the first trial&apos;s measured peak on a GPU, up to 4 on a CPU
                </Text>
                <SegmentedControl<'auto' | 'fixed'>
                  aria-label="Tree workers mode"
                  data={[
                    { value: 'auto', label: 'auto' },
                    { value: 'fixed', label: 'fixed' },
                  ]}
                  value={form.treeWorkersMode}
                  onChange={(treeWorkersMode) => set({ treeWorkersMode })}
                />
              </div>
              {form.treeWorkersMode === 'fixed' && <NumberInput clampBehavior="none" w={110} label="Workers" min={1} max={64} value={form.treeWorkers} onChange={(treeWorkers) => edit('treeWorkers', { treeWorkers })} error={err('treeWorkers')} />}
            </Group>
          )}
        </SimpleGrid>
      </Card>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput clampBehavior="none" label="Trials" description={families.length > 1 ? 'per family' : undefined} min={1} value={form.trials} onChange={(trials) => edit('trials', { trials })} error={err('trials')} />
          <NumberInput clampBehavior="none" label="Epochs" description={trees ? 'at most, per NN trial' : 'at most, per trial'} disabled={!nn} min={1} value={form.epochs} onChange={(epochs) => edit('epochs', { epochs })} error={err('epochs')} />
          <NumberInput clampBehavior="none" label="Patience (epochs)" description={trees ? 'NN trials; 0: never stop early' : '0: never stop early'} disabled={!nn} min={0} value={form.patience} onChange={(patience) => edit('patience', { patience })} error={err('patience')} />
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
                Concurrency{trees ? ' (NN)' : ''}
              </Text>
              <SegmentedControl<'auto' | 'fixed'>
                aria-label="Concurrency mode"
                data={[
                  { value: 'auto', label: 'auto' },
                  { value: 'fixed', label: 'fixed' },
                ]}
                value={form.concurrencyMode}
                onChange={(concurrencyMode) => set({ concurrencyMode })}
                disabled={!nn}
              />
            </div>
            {form.concurrencyMode === 'fixed' && <NumberInput clampBehavior="none" w={110} label="Members at once" min={1} value={form.concurrency} onChange={(concurrency) => edit('concurrency', { concurrency })} error={err('concurrency')} />}
          </Group>
          <Select<TrialsSampler> label="Sampler" data={TrialsSampler.options} value={form.sampler} onChange={(v) => v && set({ sampler: v })} allowDeselect={false} />
          <NumberInput clampBehavior="none" label="Seed" min={0} value={form.seed} onChange={(seed) => edit('seed', { seed })} error={err('seed')} />
          <Select label="Device" data={devices} value={form.device} onChange={(v) => v && set({ device: v })} error={err('device')} allowDeselect={false} />
          <Select<'auto' | TrialsEngineName> label={trees ? 'Engine (NN)' : 'Engine'} description="auto: batched on a GPU, the fastest on a CPU" data={['auto', ...TrialsEngineName.options]} disabled={!nn} value={form.engine} onChange={(v) => v && set({ engine: v })} error={err('engine')} allowDeselect={false} />
        </SimpleGrid>
      </Card>
      {families.map((family) => (
        <Card withBorder key={family}>
          <Text fw={600} size="sm">
            Search space: {FAMILY_LABEL[family]}
          </Text>
          <Text size="xs" c="dimmed" mb="xs">
            {family === 'nn' ? 'The default space is shown; edit any row. Learning rate and weight decay are drawn on a log scale.' : `The default space of ${FAMILY_LABEL[family]} is shown; edit any row. The rounds stop early once the validation part stops improving.`}
          </Text>
          <SpaceTable
            family={family}
            rows={form.space[family]}
            errors={errors}
            onChange={(rows) => set({ space: { ...form.space, [family]: rows }, errors: Object.fromEntries(Object.entries(errors).filter(([key]) => !key.startsWith(`space.${family}`) && key !== 'space')) })}
          />
        </Card>
      ))}
      {err('space') && (
        <Text c="red" size="sm" style={{ whiteSpace: 'pre-wrap' }}>
          {err('space')}
        </Text>
      )}
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
