/**
 * A sweep's own charts: "Trial progress" (each finished trial's objective by trial
 * number, the best so far as a step line) and the live loss curves (validation loss
 * by epoch, one line per trial, the hovered one highlighted, its params in the
 * tooltip). Each figure says what it draws in data attributes (data-points), as
 * the time charts do, so a test can watch it grow.
 */
import { Card, Group, Text, UnstyledButton } from '@mantine/core';
import { memo, useDeferredValue, useMemo, useState } from 'react';
import { CartesianGrid, ComposedChart, Line, LineChart, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import type { TrialResult } from '../../../../worker/src/contract/trialsProtocol.ts';
import { count } from '../../format.ts';
import { paramsLine, type TrialCurve } from '../../store/trials.ts';

const PALETTE = ['blue', 'teal', 'grape', 'orange', 'cyan', 'pink', 'lime', 'indigo', 'red', 'violet'];
export const trialColor = (n: number): string => `var(--mantine-color-${PALETTE[n % PALETTE.length]}-6)`;
const TICK = { fontSize: 11, fill: 'var(--mantine-color-text)' };
const fmt = (v: number): string => (Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());

interface ProgressRow {
  n: number;
  /** A complete trial's value; null for the others. */
  v: number | null;
  /** A pruned trial's value (drawn apart). */
  p: number | null;
  best: number | null;
}

/** Rows by trial number: the finished trials' values and the best so far (highest: r2 and auc are maximised). */
export function progressRows(results: readonly TrialResult[]): ProgressRow[] {
  let best: number | null = null;
  return results
    .slice()
    .sort((a, b) => a.number - b.number)
    .map((r) => {
      const complete = r.state === 'complete' && r.value !== null;
      if (complete && (best === null || r.value! > best)) best = r.value;
      return { n: r.number, v: complete ? r.value : null, p: r.state === 'pruned' ? r.value : null, best };
    });
}

export const TrialProgressChart = memo(function TrialProgressChart({ results, metric, trialsTotal }: { results: readonly TrialResult[]; metric: string | null; trialsTotal: number | null }) {
  const drawn = useDeferredValue(results);
  const rows = useMemo(() => progressRows(drawn), [drawn]);
  const points = rows.filter((r) => r.v !== null || r.p !== null).length;
  const best = rows.at(-1)?.best ?? null;
  const label = metric ?? 'objective';
  const maxN = Math.max(trialsTotal ?? 0, (rows.at(-1)?.n ?? 0) + 1);
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label="Trial progress" data-points={points} data-best={best ?? ''} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          Trial progress <Text span size="xs">({label} by trial number, higher is better)</Text>{' '}
          <Text span size="xs" c="dimmed">
            {best === null ? 'no trial finished yet' : `best ${fmt(best)} · ${count(rows.length, 'trial')} finished`}
          </Text>
        </Text>
        <div style={{ height: 220 }}>
          <ResponsiveContainer width="100%" height="100%">
            <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
              <XAxis dataKey="n" type="number" domain={[0, Math.max(1, maxN - 1)]} allowDecimals={false} tick={TICK} />
              <YAxis tick={TICK} width={52} domain={['auto', 'auto']} tickFormatter={fmt} />
              <Tooltip isAnimationActive={false} labelFormatter={(n) => `trial ${String(n)}`} formatter={(v, name) => [v === null || v === undefined ? '—' : fmt(Number(v)), String(name)]} />
              <Line name="best so far" dataKey="best" type="stepAfter" stroke="var(--mantine-color-teal-7)" strokeWidth={2} dot={false} isAnimationActive={false} connectNulls />
              <Scatter name={label} dataKey="v" fill="var(--mantine-color-blue-6)" isAnimationActive={false} />
              <Scatter name="pruned" dataKey="p" fill="var(--mantine-color-gray-6)" isAnimationActive={false} />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      </figure>
    </Card>
  );
});

type CurveRow = { epoch: number } & Record<string, number>;

