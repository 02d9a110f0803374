/** `headroom trials` flags to a TrialsRequest: the schema's defaults, absolute paths, the space file, the refusals that need no runtime. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRIALS_REQUEST_DEFAULTS } from '../../../src/contract/jobs/trials.js';
import { requestFromFlags, type TrialsFlags } from '../../../src/jobs/trials/cli.js';
import { sweepSpec } from '../../../src/jobs/trials/trialsRun.js';
import { cli, tempDir } from '../../helpers.js';
import { writeSpace } from './data.js';
import { SPACE } from './fixtures.js';

const flags = (extra: Partial<TrialsFlags> = {}): TrialsFlags => ({ data: 'table.csv', target: 'y', out: 'out', json: false, verbose: false, ...extra });

describe('requestFromFlags', () => {
  it('leaves every default to the schema and makes paths absolute', () => {
    const request = requestFromFlags(flags());
    const { data, target, ...rest } = request;
    expect(data).toBe(join(process.cwd(), 'table.csv'));
    expect(target).toBe('y'); // a column stays a column
    expect(rest).toEqual(TRIALS_REQUEST_DEFAULTS);
    expect(requestFromFlags(flags({ target: 'y.npy' })).target).toBe(join(process.cwd(), 'y.npy'));
  });

  it('takes auto or a number of members, and names the flag of a bad value', () => {
    expect(requestFromFlags(flags({ concurrency: 8 })).concurrency).toBe(8);
    expect(requestFromFlags(flags({ concurrency: 'auto' })).concurrency).toBe('auto');
    expect(() => requestFromFlags(flags({ trials: 0 }))).toThrow(/--trials: at least 1 trial/);
    expect(() => requestFromFlags(flags({ trials: Number.NaN }))).toThrow(/--trials: a whole number of trials/);
    expect(() => requestFromFlags(flags({ vramLimit: -1 }))).toThrow(/--vram-limit: above 0 GiB/);
    expect(() => requestFromFlags(flags({ valFraction: 1 }))).toThrow(/--val-fraction: below 1/);
    expect(() => requestFromFlags(flags({ folds: 1 }))).toThrow(/--folds: at least 2 folds/);
  });

  it('refuses --folds with --val-fraction', () => {
    expect(() => requestFromFlags(flags({ folds: 3, valFraction: 0.3 }))).toThrow(/--folds and --val-fraction exclude each other/);
  });

  it('reads the space file here, naming it when it is missing, not JSON or not a space', () => {
    const dir = tempDir();
    const good = join(dir, 'space.json');
    writeFileSync(good, JSON.stringify(SPACE));
    const request = requestFromFlags(flags({ space: good }));
    expect(request.space).toEqual({ nn: SPACE }); // one family's space alone, flat: keyed by it
    expect(request.spaceSource).toBe(good);
    expect(() => requestFromFlags(flags({ space: join(dir, 'none.json') }))).toThrow(`space file ${join(dir, 'none.json')} does not exist`);
    writeFileSync(join(dir, 'bad.json'), '{"lr": ');
    expect(() => requestFromFlags(flags({ space: join(dir, 'bad.json') }))).toThrow(`space file ${join(dir, 'bad.json')} is not valid JSON`);
    writeFileSync(join(dir, 'odd.json'), '{"lr": 3}');
    expect(() => requestFromFlags(flags({ space: join(dir, 'odd.json') }))).toThrow(new RegExp(`space file ${join(dir, 'odd.json')} at lr: `));
    // JSON's own "__proto__" key: the parse drops it, so it would be ignored without a word (an unknown key like any other)
    writeFileSync(join(dir, 'proto.json'), `{"__proto__": ${JSON.stringify(SPACE.lr)}, "lr": ${JSON.stringify(SPACE.lr)}}`);
    expect(() => requestFromFlags(flags({ space: join(dir, 'proto.json') }))).toThrow(
      `${join(dir, 'proto.json')}: unknown key '__proto__'; a space's keys are parameters of its family's space`,
    );
  });

  it('takes --family as a comma list in its order and --tree-workers as auto or a number; refuses an unknown family or one twice', () => {
    expect(requestFromFlags(flags({ family: 'xgboost, nn,catboost' })).families).toEqual(['xgboost', 'nn', 'catboost']);
    expect(requestFromFlags(flags()).families).toEqual(['nn']);
    expect(requestFromFlags(flags({ treeWorkers: 3 })).treeWorkers).toBe(3);
    expect(sweepSpec(requestFromFlags(flags({ family: 'lightgbm', treeWorkers: 3 })))).toMatchObject({ families: ['lightgbm'], treeWorkers: 3 });
    expect(sweepSpec(requestFromFlags(flags({ treeWorkers: 'auto' }))).treeWorkers).toBeNull();
    expect(() => requestFromFlags(flags({ family: 'nn,randomforest' }))).toThrow("--family: unknown family 'randomforest'; the known families are nn, xgboost, lightgbm, catboost");
    expect(() => requestFromFlags(flags({ family: 'nn,' }))).toThrow(/--family: an empty name in the list/);
    expect(() => requestFromFlags(flags({ family: 'xgboost,nn,xgboost' }))).toThrow('--family: xgboost is named twice');
    expect(() => requestFromFlags(flags({ treeWorkers: 0 }))).toThrow('--tree-workers: at least 1');
    expect(() => requestFromFlags(flags({ treeWorkers: Number.NaN }))).toThrow('--tree-workers: a whole number of workers');
    expect(() => requestFromFlags(flags({ treeWorkers: 2.5 }))).toThrow('--tree-workers: a whole number of workers');
  });

  it('reads a space file keyed by family, or one family\'s space flat; refuses a family the sweep has not', () => {
    const dir = tempDir();
    const keyed = writeSpace(join(dir, 'keyed.json'), { nn: SPACE, xgboost: { max_depth: { name: 'IntDistribution', attributes: { low: 2, high: 4, log: false, step: 1 } } } });
    expect(requestFromFlags(flags({ family: 'nn,xgboost', space: keyed })).space).toEqual({ nn: SPACE, xgboost: { max_depth: { name: 'IntDistribution', attributes: { low: 2, high: 4, log: false, step: 1 } } } });
    const flat = writeSpace(join(dir, 'flat.json'), { max_depth: { name: 'IntDistribution', attributes: { low: 2, high: 4, log: false, step: 1 } } });
    expect(requestFromFlags(flags({ family: 'xgboost', space: flat })).space).toEqual({ xgboost: { max_depth: { name: 'IntDistribution', attributes: { low: 2, high: 4, log: false, step: 1 } } } });
    expect(() => requestFromFlags(flags({ family: 'nn,xgboost', space: flat }))).toThrow(`space file ${flat} holds one space, and this sweep searches 2 families (nn, xgboost): key it by family`);
    expect(() => requestFromFlags(flags({ family: 'nn', space: keyed }))).toThrow(`space file ${keyed}: 'xgboost' is not a family of this sweep (nn)`);
    const mixed = writeSpace(join(dir, 'mixed.json'), { nn: SPACE, lr: SPACE.lr });
    expect(() => requestFromFlags(flags({ space: mixed }))).toThrow(`space file ${mixed}: 'lr' is not a family`);
    const odd = writeSpace(join(dir, 'odd.json'), { nn: { lr: 3 } });
    expect(() => requestFromFlags(flags({ space: odd }))).toThrow(new RegExp(`space file ${odd} at nn\\.lr: `));
    const list = writeSpace(join(dir, 'list.json'), [SPACE]);
    expect(() => requestFromFlags(flags({ space: list }))).toThrow(`space file ${list}: not a JSON object`);
  });

  it('maps auto to null and GiB to bytes for the runtime', () => {
    const spec = sweepSpec(requestFromFlags(flags({ vramLimit: 1.5, concurrency: 4, engine: 'serial', task: 'binary' })));
    expect(spec).toMatchObject({ concurrency: 4, engine: 'serial', task: 'binary', vramLimit: Math.round(1.5 * 1024 ** 3), space: null });
    expect(sweepSpec(requestFromFlags(flags()))).toMatchObject({ concurrency: null, engine: null, task: null, vramLimit: null });
  });
});

describe('headroom trials refusals that need no runtime', () => {
  it('exits 2 with the message and creates no run folder', async () => {
    const dir = tempDir();
    const out = join(dir, 'run');
    const both = await cli(['trials', '--data', join(dir, 't.csv'), '--target', 'y', '--out', out, '--folds', '3', '--val-fraction', '0.3']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/--folds and --val-fraction exclude each other/);
    const missing = await cli(['trials', '--data', join(dir, 't.csv'), '--target', 'y', '--out', out, '--space', join(dir, 'space.json')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`space file ${join(dir, 'space.json')} does not exist`);
    const json = await cli(['trials', '--data', join(dir, 't.csv'), '--target', 'y', '--out', out, '--trials', 'many', '--json']);
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ event: 'error', exitCode: 2, message: '--trials: a whole number of trials' });
    expect(existsSync(out)).toBe(false);
  });

  it('exits 2 for an unknown family, one named twice, a bad --tree-workers or a space keyed by a family not in the sweep, creating nothing', async () => {
    const dir = tempDir();
    const out = join(dir, 'run');
    const base = ['trials', '--data', join(dir, 't.csv'), '--target', 'y', '--out', out];
    const space = writeSpace(join(dir, 'space.json'), { nn: SPACE, catboost: {} });
    const cases: [string[], RegExp][] = [
      [['--family', 'nn,gbm'], /--family: unknown family 'gbm'; the known families are nn, xgboost, lightgbm, catboost/],
      [['--family', 'lightgbm,lightgbm'], /--family: lightgbm is named twice/],
      [['--family', 'xgboost', '--tree-workers', 'some'], /--tree-workers: a whole number of workers/],
      [['--tree-workers', '0'], /--tree-workers: at least 1/],
      [['--family', 'nn,xgboost', '--space', space], /'catboost' is not a family of this sweep \(nn, xgboost\)/],
    ];
    const results = await Promise.all(cases.map(([extra]) => cli([...base, ...extra])));
    results.forEach((result, i) => {
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(cases[i]![1]);
    });
    expect(existsSync(out)).toBe(false);
    const help = await cli(['trials', '--help']);
    const words = help.stdout.replace(/\s+/g, ' '); // the help wraps its lines
    expect(words).toMatch(/--family <list> [^]*?nn, xgboost, lightgbm, catboost \(default nn\)/);
    expect(words).toMatch(/--tree-workers <auto\|n> [^]*?\(default auto\)/);
  });
});
