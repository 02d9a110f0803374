import { describe, expect, it } from 'vitest';
import { defaultRunsDir } from '../../src/runs/runsDir.js';

describe('the runs folder', () => {
  it('is --runs-dir, else HEADROOM_RUNS_DIR, else the per-user data folder', () => {
    expect(defaultRunsDir({ HEADROOM_RUNS_DIR: '/r' }, 'linux')).toBe('/r');
    expect(defaultRunsDir({ XDG_DATA_HOME: '/x' }, 'linux')).toBe('/x/headroom/runs');
    expect(defaultRunsDir({ APPDATA: 'C:/Users/u/AppData/Roaming' }, 'win32')).toMatch(/Headroom[\\/]runs$/);
    expect(defaultRunsDir({}, 'darwin')).toMatch(/Library\/Application Support\/Headroom\/runs$/);
  });
});
