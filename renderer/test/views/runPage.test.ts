/**
 * The real views rendered to markup (server-side: there is no DOM here). They get their
 * runs as arguments; what they read from the store is its initial state (no API yet).
 */
import { MantineProvider } from '@mantine/core';
import { createElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { RunInfo } from '../../../worker/src/contract/api.ts';
import { EMBED_REQUEST_DEFAULTS } from '../../../worker/src/contract/jobs/embed.ts';
import { NewEmbedRunForm } from '../../src/views/embed/NewEmbedRunForm.tsx';
import { runPage } from '../../src/views/RunPage.tsx';
import { RunsTable } from '../../src/views/RunsView.tsx';
import { embedRun, trialsRun } from '../store/fixtures.ts';

const render = (node: ReactNode): string => renderToStaticMarkup(createElement(MantineProvider, null, node));
const trials = RunInfo.parse(trialsRun('t1')); // as the API delivers it

describe("the run page picks the kind's view", () => {
  it('shows an embed run with its charts, controls and settings', () => {
    const html = render(runPage(embedRun('e1', { phase: 'encoding chunk 4 of 10', progressLine: 'chunk 4 of 10 · 180/600 documents' })));
    // The Engine's words, as the CLI says them: the phase and chunks and documents (units only in a tooltip).
    for (const part of ['aria-label="VRAM"', 'aria-label="Batch size"', 'aria-label="Chunks"', 'aria-label="Run status"', '>Pause<', 'OOM policy', 'Ensemble passes', 'encoding chunk 4 of 10', '180/600 documents']) {
      expect(html).toContain(part);
    }
  });

  it('shows a run of an unknown kind as such, with its errors, and does not crash', () => {
    const html = render(runPage(trials));
    expect(html).toContain('unknown kind trials');
    expect(html).toContain('unknown kind &quot;trials&quot; (made by a newer Headroom?)');
    expect(html).toContain('aria-label="Run status"');
    expect(html).toContain('Delete run folder');
    expect(html).not.toContain('aria-label="VRAM"');
  });

  it('shows an embed run whose info does not fit its schema as unreadable, not as a broken page', () => {
    const html = render(runPage(RunInfo.parse({ ...embedRun('e2'), models: 'not a list' })));
    expect(html).toContain('embed (unreadable)');
    expect(html).not.toContain('aria-label="VRAM"');
  });
});

describe('the runs table', () => {
  it('lists runs of every kind, the unknown one marked as such and without "Resume run"', () => {
    const html = render(createElement(RunsTable, { runs: [{ ...trials, status: 'interrupted' }, embedRun('e1', { status: 'interrupted', progressLine: 'chunk 3 of 10 · 180/600 documents' })] }));
    expect(html).toContain('data-run="t1"');
    expect(html).toContain('unknown kind trials');
    expect(html).toContain('chunk 3 of 10 · 180/600 documents');
    expect(html).toContain('0/0 units'); // a kind without words: its units
    expect(html.match(/Resume run/g)).toHaveLength(1); // the embed run's only
  });
});

describe('the New run form', () => {
  it("starts from the contract's defaults (chunk size 1000, not the old 500)", () => {
    const html = render(createElement(NewEmbedRunForm));
    expect(EMBED_REQUEST_DEFAULTS.chunkSize).toBe(1000);
    expect(html).toMatch(new RegExp(`value="${EMBED_REQUEST_DEFAULTS.chunkSize}"`));
    expect(html).toContain(`value="${EMBED_REQUEST_DEFAULTS.maxBatch}"`);
    for (const option of ['simultaneous', 'sequential', 'concat', 'mean']) expect(html).toContain(`value="${option}"`); // the segmented controls, from the enums
  });
});
