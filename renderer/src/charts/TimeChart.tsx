import { Card, Text } from '@mantine/core';
import { memo, useDeferredValue, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { decimate, type Point } from './decimate.ts';
import { clock } from '../format.ts';
import { useStore } from '../store/index.ts';
import { lastEnd, type Gap } from '../store/timeline.ts';

export interface Threshold {
  value: number;
  label: string;
  color: string;
}

/** A further line on the chart (another GPU, another worker): its own points, drawn beside the main series. */
export interface ExtraSeries {
  /** A stable data key (STYLE: stable dataKeys), also its name in the legend and tooltip. */
  name: string;
  points: readonly Point[];
  color: string;
  dashed?: boolean;
}

/** An event marked on the chart at its time, in its colour (a guard warning, a restart). */
export interface Mark {
  t: number;
  color: string;
  label?: string;
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
  /** The run whose time axis the chart shares with its other charts (start, gaps, clock or elapsed). */
  runId?: string;
  /** A count (batch size, chunks): whole-number ticks only. */
  integer?: boolean;
  /** The main series' name in the legend and tooltip (default: the label); shown in a legend when there are extras. */
  name?: string;
  extras?: readonly ExtraSeries[];
  /** Events marked in their own colours (marks are OOMs, in red). */
  notes?: readonly Mark[];
}

const GAP_COLOR: Record<Gap['why'], string> = {
  paused: 'var(--mantine-color-gray-5)',
  interrupted: 'var(--mantine-color-red-5)',
  failed: 'var(--mantine-color-red-7)',
  stopped: 'var(--mantine-color-orange-5)',
};

const NO_GAPS: Gap[] = [];

const COMPACT = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** Compact tick labels (1.2k, 3.4M) so they never wrap or clip in the axis' width (one formatter: building one per tick costs frames). */
const compact = (value: number): string => COMPACT.format(value);

/** "+1:02:03": time since the run began, for the elapsed axis. */
function sinceStart(s: number): string {
  const total = Math.max(0, Math.round(s));
  const two = (n: number): string => String(n).padStart(2, '0');
  const h = Math.floor(total / 3600);
  return `+${h > 0 ? `${h}:${two(Math.floor((total % 3600) / 60))}` : Math.floor(total / 60)}:${two(total % 60)}`;
}

type Row = { t: number; v?: number | null } & Record<string, number | null | undefined>;

const NO_EXTRAS: readonly ExtraSeries[] = [];
const NO_NOTES: readonly Mark[] = [];

/**
 * The drawn rows: decimated points, with a null row inside every gap that holds no
 * point of this series, so the line breaks there instead of bridging the gap. Extra
 * series are decimated each on its own and merged by time (a row holds the series
 * sampled at its time; their lines join over the rows that lack them, so with extras a gap is shaded, not broken).
 */
function rows(points: readonly Point[], gaps: Gap[], scale: number, nowMs: number, extras: readonly ExtraSeries[]): Row[] {
  const drawn: Row[] = decimate(points, DRAWN_BUCKETS).map((p) => ({ t: p.t, v: p.v / scale }));
  if (extras.length > 0) {
    const byT = new Map<number, Row>(drawn.map((row) => [row.t, row]));
    for (const extra of extras)
      for (const p of decimate(extra.points, DRAWN_BUCKETS)) {
        const row = byT.get(p.t) ?? { t: p.t };
        row[extra.name] = p.v / scale;
        if (!byT.has(p.t)) {
          byT.set(p.t, row);
          drawn.push(row);
        }
      }
  }
  for (const gap of gaps) {
    const from = gap.from / 1000;
    const to = (gap.to ?? nowMs) / 1000;
    if (!drawn.some((row) => row.t > from && row.t < to)) drawn.push({ t: (from + to) / 2, v: null, ...Object.fromEntries(extras.map((extra) => [extra.name, null])) });
  }
  return drawn.sort((a, b) => a.t - b.t);
}

/** A time series, decimated before drawing so a day of samples stays fast. */
export const TimeChart = memo(function TimeChart({ label, unit, points, scale = 1, thresholds = [], marks = [], color = 'var(--mantine-color-blue-6)', step = false, caption, runId, integer = false, name = label, extras = NO_EXTRAS, notes = NO_NOTES }: Props) {
  // Drawn at low priority: React renders it in slices between frames, so streaming never stalls the page.
  const drawn = useDeferredValue(points);
  // Each piece of the time axis on its own: a live event that moves only the last time re-renders nothing here.
  const working = useStore((s) => s.runs.some((run) => run.runId === runId && (run.status === 'running' || run.status === 'paused')));
  const gaps = useStore((s) => (runId && s.timelines[runId]?.gaps) || NO_GAPS);
  const start = useStore((s) => (runId ? (s.timelines[runId]?.start ?? null) : null));
  const recordedEnd = useStore((s) => (runId ? (s.timelines[runId]?.ended ?? null) : null));
  const sessionOpen = useStore((s) => (runId ? (s.timelines[runId]?.open ?? false) : false));
  const lastAt = useStore((s) => (runId && !working ? (s.timelines[runId]?.lastAt ?? null) : null));
  // While the run works, every chart ends at its latest event, in steps of 5 s (one re-render per step, not per event).
  const liveEnd = useStore((s) => (runId && working ? Math.ceil((s.timelines[runId]?.lastAt ?? 0) / 5000) * 5 : null));
  const ended = useMemo(() => lastEnd({ start, lastAt, gaps, open: sessionOpen, ended: recordedEnd }, working), [start, lastAt, gaps, sessionOpen, recordedEnd, working]);
  const open = working && sessionOpen;
  const end = ended?.at ?? null;
  const axis = useStore((s) => s.timeAxis);
  const drawnExtras = useDeferredValue(extras);
  const now = Math.max(drawn.at(-1)?.t ?? 0, ...drawnExtras.map((extra) => extra.points.at(-1)?.t ?? 0));
  const data = useMemo(() => rows(drawn, gaps, scale, now * 1000, drawnExtras), [drawn, gaps, scale, now, drawnExtras]);
  // Every chart of a run spans the run's whole time (start to end, or to its latest point while it works).
  const domain: [number | string, number | string] = start === null ? ['dataMin', 'dataMax'] : [start / 1000, !open && end !== null ? end / 1000 : (liveEnd ?? 'dataMax')];
  const origin = start === null ? (drawn[0]?.t ?? 0) : start / 1000;
  const tickTime = (t: number): string => (axis === 'elapsed' ? sinceStart(t - origin) : clock(t));
  const last = points.at(-1);
  return (
    <Card withBorder padding="xs">
      <figure role="img" aria-label={label} data-run={runId} data-points={drawn.length} data-gaps={gaps.map((gap) => gap.why).join(' ')} data-ended={ended?.outcome ?? ''} data-series={1 + drawnExtras.length} style={{ margin: 0 }}>
        <Text size="sm" fw={600}>
          {label} <Text span size="xs">({unit})</Text>{' '}
          <Text span size="xs" c="dimmed">
            {caption ? `${caption} · ` : ''}
            {last ? `${(last.v / scale).toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit} now · ${points.length.toLocaleString()} samples` : 'no samples yet'}
          </Text>
        </Text>
        <div style={{ height: 180 }}>
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
              <XAxis dataKey="t" type="number" domain={domain} allowDataOverflow tickFormatter={tickTime} tick={{ fontSize: 11, fill: 'var(--mantine-color-text)' }} minTickGap={56} interval="preserveStartEnd" allowDecimals={false} />
              <YAxis tick={{ fontSize: 11, fill: 'var(--mantine-color-text)' }} width={44} tickFormatter={compact} domain={[0, 'auto']} allowDecimals={!integer} />
              <Tooltip labelFormatter={(t) => tickTime(Number(t))} formatter={(v, key) => [`${Number(v).toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit}`, String(key)]} isAnimationActive={false} />
              {drawnExtras.length > 0 && <Legend verticalAlign="top" height={20} iconSize={10} wrapperStyle={{ fontSize: 11 }} />}
              {gaps.map((gap) => (
                <ReferenceArea key={`${gap.from}-${gap.why}`} x1={gap.from / 1000} x2={(gap.to ?? now * 1000) / 1000} fill={GAP_COLOR[gap.why]} fillOpacity={0.15} stroke="none" ifOverflow="hidden" label={{ value: gap.why, position: 'insideTop', fontSize: 10, fill: 'var(--mantine-color-text)' }} />
              ))}
              {thresholds.map((th) => (
                <ReferenceLine key={th.label} y={th.value / scale} stroke={th.color} strokeDasharray="4 4" label={{ value: th.label, position: 'insideTopRight', fontSize: 10, fill: th.color }} />
              ))}
              {ended && ended.outcome !== 'done' && (
                <ReferenceLine x={ended.at / 1000} stroke={GAP_COLOR[ended.outcome]} strokeDasharray="2 2" label={{ value: ended.outcome, position: 'insideTopRight', fontSize: 10, fill: 'var(--mantine-color-text)' }} />
              )}
              {marks.map((t, i) => (
                <ReferenceLine key={`${t}-${i}`} x={t} stroke="var(--mantine-color-red-6)" />
              ))}
              {notes.map((note, i) => (
                <ReferenceLine key={`n${note.t}-${i}`} x={note.t} stroke={note.color} strokeDasharray="3 2" label={note.label ? { value: note.label, position: 'insideTopLeft', fontSize: 10, fill: note.color } : undefined} />
              ))}
              {(points.length > 0 || drawnExtras.length === 0) && <Line type={step ? 'stepAfter' : 'linear'} dataKey="v" name={name} legendType="plainline" stroke={color} dot={false} isAnimationActive={false} strokeWidth={1.5} connectNulls={drawnExtras.length > 0} />}
              {drawnExtras.map((extra) => (
                <Line key={extra.name} type={step ? 'stepAfter' : 'linear'} dataKey={extra.name} name={extra.name} legendType="plainline" stroke={extra.color} strokeDasharray={extra.dashed ? '5 3' : undefined} dot={false} isAnimationActive={false} strokeWidth={1.5} connectNulls />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </figure>
    </Card>
  );
});
