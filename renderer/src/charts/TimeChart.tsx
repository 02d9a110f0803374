import { Card, Text } from '@mantine/core';
import { memo, useDeferredValue, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { decimate, type Point } from './decimate.ts';
import { clock } from '../format.ts';

export interface Threshold {
  value: number;
  label: string;
  color: string;
}

/** About one point per 1.5 px of a half-width chart: finer detail is not visible, and costs frames. */
const DRAWN_BUCKETS = 180;

interface Props {
  /** The chart's accessible name ("VRAM", "Batch size", "Chunks"). */
  label: string;
  unit: string;
  points: readonly Point[];
  /** Divides raw values for display (bytes -> MiB). */
  scale?: number;
  thresholds?: Threshold[];
  /** Times (s) of events marked on the chart (OOMs). */
  marks?: number[];
  color?: string;
  step?: boolean;
  /** What the series is, when the label alone could mislead (process memory on a CPU run). */
  caption?: string;
}

/** A time series, decimated before drawing so a day of samples stays fast. */
export const TimeChart = memo(function TimeChart({ label, unit, points, scale = 1, thresholds = [], marks = [], color = 'var(--mantine-color-blue-6)', step = false, caption }: Props) {
  // Drawn at low priority: React renders it in slices between frames, so streaming never stalls the page.
  const drawn = useDeferredValue(points);
  const data = useMemo(() => decimate(drawn, DRAWN_BUCKETS).map((p) => ({ t: p.t, v: p.v / scale })), [drawn, scale]);
  const last = points.at(-1);
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label={label} data-points={drawn.length} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          {label}{' '}
          <Text span size="xs" c="dimmed">
            {caption ? `${caption} · ` : ''}
            {last ? `${(last.v / scale).toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit} now · ${points.length.toLocaleString()} samples` : 'no samples yet'}
          </Text>
        </Text>
        <div style={{ height: 180 }}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
              <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tickFormatter={clock} tick={{ fontSize: 11 }} minTickGap={40} />
              <YAxis tick={{ fontSize: 11 }} width={64} unit={` ${unit}`} domain={[0, 'auto']} />
              <Tooltip labelFormatter={(t) => clock(Number(t))} formatter={(v) => [`${Number(v).toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit}`, label]} isAnimationActive={false} />
              {thresholds.map((th) => (
                <ReferenceLine key={th.label} y={th.value / scale} stroke={th.color} strokeDasharray="4 4" label={{ value: th.label, position: 'insideTopRight', fontSize: 10, fill: th.color }} />
              ))}
              {marks.map((t, i) => (
                <ReferenceLine key={`${t}-${i}`} x={t} stroke="var(--mantine-color-red-6)" />
              ))}
              <Line type={step ? 'stepAfter' : 'linear'} dataKey="v" stroke={color} dot={false} isAnimationActive={false} strokeWidth={1.5} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      </figure>
    </Card>
  );
});
