/**
 * Ensembles (issue 4): both modes give the same matrix, sequential holds one model
 * at a time, the unit of work is (model, chunk) so a kill in pass 2 keeps pass 1 and
 * a paused run can change mode, bad specs are refused before work, secrets stay out.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createEmbedRun, executeRun, type EmbedOptions, type Progress } from '../../src/jobs/embed/embedRun.js';
import { EMBED_REQUEST_DEFAULTS } from '../../src/contract/jobs/embed.js';
import { ensembleEntries } from '../../src/jobs/embed/ensemble.js';
import { RunControl } from '../../src/runs/runControl.js';
import type { EmbedSettings } from '../../src/contract/jobs/embed.js';
import { childPids, cli, makeCorpus, maxAbsDiff, ofType, readMatrix, records, startCli, tempDir, tinyModel, waitFor, type Matrix } from '../helpers.js';

const MODELS = (): string[] => [tinyModel(), inject('otherTinyModel'), inject('wideTinyModel')];
const WEIGHTS = '0.5,0.3,0.2';

interface Flags {
  weights?: string;
  mode?: string;
  device?: string;
}

function ensembleArgs(input: string, out: string, mode: string | undefined, extra: string[] = [], flags: Flags = {}): string[] {
  const chosen = { weights: WEIGHTS, device: 'cpu', mode, ...flags };
  return [
    'embed',
    input,
    '--out',
    out,
    ...MODELS().flatMap((model) => ['--model', model]),
    '--weights',
    chosen.weights,
    ...(chosen.mode === undefined ? [] : ['--ensemble-mode', chosen.mode]),
    '--device',
    chosen.device,
    '--batch-size',
    '4',
    '--chunk-size',
    '40',
    ...extra,
  ];
}

interface Summary {
  sha256: string;
  dim: number;
  memory: { resident: number };
  passes: { model: string; residentPeak: number; rows: number }[];
}

const summaryOf = (stdout: string): Summary => JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;
const matrix = (runDir: string): Matrix => readMatrix(join(runDir, 'embeddings.npy'));

/** Every file under a folder, read as text (for secret scans). */
function allText(dir: string): string {
  if (!existsSync(dir)) return ''; // a refused run leaves no folder
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path).toString('latin1'))
    .join('\n');
}