/** One row per epoch any curve has, a column per trial (`t12`): the lines skip the epochs a trial did not sample. */
export function curveRows(curves: readonly TrialCurve[]): CurveRow[] {
  const byEpoch = new Map<number, CurveRow>();
  for (const curve of curves) {
    for (const p of curve.points) {
      let row = byEpoch.get(p.epoch);
      if (!row) byEpoch.set(p.epoch, (row = { epoch: p.epoch }));
      row[`t${curve.number}`] = p.val;
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

function CurveTooltip({ active, payload, label, curves }: { active?: boolean; payload?: readonly { dataKey?: unknown; value?: unknown }[]; label?: unknown; curves: readonly TrialCurve[] }) {
  if (!active || !payload?.length) return null;
  return (
    <Card withBorder padding={6} shadow="sm" fz="xs">
      <Text size="xs" fw={600}>
        epoch {String(label)}
      </Text>
      {payload.map((entry) => {
        const n = Number(String(entry.dataKey).slice(1));
        const curve = curves.find((c) => c.number === n);
        return (
          <Text key={String(entry.dataKey)} size="xs">
            <span style={{ color: trialColor(n) }} aria-hidden="true">
              ●{' '}
            </span>
            trial {n}: val {fmt(Number(entry.value))}
            {curve?.params ? ` · ${paramsLine(curve.params)}` : ''}
            {curve?.state ? ` (${curve.state})` : ''}
          </Text>
        );
      })}
    </Card>
  );
}

export const LossCurvesChart = memo(function LossCurvesChart({ curves }: { curves: readonly TrialCurve[] }) {
  const drawn = useDeferredValue(curves);
  const rows = useMemo(() => curveRows(drawn), [drawn]);
  const [hovered, setHovered] = useState<number | null>(null);
  const points = drawn.reduce((sum, c) => sum + c.points.length, 0);
  const running = drawn.filter((c) => c.state === null).length;
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label="Loss curves" data-points={points} data-trials={drawn.length} data-running={running} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          Loss curves <Text span size="xs">(validation loss by epoch)</Text>{' '}
          <Text span size="xs" c="dimmed">
            {drawn.length ? `${running} running, ${drawn.length - running} just finished (dashed)` : 'no trial running yet'}
          </Text>
        </Text>
        <div style={{ height: 220 }} onMouseLeave={() => setHovered(null)}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
              <XAxis dataKey="epoch" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tick={TICK} />
              <YAxis tick={TICK} width={52} domain={['auto', 'auto']} tickFormatter={fmt} />
              <Tooltip isAnimationActive={false} content={(props) => <CurveTooltip active={props.active} payload={props.payload} label={props.label} curves={drawn} />} />
              {drawn.map((c) => {
                const dim = hovered !== null && hovered !== c.number;
                return (
                  <Line
                    key={c.number}
                    name={`trial ${c.number}`}
                    dataKey={`t${c.number}`}
                    type="linear"
                    stroke={trialColor(c.number)}
                    strokeWidth={hovered === c.number ? 3 : 1.5}
                    strokeOpacity={dim ? 0.2 : 1}
                    strokeDasharray={c.state === null ? undefined : '4 3'}
                    dot={false}
                    activeDot={dim ? false : { r: 3 }}
                    connectNulls
                    isAnimationActive={false}
                    onMouseEnter={() => setHovered(c.number)}
                  />
                );
              })}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </figure>
      {drawn.length > 0 && (
          <Group gap={6} mt={4} aria-label="Trials drawn">
            {drawn.map((c) => (
              <UnstyledButton
                key={c.number}
                fz="xs"
                onMouseEnter={() => setHovered(c.number)}
                onMouseLeave={() => setHovered(null)}
                onFocus={() => setHovered(c.number)}
                onBlur={() => setHovered(null)}
                aria-label={`Highlight trial ${c.number}${c.params ? `: ${paramsLine(c.params)}` : ''}`}
                title={c.params ? paramsLine(c.params) : undefined}
                style={{ fontWeight: hovered === c.number ? 700 : 400 }}
              >
                <span style={{ color: trialColor(c.number) }} aria-hidden="true">
                  ━{' '}
                </span>
                trial {c.number}
                {c.state ? ` (${c.state})` : ''}
              </UnstyledButton>
            ))}
          </Group>
        )}
    </Card>
  );
});
