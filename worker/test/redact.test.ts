/**
 * Masking (issue 9, class 6): secrets in any form of a path are masked, ordinary
 * names that merely look like a token pattern are not, and the Python runtime's
 * rules give the very same output. Both sides run the shared table of vectors
 * (python-runtime/tests/vectors/redaction.json); this side also runs both
 * implementations over the same generated strings.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix, win32 } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pythonExecutable, REPO_ROOT, RUNTIME_DIR } from '../src/runtimePaths.js';
import { MASK, maskedFields, redact, redactDeep, secretValues } from '../src/redact.js';

interface Vectors {
  masked: { input: string; expected: string; secrets?: string[] }[];
  unchanged: string[];
  secretValues: { env: Record<string, string>; secrets: string[] }[];
}
const VECTORS = JSON.parse(readFileSync(join(REPO_ROOT, 'python-runtime/tests/vectors/redaction.json'), 'utf8')) as Vectors;

const chars = (set: string): fc.Arbitrary<string> => fc.constantFrom(...set);
const text = (set: string, minLength: number, maxLength: number): fc.Arbitrary<string> => fc.string({ unit: chars(set), minLength, maxLength });
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Every other character of a string percent-encoded, or all of them, in upper or lower hex. */
const encodeSome = (value: string, pick: (i: number) => boolean, lower: boolean): string =>
  [...value]
    .map((char, i) => {
      if (!pick(i)) return char;
      const hex = [...new TextEncoder().encode(char)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
      return lower ? hex : hex.toUpperCase();
    })
    .join('');

/** Ordinary folder names, some shaped like the start of a token (hf_..., ghp_...) but far too short. */
const ordinarySegment = fc.oneof(
  fc.constantFrom('hf_datasets', 'hf_tinymodel1', 'hf_cache', 'ghp_notes', 'models--org--name', 'token_cache', 'api-keys', 'passwords.txt', 'user@host', 'v1.2', 'a:b', 'key=3', 'Bearer', 'sig', 'home', 'données', '数据'),
  text(ALNUM, 1, 12).map((word) => `hf_${word}`),
  text(ALNUM, 1, 33).map((word) => `hf_${word}`),
  text(ALNUM, 1, 35).map((word) => `ghp_${word}`),
  text(`${ALNUM}_.-`, 1, 20),
);
const ordinaryPath = fc.tuple(fc.constantFrom('', '/', './', '~/', 'C:\\', '../'), fc.array(ordinarySegment, { minLength: 1, maxLength: 6 }), fc.constantFrom('/', '\\')).map(([root, segments, sep]) => `${root}${segments.join(sep)}`);

/** A credential that must never show, in every way a path can hold a URL. */
const credentialCase = fc
  .record({
    scheme: fc.constantFrom('https', 'http', 'git+https', 's3', 'hf', 'ftp'),
    user: text(ALNUM, 1, 8).map((word) => `Uq7${word}`),
    password: text(`${ALNUM}-._~!$&()*+,;=:@`, 3, 16).map((word) => `Zq9${word}`),
    userOnly: fc.boolean(),
    slashes: fc.constantFrom('/', '//', '///', '\\', '\\\\'),
    host: fc.constantFrom('huggingface.co', 'example.org', '10.0.0.1:8080', 'host'),
    before: fc.array(ordinarySegment, { maxLength: 3 }),
    after: fc.array(ordinarySegment, { maxLength: 3 }),
    form: fc.constantFrom('raw', 'resolved', 'encoded', 'encoded twice', 'in JSON', 'in a sentence'),
  })
  .map((c) => {
    const userinfo = c.userOnly ? c.password : `${c.user}:${c.password}`;
    const url = `${c.scheme}:${c.slashes}${userinfo}@${c.host}`;
    const path = [...c.before, url, ...c.after].join('/');
    const shown = {
      raw: `/${path}`,
      resolved: posix.resolve('/work', path), // `//` folded to `/`, as path normalisation does
      encoded: [...c.before, encodeURIComponent(url), ...c.after].join('/'),
      'encoded twice': encodeURIComponent(encodeURIComponent(`/${path}`)),
      'in JSON': JSON.stringify({ input: { path: win32.normalize(`C:\\${path}`) } }),
      'in a sentence': `cannot read ${path}: no such file`,
    }[c.form];
    return { text: shown, secrets: [c.password, c.user], host: c.host.split(':')[0]! };
  });

const tokenCase = fc
  .record({
    prefix: fc.constantFrom('hf_', 'api_org_', 'ghp_', 'gho_', 'github_pat_'),
    body: text(ALNUM, 36, 44),
    left: fc.constantFrom('', ' ', '/', '"', '=', ':', '\\', '%2F'),
    right: fc.constantFrom('', ' ', '/', '"', '&', '\n', '.txt'),
  })
  .map((t) => ({ text: `${t.left}${t.prefix}${t.body}${t.right}`, secrets: [t.body] }));

const queryCase = fc
  .record({
    name: fc.constantFrom('token', 'access_token', 'api_key', 'apikey', 'key', 'sig', 'signature', 'X-Amz-Signature', 'X-Amz-Security-Token', 'client_secret', 'password', 'AUTH'),
    value: text(`${ALNUM}-._~+/`, 4, 24).map((word) => `Vq5${word}`),
    encoded: fc.boolean(),
  })
  .map((q) => {
    const query = `?a=1&${q.name}=${q.value}&b=2`;
    return { text: `https://host/file${q.encoded ? encodeURIComponent(query) : query}`, secrets: [q.value, encodeURIComponent(q.value)] };
  });

const envSecretCase = fc
  .record({
    value: text(`${ALNUM}/+=@:!é€ `, 6, 24).map((word) => `Sq3${word}`),
    mode: fc.constantFrom('raw', 'all', 'some', 'lower'),
    seed: fc.nat(),
  })
  .map((s) => {
    const shown = s.mode === 'raw' ? s.value : encodeSome(s.value, (i) => s.mode !== 'some' || (i + s.seed) % 2 === 0, s.mode === 'lower');
    return { text: `/data/${shown}/x`, env: s.value };
  });

describe('the shared redaction vectors', () => {
  it.each(VECTORS.masked)('masks $input', ({ input, expected, secrets }) => {
    expect(redact(input, secrets ?? [])).toBe(expected);
  });

  it.each(VECTORS.unchanged)('leaves %s unchanged', (input) => {
    expect(redact(input, [])).toBe(input);
  });

  it.each(VECTORS.secretValues)('reads the secrets of an environment, longest first', ({ env, secrets }) => {
    expect(secretValues(env)).toEqual(secrets);
  });
});

describe('masking secrets', () => {
  it('masks a URL credential in every form a path can hold it, and keeps the host', () => {
    fc.assert(
      fc.property(credentialCase, ({ text: shown, secrets, host }) => {
        const out = redact(shown, []);
        for (const secret of secrets) {
          expect(out).not.toContain(secret);
          expect(out).not.toContain(encodeURIComponent(secret));
        }
        expect(out).toContain(MASK);
        expect(out).toContain(host);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves ordinary paths alone, even names like hf_datasets or hf_tinymodel1', () => {
    fc.assert(
      fc.property(ordinaryPath, (path) => {
        expect(redact(path, [])).toBe(path);
        expect(redact(posix.resolve('/work', path), [])).toBe(posix.resolve('/work', path));
      }),
      { numRuns: 2000 },
    );
  });

  it('masks real token shapes, query credentials and Bearer values wherever they stand', () => {
    fc.assert(
      fc.property(fc.oneof(tokenCase, queryCase), ({ text: shown, secrets }) => {
        const out = redact(shown, []);
        for (const secret of secrets) expect(out).not.toContain(secret);
      }),
      { numRuns: 1500 },
    );
    expect(redact('Authorization: Bearer eyJhbGci.x.y', [])).toBe('Authorization: Bearer ***');
  });

  it('masks secret-named and user-marked variables, as written or percent-encoded, and nothing else', () => {
    const env = { HF_TOKEN: 'abcdefgh123', MY_PASSWORD: 'pw-123456', CUSTOM: 'custom-secret', HEADROOM_SECRET_ENV: 'CUSTOM', SHORT_KEY: '1', HOME: '/home/me' };
    const secrets = secretValues(env);
    expect(secrets).toEqual(['custom-secret', 'abcdefgh123', 'pw-123456']);
    expect(redact('a custom-secret b abcdefgh123 c pw-123456 /home/me', secrets)).toBe('a *** b *** c *** /home/me');
    fc.assert(
      fc.property(envSecretCase, ({ text: shown, env: value }) => {
        expect(redact(shown, [value])).toBe('/data/***/x');
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: masking what is already masked changes nothing', () => {
    const anyCase = fc.oneof(credentialCase, tokenCase, queryCase, ordinaryPath.map((path) => ({ text: path })));
    fc.assert(
      fc.property(anyCase, ({ text: shown }) => {
        const once = redact(shown, []);
        expect(redact(once, [])).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('walks JSON values and names the fields masking would change', () => {
    const token = `hf_${'Ab1'.repeat(12)}`;
    expect(redactDeep({ a: [`x ${token}`], n: 3, b: { c: null } })).toEqual({ a: ['x hf_***'], n: 3, b: { c: null } });
    expect(maskedFields({ input: { path: '/data/hf_datasets/a.txt' }, spec: { models: [{ model: '/m/hf_tinymodel1' }, { model: `https:/u:${token}@h` }] } })).toEqual([
      { field: 'spec.models.1.model', value: `https:/u:${token}@h` },
    ]);
  });

  it('gives the same output as the Python runtime on the same generated strings', () => {
    const cases = [
      ...fc.sample(credentialCase, { numRuns: 600, seed: 1 }).map((c) => ({ text: c.text, secrets: [] as string[] })),
      ...fc.sample(ordinaryPath, { numRuns: 400, seed: 2 }).map((path) => ({ text: path, secrets: [] as string[] })),
      ...fc.sample(fc.oneof(tokenCase, queryCase), { numRuns: 400, seed: 3 }).map((c) => ({ text: c.text, secrets: [] as string[] })),
      ...fc.sample(envSecretCase, { numRuns: 300, seed: 4 }).map((c) => ({ text: c.text, secrets: [c.env] })),
      // Noise: the pieces every pattern is built from, in random order.
      ...fc
        .sample(fc.array(fc.constantFrom('https', ':', '/', '//', '\\', '%2F', '%3A', '%40', '%25', '@', 'u', 'pw', '?', '&', 'token', '=', 'hf_', 'A'.repeat(34), ' ', '"', 'Bearer ', 'é', '\u2028', '\x1c', 'K'), { maxLength: 14 }), { numRuns: 800, seed: 5 })
        .map((parts) => ({ text: parts.join(''), secrets: [] as string[] })),
    ];
    const script = 'import json,sys\nfrom headroom_runtime.core.redact import redact\nprint(json.dumps([redact(c["text"], tuple(c["secrets"])) for c in json.load(sys.stdin)]))';
    const python = JSON.parse(
      execFileSync(pythonExecutable(), ['-c', script], { input: JSON.stringify(cases), env: { ...process.env, PYTHONPATH: RUNTIME_DIR }, maxBuffer: 64 * 1024 ** 2 }).toString('utf8'),
    ) as string[];
    const mismatches = cases.flatMap((c, i) => (redact(c.text, c.secrets) === python[i] ? [] : [{ text: c.text, ts: redact(c.text, c.secrets), py: python[i] }]));
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});
