/**
 * The one place the Engine removes secrets from what it writes: journal records,
 * run.json, error messages and everything the CLI (and later the panel) shows.
 *
 * Secrets are the values of environment variables whose names say so (HF_TOKEN,
 * *_API_KEY, ...) or that the user lists in HEADROOM_SECRET_ENV, plus anything
 * shaped like a Hugging Face token, a URL credential or a token query parameter.
 * The same rules live in python-runtime/headroom_runtime/redact.py for the worker.
 */
export const MASK = '***';
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL/i;
/** Names of further variables whose values are secret, comma-separated (it holds names, not secrets). */
const MARKED_VAR = 'HEADROOM_SECRET_ENV';
/** Shorter values ("1", "true") would blank ordinary words. */
const MIN_SECRET_LENGTH = 6;
const PATTERNS: readonly [RegExp, string][] = [
  [/\bhf_[A-Za-z0-9]{8,}/g, `hf_${MASK}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@:]+(:[^/\s@]*)?@/gi, `$1${MASK}@`],
  [/([?&](?:token|access_token|api_key|apikey|key|secret|password|sig|signature)=)[^&\s#"']+/gi, `$1${MASK}`],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*/gi, `$1${MASK}`],
];

export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const marked = new Set((env[MARKED_VAR] ?? '').split(',').map((name) => name.trim()).filter(Boolean));
  const values = Object.entries(env)
    .filter(([name, value]) => name !== MARKED_VAR && value !== undefined && value.length >= MIN_SECRET_LENGTH && (SECRET_NAME.test(name) || marked.has(name)))
    .map(([, value]) => value!);
  return [...new Set(values)].sort((a, b) => b.length - a.length); // longest first: no partial leftovers
}

let processSecrets: string[] | undefined;

export function redact(text: string, secrets: readonly string[] = (processSecrets ??= secretValues(process.env))): string {
  let out = text;
  for (const value of secrets) out = out.split(value).join(MASK);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Every string inside a JSON-like value, redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item)])) as T;
  }
  return value;
}
