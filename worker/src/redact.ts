/**
 * The one place the Engine removes secrets from what it writes: journal records,
 * run.json, error messages and everything the CLI, the panel and the Electron
 * shell show. Masking is for what is written or shown, never for what is used.
 *
 * Secrets are the values of environment variables whose names say so (HF_TOKEN,
 * *_API_KEY, ...) or that the user lists in HEADROOM_SECRET_ENV, as written or
 * percent-encoded, plus what only a secret looks like:
 *  - a Hugging Face token (hf_ or api_org_ and 34 or more letters and digits) or a
 *    GitHub token (ghp_..., github_pat_...): an ordinary name such as hf_datasets is
 *    far shorter, so it stays;
 *  - the user part of a URL (`scheme://user:password@host`), however a path holds
 *    it: `//` folded to `/` by path normalisation, backslashes, percent-encoded
 *    (once or more), in any segment;
 *  - a query parameter named like a credential (token, api_key, sig,
 *    X-Amz-Signature, ...) and a Bearer header value.
 *
 * The same rules, character for character, live in
 * python-runtime/headroom_runtime/core/redact.py; worker/test/redact.test.ts runs
 * both over the same generated strings. Every class below is spelled out in ASCII
 * (no \s, \b or Unicode case folding) so that JavaScript and Python read it alike.
 */
export const MASK = '***';
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL/i;
/** Names of further variables whose values are secret, comma-separated (it holds names, not secrets). */
const MARKED_VAR = 'HEADROOM_SECRET_ENV';
/** Shorter values ("1", "true") would blank ordinary words. */
const MIN_SECRET_LENGTH = 6;

/** A percent sign, itself encoded any number of times (%25 is an encoded %). */
const PCT = '%(?:25)*';
const COLON = `(?::|${PCT}3[Aa])`;
const SLASH = `(?:[/\\\\]|${PCT}(?:2[Ff]|5[Cc]))`;
const AT = `(?:@|${PCT}40)`;
/** What ends a URL's user part: a path separator, blank or quote, raw or encoded. */
const USER_PART = `(?:(?!${PCT}(?:2[Ff]|5[Cc]))[^/\\\\ \\t\\n\\v\\f\\r"'<>\`])+`;
/** Right after an encoded character (`%2F`, `%252F`, `%25252F`), where a word starts in a path that was percent-encoded. */
const AFTER_ENCODED = '(?<=%[0-9A-Fa-f]{2})|(?<=%25[0-9A-Fa-f]{2})|(?<=%2525[0-9A-Fa-f]{2})';
/** A token starts a word (or follows an encoded character): tried at word starts only, so a long word costs linear time. */
const WORD_START = `(?:(?<![A-Za-z0-9])|${AFTER_ENCODED})`;
const SCHEME = `(?:(?<![A-Za-z0-9+.-])|${AFTER_ENCODED})[A-Za-z][A-Za-z0-9+.-]+`;
const QUERY_START = `(?:[?&;]|${PCT}(?:3[Ff]|26))`;
const QUERY_NAME = '(?:[A-Za-z0-9]+[-_.])*(?:token|signature|secret|password|passwd|pwd|key|apikey|sig|credential|auth)';
const QUERY_VALUE = `(?:(?!${PCT}26)[^&#; \\t\\n\\v\\f\\r"'<>\`])+`;

/**
 * [cue, pattern, replacement]: a pattern runs only on text where its cue (a literal
 * every match must contain) occurs, so ordinary text costs a few substring scans.
 */
const PATTERNS: readonly [RegExp, RegExp, string][] = [
  [/hf_|api_org_/, new RegExp(`${WORD_START}(hf_|api_org_)[A-Za-z0-9]{34,}(?![A-Za-z0-9])`, 'g'), `$1${MASK}`],
  [/gh[pousr]_/, new RegExp(`${WORD_START}(gh[pousr]_)[A-Za-z0-9]{36,}(?![A-Za-z0-9])`, 'g'), `$1${MASK}`],
  [/github_pat_/, new RegExp(`${WORD_START}(github_pat_)[A-Za-z0-9_]{22,}`, 'g'), `$1${MASK}`],
  // Greedy, then back to the last @ of the segment: `user:p@ss@host` hides `ss` too.
  [/@|%(?:25)*40/, new RegExp(`(${SCHEME}${COLON}${SLASH}+)${USER_PART}(${AT})`, 'g'), `$1${MASK}$2`],
  [/=|%(?:25)*3[Dd]/, new RegExp(`(${QUERY_START}${QUERY_NAME}(?:=|${PCT}3[Dd]))${QUERY_VALUE}`, 'gi'), `$1${MASK}`],
  [/[Bb][Ee][Aa][Rr][Ee][Rr]/, /(?<![A-Za-z0-9_])(Bearer[ \t]+)[A-Za-z0-9._~+/-]+=*/gi, `$1${MASK}`],
];

export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const marked = new Set((env[MARKED_VAR] ?? '').split(',').map((name) => name.trim()).filter(Boolean));
  const values = Object.entries(env)
    .filter(([name, value]) => name !== MARKED_VAR && value !== undefined && value.length >= MIN_SECRET_LENGTH && (SECRET_NAME.test(name) || marked.has(name)))
    .map(([, value]) => value!);
  return [...new Set(values)].sort((a, b) => b.length - a.length); // longest first: no partial leftovers
}

const hexDigit = (digit: string): string => (/[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit);

/** A secret as written or with any of its characters percent-encoded, once or more (UTF-8, either case of hex). */
function secretPattern(value: string): RegExp {
  let source = '';
  for (const char of value) {
    const raw = char.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    const bytes = [...new TextEncoder().encode(char)].map((byte) => `${PCT}${[...byte.toString(16).toUpperCase().padStart(2, '0')].map(hexDigit).join('')}`);
    source += `(?:${raw}|${bytes.join('')})`;
  }
  return new RegExp(source, 'g');
}

const compiled = new Map<string, RegExp>();
let processSecrets: string[] | undefined;

export function redact(text: string, secrets: readonly string[] = (processSecrets ??= secretValues(process.env))): string {
  let out = text;
  for (const value of secrets) {
    let pattern = compiled.get(value);
    if (!pattern) compiled.set(value, (pattern = secretPattern(value)));
    out = out.replace(pattern, MASK);
  }
  for (const [cue, pattern, replacement] of PATTERNS) if (cue.test(out)) out = out.replace(pattern, replacement);
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

/**
 * Where in a JSON-like value masking would change a string, as dotted paths
 * (`spec.models.1.model`): what a writer that masks would not store as given.
 */
export function maskedFields(value: unknown, path: string[] = []): { field: string; value: string }[] {
  if (typeof value === 'string') return redact(value) === value ? [] : [{ field: path.join('.'), value }];
  if (Array.isArray(value)) return value.flatMap((item: unknown, i) => maskedFields(item, [...path, String(i)]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => maskedFields(item, [...path, key]));
  return [];
}
