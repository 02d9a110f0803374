/**
 * Same model, same run: each model's fingerprint is taken when the run is created
 * (run.json) and checked again by every session before any work (the worker's
 * `described` event). The runtime computes it (headroom_runtime/embed/fingerprint.py),
 * since only the runtime knows where a hub name or a bundled model resolves.
 */
import { execa } from 'execa';
import { z } from 'zod';
import { ModelFingerprint, ModelSource } from '../../contract/protocol.js';
import { HeadroomError } from '../../errors.js';
import { pythonExecutable, RUNTIME_DIR } from '../../runtimePaths.js';
import type { ModelEntry, ModelIdentity } from './manifest.js';

const Answer = z.union([
  z.object({ models: z.array(z.object({ model: z.string(), source: ModelSource, ...ModelFingerprint.shape })) }),
  z.object({ error: z.object({ code: z.string(), message: z.string() }) }),
]);

export interface RuntimeOptions {
  python?: string;
  env?: NodeJS.ProcessEnv;
}

/** Fingerprints the run's models in a short-lived runtime process (no torch import, no model load). */
export async function identifyModels(models: readonly ModelEntry[], options: RuntimeOptions = {}): Promise<ModelIdentity[]> {
  const python = options.python ?? pythonExecutable(options.env);
  const base = options.env ?? process.env;
  const result = await execa(python, ['-m', 'headroom_runtime.embed.fingerprint', ...models.map((entry) => entry.model)], {
    reject: false,
    extendEnv: false,
    // the worker's own resolution rules: offline, same cache variables
    env: { ...base, PYTHONPATH: [RUNTIME_DIR, base.PYTHONPATH].filter(Boolean).join(':'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
  let answer: z.infer<typeof Answer> | undefined;
  try {
    const parsed = Answer.safeParse(JSON.parse(String(result.stdout)));
    answer = parsed.success ? parsed.data : undefined;
  } catch {
    answer = undefined;
  }
  if (answer === undefined) {
    const tail = String(result.stderr).trim().split('\n').slice(-5).join('\n');
    throw new HeadroomError('internal', `could not fingerprint the models (${python} exited ${String(result.exitCode)}): ${tail}`);
  }
  if ('error' in answer) throw new HeadroomError('bad_input', answer.error.message);
  return models.map((entry, i) => {
    const { sha256, files, bytes, source } = answer.models[i]!;
    return { key: entry.key, source, sha256, files, bytes };
  });
}

/** Every model the runtime described must be the files run.json names (before any work of the session). */
export function checkDescribed(identities: readonly ModelIdentity[], entries: readonly ModelEntry[], described: readonly { modelKey: string; fingerprint: ModelFingerprint }[]): void {
  for (const found of described) {
    const expected = identities.find((identity) => identity.key === found.modelKey);
    const entry = entries.find((candidate) => candidate.key === found.modelKey);
    if (!expected || !entry) throw new HeadroomError('bad_input', `run.json names no fingerprint for model ${found.modelKey}: restore run.json, or start a new run`);
    checkIdentity(expected, found.fingerprint, entry.model);
  }
}

/** The fix is the same wherever a difference is found. */
export function checkIdentity(expected: ModelIdentity, found: { sha256: string; files: number; bytes: number }, model: string): void {
  if (expected.sha256 === found.sha256) return;
  throw new HeadroomError(
    'bad_input',
    `model ${model} is not the one this run started with: its files changed (fingerprint ${expected.sha256.slice(0, 12)}, ${expected.files} files, ${expected.bytes} bytes ` +
      `when the run was created; now ${found.sha256.slice(0, 12)}, ${found.files} files, ${found.bytes} bytes). Restore the model, or start a new run`,
  );
}
