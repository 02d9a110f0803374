/**
 * Ensemble specs and the arithmetic that joins them: each model's embeddings are
 * L2-normalised, scaled by the model's weight, then concatenated or averaged.
 * A one-model run is an ensemble of one, and keeps the model's own vectors.
 */
import { Weight, WEIGHT_MAX, WEIGHT_MIN } from '../../contract/jobs/embed.js';
import { EnsembleMode, type Aggregate } from '../../contract/protocol.js';
import { HeadroomError } from '../../errors.js';
import { redact } from '../../redact.js';
import type { ModelEntry } from './manifest.js';
import { modelKey } from './modelKey.js';

export interface ModelRequest {
  model: string;
  device: string;
}

export const ENSEMBLE_MODE_ENV = 'HEADROOM_ENSEMBLE_MODE';

/** Why a weight cannot be used (undefined when it can), in the CLI's words; the rule is the contract's Weight. */
export function weightProblem(weight: number): string | undefined {
  if (Weight.safeParse(weight).success) return undefined;
  return Number.isFinite(weight) ? `must be from ${WEIGHT_MIN} to ${WEIGHT_MAX}` : 'must be a finite number';
}

/** One weight per model, or none. */
export function checkWeightCount(weights: readonly number[] | undefined, models: number): void {
  if (weights !== undefined && weights.length !== models) {
    throw new HeadroomError('usage', `--weights has ${weights.length} value(s) but there are ${models} model(s); give one weight per --model`);
  }
}

/** Models with their keys (unique: a model listed twice gets -2, -3) and weights (default equal). */
export function ensembleEntries(requests: ModelRequest[], weights: number[] | undefined): ModelEntry[] {
  if (requests.length === 0) throw new HeadroomError('usage', 'an embed run needs at least one --model');
  checkWeightCount(weights, requests.length);
  for (const [i, weight] of (weights ?? []).entries()) {
    const problem = weightProblem(weight);
    if (problem) throw new HeadroomError('usage', `--weights: weight ${i + 1} (${weight}) ${problem}`);
  }
  const seen = new Map<string, number>();
  return requests.map((request, i) => {
    const base = modelKey(redact(request.model)); // a credential in a URL must not name a folder
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return {
      model: request.model,
      key: count === 1 ? base : `${base}-${count}`,
      weight: weights?.[i] ?? 1 / requests.length,
      device: request.device,
    };
  });
}

/** The mode from the flag, else HEADROOM_ENSEMBLE_MODE, else simultaneous. */
export function ensembleMode(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): EnsembleMode {
  const [value, from] = flag !== undefined ? [flag, '--ensemble-mode'] : [env[ENSEMBLE_MODE_ENV], ENSEMBLE_MODE_ENV];
  if (value === undefined || value === '') return 'simultaneous';
  const parsed = EnsembleMode.safeParse(value);
  if (!parsed.success) throw new HeadroomError('usage', `${from} is "${value}"; expected ${EnsembleMode.options.join(' or ')}`);
  return parsed.data;
}

/** For `mean`, every model must give the same dimension; null dims are checked once known. */
export function checkDims(aggregate: Aggregate, dims: { key: string; dim: number | null }[]): void {
  if (aggregate !== 'mean') return;
  const known = dims.filter((entry): entry is { key: string; dim: number } => entry.dim !== null);
  if (new Set(known.map((entry) => entry.dim)).size > 1) {
    const list = known.map((entry) => `${entry.key} ${entry.dim}`).join(', ');
    throw new HeadroomError('bad_input', `--aggregate mean needs models of one dimension, but they differ (${list}); use --aggregate concat`);
  }
}

export const outputDim = (aggregate: Aggregate, dims: number[]): number =>
  dims.length === 1 || aggregate === 'mean' ? dims[0]! : dims.reduce((sum, dim) => sum + dim, 0);

/**
 * Joins one chunk's rows from every model into the output rows.
 * `parts[m]` holds rows x dims[m] float32 values of model m.
 */
export function combineRows(parts: Float32Array[], dims: number[], weights: number[], aggregate: Aggregate, rows: number): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const width = outputDim(aggregate, dims);
  const out = new Float32Array(rows * width);
  const sum = new Float64Array(width);
  for (let r = 0; r < rows; r += 1) {
    sum.fill(0);
    let offset = 0;
    for (let m = 0; m < parts.length; m += 1) {
      const dim = dims[m]!;
      const row = parts[m]!.subarray(r * dim, (r + 1) * dim);
      let norm = 0;
      for (const value of row) norm += value * value;
      const scale = norm > 0 ? weights[m]! / Math.sqrt(norm) : 0;
      const at = aggregate === 'concat' ? offset : 0;
      for (let j = 0; j < dim; j += 1) sum[at + j]! += row[j]! * scale;
      offset += dim;
    }
    const divide = aggregate === 'mean' ? parts.length : 1;
    for (let j = 0; j < width; j += 1) out[r * width + j] = sum[j]! / divide;
  }
  return out;
}
