/**
 * A first run must not cost a clean-up: the input, its fields and every model are
 * checked before a run folder exists, in the panel (refusals in the form's words)
 * and in the CLI (in its flags); the corrected request then just works. And a run
 * can be named. Real files, the real runtime, the tiny test model.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError, checkCall } from '../../src/contract/api.js';
import { RunManager } from '../../src/panel/runManager.js';
import { cli, embedArgs, tempDir, tinyModel, waitFor } from '../helpers.js';

/** A corpus whose text is not under "text": the case the form's field choice is for. */
function bodyCorpus(dir: string): string {
  const path = join(dir, 'notes.jsonl');
  writeFileSync(path, `${Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `n${i}`, body: `note number ${i}` })).join('\n')}\n`);
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the start to be refused');
}

describe('new run: checked before anything is created', () => {
  it('the panel refuses a typo in a model name, a text field no record has and a named id field no record has, in the form\'s words; the runs folder stays empty', async () => {
    const dir = tempDir();
    const runsDir = join(dir, 'runs');
    const input = bodyCorpus(dir);
    const manager = new RunManager({ runsDir, monitorGpus: false });
    try {
      const typo = await refusal(manager.startRun({ input, textField: 'body', models: [{ model: tinyModel() }, { model: 'sentence-transformers/all-MiniLM-L6-v3', device: 'cpu' }] }));
      expect(typo.code).toBe('bad_input');
      expect(typo.message).toMatch(/^Model 2: model 'sentence-transformers\/all-MiniLM-L6-v3' is neither a folder nor in the local Hugging Face cache.*did you mean sentence-transformers\/all-MiniLM-L6-v2\?$/s);
      expect(typo.message).not.toMatch(/Model 1/);

      const both = await refusal(manager.startRun({ input, textField: 'txt', models: [{ model: './no/such/model' }] }));
      expect(both.message.split('\n')).toEqual(['Text field: notes.jsonl line 1 has no field "txt" (fields: id, body)', 'Model 1: model folder ./no/such/model does not exist']);
      expect(both.message).not.toMatch(/--/);

      const id = await refusal(manager.startRun({ input, textField: 'body', idField: 'uid', models: [{ model: tinyModel(), device: 'cpu' }] }));
      expect(id.message).toBe('ID field: none of the first 5 records of notes.jsonl has a field "uid" (fields: id, body)');

      const missing = await refusal(manager.startRun({ input: join(dir, 'gone.jsonl'), models: [{ model: tinyModel() }] }));
      expect(missing.message).toMatch(/^Input file: .*gone\.jsonl: input file not found$/);

      const secret = await refusal(manager.startRun({ input, textField: 'body', name: `mine hf_${'x1Y2z3'.repeat(6)}`, models: [{ model: tinyModel() }] }));
      expect(secret.message).toMatch(/^Name: "mine hf_\*\*\*" holds what looks like a secret/);
      expect(readdirSync(runsDir)).toEqual([]);

      // Corrected, it runs: nothing had to be deleted first. The name is kept and listed.
      const { runId } = await manager.startRun({ input, textField: 'body', name: 'My notes', models: [{ model: tinyModel(), device: 'cpu' }], batchSize: 4 });
      expect(readdirSync(runsDir)).toEqual([runId]);
      expect(JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8'))).toMatchObject({ kind: 'embed', name: 'My notes' });
      await waitFor(() => manager.listRuns()[0]?.status === 'done', 'the run to finish');
      expect(manager.listRuns()[0]).toMatchObject({ runId, name: 'My notes', status: 'done' });
    } finally {
      await manager.close();
    }
  });

  it('a run given no name lists name null, and a name that is not one line of printable text is refused at the gate, a padded one trimmed', async () => {
    const dir = tempDir();
    const manager = new RunManager({ runsDir: join(dir, 'runs'), monitorGpus: false });
    try {
      // Every transport checks a call at the gate (checkCall) before the manager sees it.
      expect(() => checkCall('startRun', { input: bodyCorpus(dir), name: 'two\nlines', models: [{ model: tinyModel() }] })).toThrow(expect.objectContaining({ code: 'bad_args', message: expect.stringMatching(/name: a name is printable text on one line/) }));
      expect(checkCall('startRun', { input: 'x.jsonl', name: '  spaced  ', models: [{ model: 'm' }] }).args).toMatchObject({ kind: 'embed', name: 'spaced' });
      const { runId } = await manager.startRun({ input: bodyCorpus(dir), textField: 'body', models: [{ model: tinyModel(), device: 'cpu' }], batchSize: 4 });
      expect(manager.info(runId).name).toBeNull();
      await waitFor(() => manager.info(runId).status === 'done', 'the run to finish');
    } finally {
      await manager.close();
    }
  });

  it('the CLI: a typo in --model is exit 2 with nothing created; the corrected command then succeeds in the same --out', async () => {
    const dir = tempDir();
    const input = bodyCorpus(dir);
    const out = join(dir, 'out');
    const typo = await cli([...embedArgs(input, out, ['--text-field', 'body']), '--model', `${tinyModel()}-typo`]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/model folder .*tiny-typo does not exist/);
    expect(typo.stderr).not.toMatch(/Model 1|Text field/);
    expect(existsSync(out)).toBe(false);

    const field = await cli(embedArgs(input, out, ['--text-field', 'txt']));
    expect(field.exitCode).toBe(2);
    expect(field.stderr).toContain('notes.jsonl line 1: has no field "txt" (set --text-field)');
    expect(existsSync(out)).toBe(false);

    const fixed = await cli([...embedArgs(input, out, ['--text-field', 'body', '--name', 'cli notes']), '--json']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['embeddings.npy', 'ids.txt', 'run.json']));
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ name: 'cli notes' });
    // status says the name too, as the panel does; and the run wrote its history.
    expect(JSON.parse((await cli(['status', out, '--json'])).stdout)).toMatchObject({ name: 'cli notes', status: 'done' });
    expect((await cli(['status', out])).stdout).toMatch(/^name +cli notes$/m);
    expect(readdirSync(out)).toContain('history.jsonl');
  });
});
