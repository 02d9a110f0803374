/**
 * Masking neither leaks nor breaks (issue 9, class 6), through the real CLI:
 * folders named like a token pattern (hf_datasets, hf_tinymodel1) are stored as
 * they are and a killed run resumes from them; a credential in any form of the
 * input path or a model name is refused at creation, named and masked, and
 * nothing of it is written anywhere.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, embedArgs, makeCorpus, tempDir, tinyModel } from '../helpers.js';

const allText = (folder: string): string =>
  existsSync(folder) ? readdirSync(folder, { recursive: true, encoding: 'utf8' }).map((name) => `${name}\n${existsSync(join(folder, name)) && !name.endsWith('.npy') ? safeRead(join(folder, name)) : ''}`).join('\n') : '';
const safeRead = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

describe('secrets in paths and names', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
  });

  it('stores hf_datasets and hf_tinymodel1 as they are, and a killed run resumes from them', async () => {
    const data = join(dir, 'hf_datasets');
    mkdirSync(data);
    const corpus = makeCorpus(data, 12);
    const model = join(dir, 'hf_tinymodel1');
    cpSync(tinyModel(), model, { recursive: true });
    const out = join(dir, 'hf_run');
    const killed = await cli(embedArgs(corpus, out, ['--chunk-size', '4'], model), { HEADROOM_FAULT_KILL_AFTER_RENAME: '1' });
    expect(killed.exitCode, killed.stderr).toBe(3);
    const manifest = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { input: { path: string }; spec: { models: { model: string }[] } };
    expect(manifest.input.path).toBe(corpus);
    expect(manifest.spec.models[0]!.model).toBe(model);
    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect((await cli(['status', out])).stdout).toContain(corpus);
  });

  it('refuses a credential in any form of the input path, naming the field and masking it', async () => {
    const password = 'Zq9pass-word';
    const forms = [
      { folder: ['https:', `user:${password}@example.org`], arg: (base: string) => `${base}/https://user:${password}@example.org/c.jsonl` },
      { folder: ['https:', `user:${password}@example.org`], arg: (base: string) => `${base}/https:/user:${password}@example.org/c.jsonl` },
      { folder: [encodeURIComponent(`https://user:${password}@example.org`)], arg: (base: string) => `${base}/${encodeURIComponent(`https://user:${password}@example.org`)}/c.jsonl` },
      { folder: ['git', `s3:\\\\${password}@bucket`], arg: (base: string) => `${base}/git/s3:\\\\${password}@bucket/c.jsonl` },
    ];
    for (const [i, form] of forms.entries()) {
      const base = join(dir, `leak-${i}`);
      mkdirSync(join(base, ...form.folder), { recursive: true });
      makeCorpus(join(base, ...form.folder), 3, 'c.jsonl');
      const out = join(dir, `leak-out-${i}`);
      const result = await cli([...embedArgs(form.arg(base), out), '--json']);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/the input path ".*\*\*\*(@|%40).*" holds what looks like a secret/);
      expect(JSON.parse(result.stdout.trim())).toMatchObject({ event: 'error', kind: 'usage', exitCode: 2 });
      for (const text of [result.stdout, result.stderr, allText(out)]) expect(text).not.toContain(password.slice(3));
      expect(existsSync(out)).toBe(false);
    }
  });

  it('refuses a model name with a credential in it, naming which model', async () => {
    const corpus = makeCorpus(dir, 3, 'model-secret.jsonl');
    const token = `hf_${'Tk9x'.repeat(9)}`;
    const out = join(dir, 'model-secret');
    const result = await cli(['embed', corpus, '--out', out, '--model', tinyModel(), '--model', `https://user:${token}@huggingface.co/org/model`, '--device', 'cpu']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/model 2 \(--model\) "https:\/\/\*\*\*@huggingface\.co\/org\/model" holds what looks like a secret/);
    expect(result.stderr).not.toContain(token.slice(3));
    expect(existsSync(out)).toBe(false);
  });
});
