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
import type { TrialResult, TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';
import { count } from '../../format.ts';
import { paramsLine, type TrialCurve } from '../../store/trials.ts';
import { FAMILY_LABEL, familyColor } from './families.ts';

const PALETTE = ['blue', 'teal', 'grape', 'orange', 'cyan', 'pink', 'lime', 'indigo', 'red', 'violet'];
export const trialColor = (n: number): string => `var(--mantine-color-${PALETTE[n % PALETTE.length]}-6)`;
const TICK = { fontSize: 11, fill: 'var(--mantine-color-text)' };
const fmt = (v: number): string => (Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());

/** A row of the chart: a trial number, and for each family its value there (`v:nn`) and its best so far (`b:nn`); `p` a pruned trial's value. */
type ProgressRow = { n: number; p: number | null } & Record<string, number | null>;

/**
 * Rows by trial number (numbers count per family: each family's trial n shares row n):
 * each family's complete trials' values and its best so far (highest: r2 and auc are
 * maximised), and the pruned trials' values drawn apart.
 */
export function progressRows(results: readonly TrialResult[], families: readonly TrialsFamily[]): ProgressRow[] {
  const byNumber = new Map<number, ProgressRow>();
  for (const r of results) {
    let row = byNumber.get(r.number);
    if (!row) byNumber.set(r.number, (row = { n: r.number, p: null }));
    if (r.state === 'complete' && r.value !== null) row[`v:${r.family}`] = r.value;
    if (r.state === 'pruned' && r.value !== null) row.p = r.value;
  }
  const rows = [...byNumber.values()].sort((a, b) => a.n - b.n);
  for (const family of families) {
    let best: number | null = null;
    for (const row of rows) {
      const v = row[`v:${family}`] ?? null;
      if (v !== null && (best === null || v > best)) best = v;
      row[`b:${family}`] = best;
    }
  }
  return rows;
}

/** Each family's best value (null while it has none), in the given order. */
const familyBests = (results: readonly TrialResult[], families: readonly TrialsFamily[]): { family: TrialsFamily; best: number | null; finished: number }[] =>
  families.map((family) => {
    const own = results.filter((r) => r.family === family);
    const values = own.filter((r) => r.state === 'complete' && r.value !== null).map((r) => r.value!);
    return { family, best: values.length ? Math.max(...values) : null, finished: own.length };
  });

export const TrialProgressChart = memo(function TrialProgressChart({ results, metric, trialsTotal, families = ['nn'] }: { results: readonly TrialResult[]; metric: string | null; trialsTotal: number | null; families?: readonly TrialsFamily[] }) {
  const drawn = useDeferredValue(results);
  const shown = useMemo(() => [...new Set([...families, ...drawn.map((r) => r.family)])], [families, drawn]);
  const rows = useMemo(() => progressRows(drawn, shown), [drawn, shown]);
  const bests = useMemo(() => familyBests(drawn, shown), [drawn, shown]);
  const points = drawn.filter((r) => r.value !== null && (r.state === 'complete' || r.state === 'pruned')).length;
  const best = bests.reduce<number | null>((b, f) => (f.best !== null && (b === null || f.best > b) ? f.best : b), null);
  const series = bests.filter((f) => f.finished > 0).length;
  const several = shown.length > 1;
  const label = metric ?? 'objective';
  const maxN = Math.max(trialsTotal ?? 0, (rows.at(-1)?.n ?? 0) + 1);
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label="Trial progress" data-points={points} data-best={best ?? ''} data-series={series} data-families={bests.filter((f) => f.finished > 0).map((f) => f.family).join(',')} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          Trial progress <Text span size="xs">({label} by trial number{several ? ' in each family' : ''}, higher is better)</Text>{' '}
          <Text span size="xs" c="dimmed">
            {best === null ? 'no trial finished yet' : `best ${fmt(best)} · ${count(drawn.length, 'trial')} finished`}
          </Text>
        </Text>
        <div style={{ height: 220 }}>
          <ResponsiveContainer width="100%" height="100%">
            <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
              <XAxis dataKey="n" type="number" domain={[0, Math.max(1, maxN - 1)]} allowDecimals={false} tick={TICK} />
              <YAxis tick={TICK} width={52} domain={['auto', 'auto']} tickFormatter={fmt} />
              <Tooltip isAnimationActive={false} labelFormatter={(n) => `trial ${String(n)}`} formatter={(v, name) => [v === null || v === undefined ? '—' : fmt(Number(v)), String(name)]} />
              {shown.map((family) => (
                <Line
                  key={`b-${family}`}
                  name={several ? `${FAMILY_LABEL[family]} best so far` : 'best so far'}
                  dataKey={`b:${family}`}
                  type="stepAfter"
                  stroke={several ? familyColor(family, 7) : 'var(--mantine-color-teal-7)'}
                  strokeWidth={2}
                  strokeDasharray={several ? '5 3' : undefined}
                  dot={false}
                  isAnimationActive={false}
                  connectNulls
                />
              ))}
              {shown.map((family) => (
                <Scatter key={`v-${family}`} name={several ? `${FAMILY_LABEL[family]} ${label}` : label} dataKey={`v:${family}`} fill={familyColor(family)} isAnimationActive={false} />
              ))}
              <Scatter name="pruned" dataKey="p" fill="var(--mantine-color-gray-6)" isAnimationActive={false} />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      </figure>
      {several && (
        <Group gap="md" mt={4} aria-label="Families drawn">
          {bests.map((f) => (
            <Text key={f.family} size="xs" data-family={f.family}>
              <span style={{ color: familyColor(f.family) }} aria-hidden="true">
                ●{' '}
              </span>
              {FAMILY_LABEL[f.family]}: {f.best === null ? 'no trial yet' : `best ${fmt(f.best)}`}
            </Text>
          ))}
          <Text size="xs" c="dimmed">
            dashed: each family&apos;s best so far
          </Text>
        </Group>
      )}
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

export const LossCurvesChart = memo(function LossCurvesChart({ curves, nnOnly = false }: { curves: readonly TrialCurve[]; nnOnly?: boolean }) {
  const drawn = useDeferredValue(curves);
  const rows = useMemo(() => curveRows(drawn), [drawn]);
  const [hovered, setHovered] = useState<number | null>(null);
  const points = drawn.reduce((sum, c) => sum + c.points.length, 0);
  const running = drawn.filter((c) => c.state === null).length;
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label="Loss curves" data-points={points} data-trials={drawn.length} data-running={running} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          Loss curves <Text span size="xs">(validation loss by epoch{nnOnly ? ', NN trials' : ''})</Text>{' '}
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
