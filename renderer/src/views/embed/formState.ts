/**
 * The embed New run form's state, outside the component: switching to another view
 * and back finds the form as it was left (fields, models, preview, errors). Starts
 * from the contract's defaults, the ones the CLI has.
 */
import { create } from 'zustand';
import type { CorpusPreview } from '../../../../worker/src/contract/api.ts';
import { EMBED_REQUEST_DEFAULTS, EmbedModelRequest } from '../../../../worker/src/contract/jobs/embed.ts';
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
