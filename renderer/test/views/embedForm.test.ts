/** The embed form's Workers and VRAM guard fields, and the run view's guard levels (issue 14). */
import { describe, expect, it } from 'vitest';
import { EMBED_REQUEST_DEFAULTS, EmbedRequest } from '../../../worker/src/contract/jobs/embed.ts';
import { guardLevels, guardTotal } from '../../src/views/embed/guard.ts';
import { levelOf, useEmbedForm, workersOf } from '../../src/views/embed/formState.ts';
import { EMBED_SETTINGS } from '../store/fixtures.ts';

const GIB = 1024 ** 3;

describe('the Workers field', () => {
  it('empty is one worker; a list is the request’s list; "all" is one per GPU, numbered as the Engine numbers them', () => {
    expect(workersOf('  ', 2)).toBeNull();
    expect(workersOf('cpu, cpu', 0)).toEqual(['cpu', 'cpu']);
    expect(workersOf('CUDA:0,cuda:1', 2)).toEqual(['cuda:0', 'cuda:1']);
    expect(workersOf('all', 2)).toEqual(['cuda:0', 'cuda:1']);
    for (const list of [workersOf('cpu,cpu', 0), workersOf('all', 2)]) expect(EmbedRequest.safeParse({ input: 'x', models: [{ model: 'm' }], workers: list }).success).toBe(true);
  });

  it('says in words what is wrong: "all" without a GPU, a missing device, (the schema) a device that is none', () => {
    expect(workersOf('all', 0)).toMatch(/no NVIDIA GPU is seen here/);
    expect(workersOf('cpu,,cpu', 0)).toMatch(/a device is missing between commas/);
    const bad = EmbedRequest.safeParse({ input: 'x', models: [{ model: 'm' }], workers: workersOf('cpu,gpu1', 0) });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['workers', 1]);
  });
});

describe('the VRAM levels', () => {
  it('are typed in percent and sent as fractions; out of range is refused in percent words', () => {
    expect(levelOf(85)).toBe(0.85);
    expect(levelOf('95')).toBe(0.95);
    expect(levelOf('')).toMatch(/a percent/);
    expect(levelOf(0)).toBe('a percent above 0 and at most 100');
    expect(levelOf(120)).toBe('a percent above 0 and at most 100');
  });

  it('the form starts from the request’s defaults', () => {
    const form = useEmbedForm.getState();
    expect([levelOf(form.vramWarning), levelOf(form.vramCritical), form.onCritical, form.workers]).toEqual([EMBED_REQUEST_DEFAULTS.vramWarning, EMBED_REQUEST_DEFAULTS.vramCritical, EMBED_REQUEST_DEFAULTS.onCritical, '']);
  });

  it('the run view draws the run’s own levels, of the cap where it has one; and the defaults of a run made before the guard (its settings read with them)', () => {
    expect(guardLevels(EMBED_SETTINGS)).toEqual({ warning: 0.85, critical: 0.95, onCritical: 'shrink' });
    const own = { ...EMBED_SETTINGS, vramWarning: 0.5, vramCritical: 0.7, onCritical: 'pause' as const };
    expect(guardLevels(own)).toEqual({ warning: 0.5, critical: 0.7, onCritical: 'pause' });
    expect(guardTotal(EMBED_SETTINGS, 16 * GIB)).toBe(16 * GIB);
    expect(guardTotal({ ...EMBED_SETTINGS, vramLimitGiB: 4 }, 16 * GIB)).toBe(4 * GIB);
    expect(guardTotal({ ...EMBED_SETTINGS, vramLimitGiB: 4 }, null)).toBe(4 * GIB);
  });
});
