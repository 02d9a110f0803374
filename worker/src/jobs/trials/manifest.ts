/** A sweep's run.json: the spec in force (task and space resolved by the runtime's check), what the data was, the versions; written once. */
import { join } from 'node:path';
import { z } from 'zod';
import { RunName } from '../../contract/runs.js';
import { TRIALS_KIND } from '../../contract/jobs/trials.js';
import { FamilySpaces, SweepSpec, TrialsTask } from '../../contract/trialsProtocol.js';
import { readKindManifest, runFiles } from '../../runs/manifest.js';

export const RUN_FORMAT = 1;

/** A file the sweep reads, as it was when the run was created: a resume with other bytes is refused. */
export const FileIdentity = z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type FileIdentity = z.infer<typeof FileIdentity>;

/** A spec written before families existed: the NN family alone, its flat space keyed by nn, tree workers auto. */
function fromBeforeFamilies(spec: unknown): unknown {
  if (typeof spec !== 'object' || spec === null || 'families' in spec) return spec;
  const old = spec as { space?: unknown };
  return { ...old, families: ['nn'], treeWorkers: null, space: old.space === null || old.space === undefined ? old.space : { nn: old.space } };
}

export const RunManifest = z.object({
  format: z.literal(RUN_FORMAT),
  kind: z.literal(TRIALS_KIND),
  createdAt: z.string(),
  name: RunName.optional(),
  /**
   * task and the spaces as the runtime resolved them (never null here: every family's space, defaults
   * filled in), so every session sweeps the same thing. A run.json from before families existed (no
   * families, its space one NN space) reads as the NN family alone.
   */
  spec: z.preprocess(fromBeforeFamilies, SweepSpec.extend({ task: TrialsTask, space: FamilySpaces })),
  /** What trials_check found. */
  checked: z.object({ rows: z.number().int().positive(), features: z.number().int().positive(), metric: z.enum(['r2', 'auc']) }),
  /** The data file, and the target's when it is a .npy. */
  files: z.array(FileIdentity).min(1),
  /** The request as given (the panel shows its settings: auto stays auto). */
  request: z.object({ engine: z.string(), concurrency: z.union([z.literal('auto'), z.number().int().positive()]) }),
  versions: z.object({ headroom: z.string(), node: z.string() }),
});
export type RunManifest = z.infer<typeof RunManifest>;

export const runPaths = (runDir: string) => ({
  ...runFiles(runDir),
  trials: join(runDir, 'trials.jsonl'),
  study: join(runDir, 'study.db'),
});

export function readManifest(runDir: string): RunManifest {
  return readKindManifest(runDir, RunManifest, RUN_FORMAT);
}
