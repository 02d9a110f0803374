/**
 * The embed New run form's state, outside the component: switching to another view
 * and back finds the form as it was left (fields, models, preview, errors). Starts
 * from the contract's defaults, the ones the CLI has.
 */
import { create } from 'zustand';
import type { CorpusPreview } from '../../../../worker/src/contract/api.ts';
import { EMBED_REQUEST_DEFAULTS, EmbedModelRequest, type OnCritical } from '../../../../worker/src/contract/jobs/embed.ts';
import type { Aggregate, Batching, EnsembleMode, OomPolicy } from '../../../../worker/src/contract/protocol.ts';

const D = EMBED_REQUEST_DEFAULTS;
/** A model row's device when none is chosen (the contract's default). */
export const DEFAULT_DEVICE = EmbedModelRequest.shape.device.parse(undefined);
/** What the fixed batch field offers when one switches to fixed batches (the request's own default is 'auto'). */
const FIXED_BATCH_SUGGESTION = 32;

export type BatchMode = (typeof Batching.shape.mode.options)[number];

export interface ModelRow {
  model: string;
  weight: string;
  device: string;
}

/** What the preview shows for the input typed: its head, or why there is none. */
export type PreviewState = { path: string; result: CorpusPreview; error: null } | { path: string; result: null; error: string };

export interface EmbedFormValues {
  input: string;
  textField: string;
  idField: string;
  name: string;
  models: ModelRow[];
  ensembleMode: EnsembleMode;
  aggregate: Aggregate;
  chunkSize: number | string;
  batchMode: BatchMode;
  batchSize: number | string;
  minBatch: number | string;
  maxBatch: number | string;
  targetMemory: number | string;
  vramLimit: number | string;
  oomPolicy: OomPolicy;
  /** --workers as typed: empty (one worker on the models' devices), "all", or a list (cuda:0,cuda:1 / cpu,cpu). */
  workers: string;
  /** The VRAM guard's levels in percent (the CLI's words); the request takes fractions. */
  vramWarning: number | string;
  vramCritical: number | string;
  onCritical: OnCritical;
}

interface EmbedFormState extends EmbedFormValues {
  preview: PreviewState | null;
  /** Which field a click on a field of the preview chooses. */
  pickFor: 'textField' | 'idField';
  /** Errors by request path (input, textField, models.0.model), and `form` for the rest. */
  errors: Record<string, string>;
  /** The panel's defaults (demo corpus, default model) were applied once: coming back never overwrites what was typed. */
  seeded: boolean;
  /** The desktop app has a file dialog (Browse…); the browser panel has none. */
  desktop: boolean;
  /** A start is in flight. */
  busy: boolean;
  set(patch: Partial<Omit<EmbedFormState, 'set'>>): void;
}

export const emptyRow = (model = ''): ModelRow => ({ model, weight: '', device: DEFAULT_DEVICE });

const initial = (): Omit<EmbedFormState, 'set'> => ({
  input: '',
  textField: D.textField,
  idField: D.idField,
  name: '',
  models: [emptyRow()],
  ensembleMode: D.ensembleMode,
  aggregate: D.aggregate,
  chunkSize: D.chunkSize,
  batchMode: D.batchSize === 'auto' ? 'auto' : 'fixed',
  batchSize: D.batchSize === 'auto' ? FIXED_BATCH_SUGGESTION : D.batchSize,
  minBatch: D.minBatch,
  maxBatch: D.maxBatch,
  targetMemory: D.targetMemory,
  vramLimit: D.vramLimitGiB ?? '',
  oomPolicy: D.oomPolicy,
  workers: D.workers === null ? '' : D.workers.join(','),
  vramWarning: Math.round(D.vramWarning * 100),
  vramCritical: Math.round(D.vramCritical * 100),
  onCritical: D.onCritical,
  preview: null,
  pickFor: 'textField',
  errors: {},
  seeded: false,
  desktop: false,
  busy: false,
});

export const useEmbedForm = create<EmbedFormState>()((set) => ({
  ...initial(),
  set: (patch) => set(patch),
}));

/**
 * The Workers field as the request's list: empty -> null (one worker); "all" -> one per GPU the
 * monitor sees (cuda:0 .. cuda:n-1, as `--workers all`); else the comma-separated devices as
 * typed (the schema checks each). A string: what the field says is wrong.
 */
export function workersOf(text: string, gpus: number): string[] | null | string {
  const typed = text.trim().toLowerCase();
  if (typed === '') return null;
  // cuda:N as the Engine numbers its devices (0 .. n-1), as the CLI's `all` does.
  if (typed === 'all') return gpus > 0 ? Array.from({ length: gpus }, (_, i) => `cuda:${i}`) : '"all" means one worker per GPU, and no NVIDIA GPU is seen here: list devices (cpu,cpu) or leave it empty';
  const devices = typed.split(',').map((device) => device.trim());
  return devices.includes('') ? 'a device is missing between commas: list them as cuda:0,cuda:1 or cpu,cpu' : devices;
}

/** A guard level typed in percent as the request's fraction, or what is wrong with it. */
export function levelOf(value: number | string): number | string {
  const n = value === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) return 'a percent of the device\'s memory';
  if (n <= 0 || n > 100) return 'a percent above 0 and at most 100';
  return n / 100;
}