describe('ensembles', () => {
  let dir: string;
  let corpus: string;
  let sequential: string;
  let simultaneous: string;
  let seqSummary: Summary;
  let simSummary: Summary;

  beforeAll(async () => {
    dir = tempDir();
    corpus = makeCorpus(dir, 120);
    sequential = join(dir, 'sequential');
    simultaneous = join(dir, 'simultaneous');
    const [seq, sim] = await Promise.all([
      cli([...ensembleArgs(corpus, sequential, 'sequential', ['--keep-chunks']), '--json']),
      cli([...ensembleArgs(corpus, simultaneous, 'simultaneous'), '--json']),
    ]);
    expect(seq.exitCode, seq.stderr).toBe(0);
    expect(sim.exitCode, sim.stderr).toBe(0);
    seqSummary = summaryOf(seq.stdout);
    simSummary = summaryOf(sim.stdout);
  });

  it('gives the same matrix in both modes (1e-6), with a checksum of each in the summary', () => {
    const a = matrix(sequential);
    const b = matrix(simultaneous);
    expect([a.rows, a.cols]).toEqual([120, 32 + 32 + 64]);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    expect(seqSummary.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(simSummary.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(seqSummary.dim).toBe(128);
  });

  it('joins L2-normalised, weighted blocks of each model, chunk by chunk', () => {
    const out = matrix(sequential);
    const keys = readdirSync(join(sequential, 'chunks')).sort();
    expect(keys).toHaveLength(3);
    const weights = WEIGHTS.split(',').map(Number);
    const order = ofType(records(sequential), 'pass_started').map((pass) => pass.model);
    let offset = 0;
    for (const [m, key] of order.entries()) {
      const part = readMatrix(join(sequential, 'chunks', key, 'chunk-000001.npy'));
      for (let r = 0; r < part.rows; r += 1) {
        const row = part.values.subarray(r * part.cols, (r + 1) * part.cols);
        const norm = Math.hypot(...row);
        for (let j = 0; j < part.cols; j += 1) {
          expect(out.values[(40 + r) * out.cols + offset + j]!).toBeCloseTo((row[j]! / norm) * weights[m]!, 6);
        }
      }
      offset += part.cols;
    }
  });

  it('orders the work by mode: chunk-major when simultaneous, model-major when sequential', () => {
    const order = (runDir: string): string[] => ofType(records(runDir), 'chunk_done').map((c) => `${c.model.slice(0, 5)}:${c.index}`);
    const seq = order(sequential);
    expect(seq.slice(0, 3).map((unit) => unit.split(':')[0])).toEqual(Array(3).fill(seq[0]!.split(':')[0]));
    expect(order(simultaneous).slice(0, 3).map((unit) => unit.split(':')[1])).toEqual(['0', '0', '0']);
    expect(ofType(records(sequential), 'pass_completed').every((pass) => pass.released && pass.rows === 120)).toBe(true);
  });

  it('holds the largest model in sequential mode and the sum in simultaneous mode', () => {
    const alone = seqSummary.passes.map((pass) => pass.residentPeak);
    expect(alone).toHaveLength(3); // each measured alone; the two tiny models share a config, the wide one is larger
    expect(new Set(alone).size).toBe(2);
    expect(seqSummary.memory.resident).toBe(Math.max(...alone));
    expect(simSummary.memory.resident).toBe(alone.reduce((sum, bytes) => sum + bytes, 0));
    expect(simSummary.memory.resident).toBeGreaterThan(seqSummary.memory.resident);
  });

  it('resumes a run killed in pass 2 of 3 without redoing pass 1, to the same matrix', async () => {
    const out = join(dir, 'killed');
    const child = startCli(ensembleArgs(corpus, out, 'sequential'));
    const passTwo = (): string | undefined => ofType(records(out), 'pass_started')[1]?.model;
    await waitFor(() => ofType(records(out), 'chunk_done').some((c) => c.model === passTwo()), 'a chunk of pass 2', 120_000);
    for (const pid of childPids(child.pid!)) process.kill(pid, 'SIGKILL');
    const killed = await child;
    expect(killed.exitCode, String(killed.stderr)).toBe(3);
    const passOne = ofType(records(out), 'pass_completed')[0]!.model;

    const resumed = await cli(['resume', out]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const all = records(out);
    const second = all.map((r) => r.type).lastIndexOf('session_started');
    const redone = ofType(all.slice(second), 'chunk_done');
    expect(redone.length).toBeGreaterThan(0);
    expect(redone.filter((c) => c.model === passOne)).toHaveLength(0); // pass 1 kept, not recomputed
    expect(ofType(all.slice(second), 'pass_started').map((p) => p.model)).not.toContain(passOne);
    expect(maxAbsDiff(matrix(out), matrix(sequential))).toBeLessThan(1e-6);
  });

  it('switches a paused simultaneous run to sequential; it completes with the same matrix', async () => {
    process.env.HEADROOM_CACHE_DIR = join(dir, 'cache-in-process');
    const out = await createEmbedRun(corpus, join(dir, 'switched'), spec('simultaneous'));
    const control = new RunControl<EmbedSettings>();
    const seen: Progress[] = [];
    let switched = false;
    const summary = await executeRun(out, {
      command: 'start',
      control,
      report: (event) => {
        seen.push(event);
        if (event.kind === 'chunk' && !control.paused && !switched) control.pause();
        if (event.kind === 'paused' && !switched) {
          switched = true;
          control.change({ ensembleMode: 'sequential' });
          control.resume();
        }
      },
    });
    expect(switched).toBe(true);
    expect(summary.ensembleMode).toBe('sequential');
    const all = records(out);
    expect(ofType(all, 'mode_changed').map((m) => m.ensembleMode)).toEqual(['sequential']);
    // After the switch the remaining units go model by model: one model change per pass.
    const changeAt = all.findIndex((r) => r.type === 'mode_changed');
    const after = ofType(all.slice(changeAt), 'chunk_done').map((c) => c.model);
    const switches = after.filter((model, i) => i > 0 && model !== after[i - 1]).length;
    expect(switches).toBeLessThanOrEqual(4); // units in flight at the switch, then 3 passes
    expect(maxAbsDiff(matrix(out), matrix(sequential))).toBeLessThan(1e-6);
  });

  it('averages with --aggregate mean when dims agree, and refuses mismatched dims before any work', async () => {
    const mean = join(dir, 'mean');
    const ok = await cli(['embed', corpus, '--out', mean, '--model', tinyModel(), '--model', inject('otherTinyModel'), '--aggregate', 'mean', '--device', 'cpu', '--batch-size', '4']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(matrix(mean).cols).toBe(32);

    const bad = join(dir, 'mean-bad');
    const refused = await cli([...ensembleArgs(corpus, bad, 'sequential'), '--aggregate', 'mean']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--aggregate mean needs models of one dimension, but they differ \(.* 32, .* 64\); use --aggregate concat/);
    expect(ofType(records(bad), 'chunk_done')).toHaveLength(0);
    expect(ofType(records(bad), 'pass_started')).toHaveLength(0);
    expect(existsSync(join(bad, 'chunks'))).toBe(false);
  });

  it('refuses bad specs with a clear message and creates nothing', async () => {
    const cases: [Flags, NodeJS.ProcessEnv, RegExp][] = [
      [{ weights: '0.5,0.5' }, {}, /--weights has 2 value\(s\) but there are 3 model\(s\)/],
      [{ weights: '0.5,-0.3,0.2' }, {}, /weight 2 \("-0.3"\) must be from 0.000001 to 1000000/],
      [{ weights: '0.5,abc,0.2' }, {}, /weight 2 \("abc"\) must be a finite number/],
      [{ mode: 'parallel' }, {}, /--ensemble-mode.*parallel.*simultaneous, sequential/],
      [{}, { HEADROOM_ENSEMBLE_MODE: 'parallel' }, /HEADROOM_ENSEMBLE_MODE is "parallel"; expected simultaneous or sequential/],
      [{ device: 'cpu,cpu' }, {}, /--device lists 2 devices for 3 model\(s\)/],
    ];
    for (const [i, [flags, env, message]] of cases.entries()) {
      const out = join(dir, `bad-${i}`);
      const result = await cli(ensembleArgs(corpus, out, undefined, [], flags), env);
      expect(result.exitCode, `${JSON.stringify(flags)}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    // The flag wins over the environment.
    const flagged = join(dir, 'flag-wins');
    const result = await cli([...ensembleArgs(corpus, flagged, 'sequential'), '--chunk-size', '120'], { HEADROOM_ENSEMBLE_MODE: 'simultaneous' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(flagged, 'run.json'), 'utf8')).spec.ensembleMode).toBe('sequential');
  });

  it('keeps HF_TOKEN and a secret-bearing model URL out of the run, its logs, events and output', async () => {
    const token = `hf_${'Tk9'.repeat(9)}`;
    const env = { HF_TOKEN: token, HEADROOM_LOG_LEVEL: 'DEBUG' };
    const url = `https://user:${token}@huggingface.co/org/model?token=${token}`;

    const failed = join(dir, 'secret-fail');
    const refused = await cli(['embed', corpus, '--out', failed, '--model', tinyModel(), '--model', url, '--device', 'cpu', '--verbose', '--json'], env);
    expect(refused.exitCode).toBe(2);
    // A spec that holds a secret is refused at creation: run.json is stored masked, so the run could not use it (runs/storable.ts).
    expect(refused.stderr).toMatch(/model 2 \(--model\) "https:\/\/\*\*\*@huggingface\.co\/org\/model\?token=\*\*\*" holds what looks like a secret/);
    expect(existsSync(failed)).toBe(false);

    const worked = join(dir, 'secret-ok');
    const ok = await cli([...ensembleArgs(corpus, worked, 'sequential', ['--verbose', '--chunk-size', '120'])], env);
    expect(ok.exitCode, ok.stderr).toBe(0);
    for (const text of [refused.stdout, refused.stderr, ok.stdout, ok.stderr, allText(failed), allText(worked)]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(3));
    }
  });

  it('hands secrets to the worker through its environment, never its command line', async () => {
    const token = `hf_${'Qw7'.repeat(9)}`;
    const out = await createEmbedRun(corpus, join(dir, 'environ'), { ...spec('sequential'), chunkSize: 120 });
    let cmdline = '';
    let environ = '';
    await executeRun(out, {
      command: 'start',
      env: { ...process.env, HF_TOKEN: token },
      report: (event) => {
        if (event.kind === 'runtime') {
          cmdline = readFileSync(`/proc/${event.pid}/cmdline`, 'utf8');
          environ = readFileSync(`/proc/${event.pid}/environ`, 'utf8');
        }
      },
    });
    expect(cmdline).toMatch(/-m\0headroom_runtime/);
    expect(cmdline).not.toContain(token);
    expect(environ).toContain(`HF_TOKEN=${token}`);
  });
});

function spec(mode: 'simultaneous' | 'sequential'): EmbedOptions {
  return {
    ...EMBED_REQUEST_DEFAULTS,
    models: ensembleEntries(
      MODELS().map((model) => ({ model, device: 'cpu' })),
      WEIGHTS.split(',').map(Number),
    ),
    ensembleMode: mode,
    chunkSize: 40,
    batchSize: 4,
  };
}
