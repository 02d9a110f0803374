/**
 * run.json holds what the run uses, and it is written with secrets masked (no
 * secret leaves the process). A resume reads it back, so a value that masking
 * would change (a token, or user:password@ in a URL, inside the input path, a
 * model name or folder, a field name) would come back as `***` and the run could
 * not use it. Rather than store a value the run cannot use, or store a secret,
 * such a run is refused at creation, naming the field: secrets belong in the
 * environment (HF_TOKEN and the like), which the runtime inherits and nothing stores.
 */
import { HeadroomError } from '../errors.js';
import { maskedFields, redact } from '../redact.js';

const FIX_ELSEWHERE = 'give secrets through the environment (HF_TOKEN, or a variable named in HEADROOM_SECRET_ENV) instead';

function describe(field: string): { label: string; fix: string } {
  const model = /^spec\.models\.(\d+)\.(model|key)$/.exec(field);
  if (field === 'input.path') return { label: 'the input path', fix: 'move or link the file to a path without it' };
  if (model) return { label: `model ${Number(model[1]) + 1} (--model)`, fix: `name the model without it and ${FIX_ELSEWHERE}` };
  if (field === 'runDir') return { label: 'the run folder (--out)', fix: 'choose a folder without it' };
  if (field === 'spec.textField') return { label: '--text-field', fix: FIX_ELSEWHERE };
  if (field === 'spec.idField') return { label: '--id-field', fix: FIX_ELSEWHERE };
  return { label: `run.json field ${field}`, fix: FIX_ELSEWHERE };
}

/** Throws (usage, exit 2) naming the first field of a run's manifest that masking would change. */
export function refuseMaskedFields(manifest: unknown): void {
  const [first] = maskedFields(manifest);
  if (!first) return;
  const { label, fix } = describe(first.field);
  throw new HeadroomError(
    'usage',
    `${label} "${redact(first.value)}" holds what looks like a secret (a token, or a user and password in a URL); ` +
      `run.json is stored with secrets masked and read back on resume, so the run could not use it: ${fix}`,
  );
}
