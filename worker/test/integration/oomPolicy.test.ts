/**
 * Issue 9, class 8: under `--oom-policy cpu` or `truncate`, any number of documents
 * that do not fit in memory alone finish (each is the policy's case, never a reason to
 * recycle the worker), and the summary, `status` and the panel's RunInfo count them
 * apart from the documents cut at the model's max length. OOMs are forced on CPU by
 * the documented switch HEADROOM_FAULT_OOM_TOKENS.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunManager } from '../../src/panel/runManager.js';
import { cli, embedArgs, maxAbsDiff, ofType, readMatrix, records, seededRandom, tempDir } from '../helpers.js';

const OOM = { HEADROOM_FAULT_OOM_TOKENS: '40' };
/** About 47 tokens: over the fault threshold, under the tiny model's max length (64). */
const LONG = `${'chunk of text '.repeat(15)}`;
/** Over the max length too: truncated there, and still too large alone. */
const OVER_MAX = `${'chunk of text '.repeat(30)}`;

interface Counts {
  truncated: number;
  cutToFit: number;
  onCpu: number;
}

describe('OOM policy with many documents too large alone', () => {
  let dir: string;
  let runsDir: string;
  let input: string;
  let clean: string;
  let manager: RunManager;
  const long = 15;
  const overMax = 5;

  beforeAll(async () => {
    dir = tempDir();
    runsDir = join(dir, 'runs');
    // Shuffled (seeded) so the long ones are spread through the chunk, in one chunk of 40.
    const random = seededRandom(9);
    const texts = [...Array<string>(long).fill(LONG), ...Array<string>(overMax).fill(OVER_MAX), ...Array.from({ length: 20 }, (_, i) => `short text ${i}`)];
    for (let i = texts.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [texts[i], texts[j]] = [texts[j]!, texts[i]!];
    }
    input = join(dir, 'input.jsonl');
    writeFileSync(input, `${texts.map((text, i) => JSON.stringify({ id: `d${i}`, text: `${text}${i}` })).join('\n')}\n`);
    clean = join(dir, 'clean');
    const result = await cli(embedArgs(input, clean, ['--chunk-size', '40']));
    expect(result.exitCode, result.stderr).toBe(0);
    manager = new RunManager({ runsDir, monitorGpus: false });
  });

  afterAll(async () => {
    await manager.close();
  });

  const matrix = (out: string) => readMatrix(join(out, 'embeddings.npy'));

  async function policyRun(policy: 'cpu' | 'truncate'): Promise<{ out: string; summary: Counts & { rows: number; ooms: number } }> {
    const out = join(runsDir, `policy-${policy}`);
    const result = await cli(embedArgs(input, out, ['--chunk-size', '40', '--oom-policy', policy, '--json']), OOM);
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Counts & { event: string; rows: number; ooms: number };
    expect(summary.event).toBe('summary');
    expect(ofType(records(out), 'worker_recycled')).toHaveLength(0); // one worker did it all
    expect(ofType(records(out), 'worker_ready')).toHaveLength(1);
    const settled = ofType(records(out), 'oom').filter((oom) => oom.action === policy);
    expect(settled).toHaveLength(long + overMax);
    return { out, summary };
  }

  async function statusCounts(out: string): Promise<Counts> {
    const status = await cli(['status', out, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    return JSON.parse(status.stdout) as Counts;
  }

  it(`cpu: ${long + overMax} documents in one chunk, each encoded on the CPU, counted as such`, async () => {
    const { out, summary } = await policyRun('cpu');
    const expected = { truncated: overMax, cutToFit: 0, onCpu: long + overMax };
    expect(summary).toMatchObject({ rows: 40, ...expected });
    expect(await statusCounts(out)).toMatchObject(expected);
    expect(manager.info('policy-cpu')).toMatchObject(expected);
    const human = await cli(['status', out]);
    expect(human.stdout).toContain(`(${overMax} truncated at the max length, 0 cut to fit memory, ${long + overMax} on the CPU)`);
    expect(maxAbsDiff(matrix(out), matrix(clean))).toBeLessThan(1e-5); // the CPU gives the same vectors
  }, 300_000);

  it(`truncate: ${long + overMax} documents in one chunk, each cut to fit, counted apart from the max-length cut`, async () => {
    const { out, summary } = await policyRun('truncate');
    const expected = { truncated: overMax, cutToFit: long + overMax, onCpu: 0 };
    expect(summary).toMatchObject({ rows: 40, ...expected });
    expect(await statusCounts(out)).toMatchObject(expected);
    expect(manager.info('policy-truncate')).toMatchObject(expected);
    const chunk = ofType(records(out), 'chunk_done')[0]!;
    expect(chunk.stats).toMatchObject({ oomTruncated: long + overMax, cpuFallbacks: 0 });
  }, 300_000);
});
