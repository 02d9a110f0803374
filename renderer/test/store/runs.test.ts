import { beforeEach, describe, expect, it } from 'vitest';
import { RunInfo } from '../../../worker/src/contract/api.ts';
import { useStore } from '../../src/store/index.ts';
import { runRow } from '../../src/store/runs.ts';
import { embedRun, trialsRun } from './fixtures.ts';

describe('the runs list, whatever the kind', () => {
  beforeEach(() => useStore.setState(useStore.getInitialState(), true));

  it('reads an embed run with its own words: units, docs, models', () => {
    const row = runRow(embedRun('e1'));
    expect(row).toMatchObject({ viewable: true, kind: 'embed', progress: '3/10 chunks · 600 docs', details: 'm1, m2', percent: 30, resumable: false });
    expect(runRow(embedRun('e2', { status: 'interrupted' })).resumable).toBe(true);
  });

  it('lists a run of an unknown kind as "unknown kind X" with its errors, and never offers to resume it', () => {
    const run = RunInfo.parse(trialsRun('t1')); // as the API delivers it
    useStore.getState().setRuns([embedRun('e1')]);
    useStore.getState().upsertRun(run);
    const listed = useStore.getState().runs;
    expect(listed.map((r) => r.runId)).toEqual(['t1', 'e1']); // listed, first, not dropped
    const row = runRow(listed[0]!);
    expect(row).toMatchObject({ viewable: false, kind: 'unknown kind trials', progress: '0/0 units', percent: 0, resumable: false });
    expect(row.details).toBe('unknown kind "trials" (made by a newer Headroom?)');
    expect(runRow({ ...run, status: 'interrupted' }).resumable).toBe(false);
  });

  it('shows a known kind this panel has no slice for, and an embed run that does not fit its schema, as unviewable', () => {
    const noSlice = runRow({ ...trialsRun('t2'), kind: 'forecast', known: true, status: 'running', errors: [] });
    expect(noSlice).toMatchObject({ viewable: false, kind: 'unknown kind forecast', details: 'this panel has no view for this kind of job' });
    // A sweep whose info does not fit TrialsRunInfo (an older one without its fields).
    expect(runRow({ ...trialsRun('t3'), known: true, status: 'running', errors: [] })).toMatchObject({ viewable: false, kind: 'trials (unreadable)' });
    const broken = runRow(RunInfo.parse({ ...embedRun('e3'), models: 'not a list' }));
    expect(broken).toMatchObject({ viewable: false, kind: 'embed (unreadable)', details: 'its run info does not fit its kind' });
  });

  it('replaces a run by id when its status changes', () => {
    useStore.getState().setRuns([embedRun('e1'), embedRun('e2')]);
    useStore.getState().upsertRun(embedRun('e2', { status: 'done', unitsDone: 10 }));
    expect(useStore.getState().runs.map((r) => [r.runId, r.status])).toEqual([
      ['e1', 'running'],
      ['e2', 'done'],
    ]);
  });
});
