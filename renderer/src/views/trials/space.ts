/**
 * The New sweep form's search space: one row per parameter (hidden layer shapes as
 * a list of choices; lr, weight decay and dropout as ranges), turned into the
 * contract's SearchSpace (Optuna's serialised distributions). The form shows the
 * default space; while it is left as shown the request says `space: null`, so the
 * runtime's own default applies (the same: python-runtime/headroom_runtime/trials/space.py, default_space).
 */
import type { SearchSpace } from '../../../../worker/src/contract/trialsProtocol.ts';

export type RangeKey = 'lr' | 'weight_decay' | 'dropout';

export interface RangeRow {
  low: string;
  high: string;
  log: boolean;
}

export interface SpaceRows {
  /** Shapes as typed: "256-128-64, 128-64-32". */
  hidden: string;
  lr: RangeRow;
  weight_decay: RangeRow;
  dropout: RangeRow;
}

export const RANGE_LABELS: Record<RangeKey, string> = { lr: 'Learning rate', weight_decay: 'Weight decay', dropout: 'Dropout' };

export const DEFAULT_SPACE_ROWS: SpaceRows = {
  hidden: '256-128-64, 128-64-32, 512-256-128, 256-128, 128-64, 256-256-128-64, 128-128-64-32',
  lr: { low: '0.0001', high: '0.01', log: true },
  weight_decay: { low: '0.000001', high: '0.01', log: true },
  dropout: { low: '0', high: '0.3', log: false },
};

const sameRows = (a: SpaceRows, b: SpaceRows): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The shapes typed, each checked: widths of at least 1 joined by "-". */
export function parseShapes(text: string): { shapes: string[]; error: string | null } {
  const shapes = text
    .split(/[,\n]/)
    .map((s) => s.trim().replace(/\s*[-x×]\s*/g, '-'))
    .filter(Boolean);
  if (shapes.length === 0) return { shapes, error: 'at least one shape, e.g. 128-64' };
  const bad = shapes.find((s) => !/^[1-9]\d*(-[1-9]\d*)*$/.test(s));
  if (bad) return { shapes, error: `"${bad}" is not a shape: layer widths of at least 1 joined by "-", e.g. 256-128-64` };
  const dup = shapes.find((s, i) => shapes.indexOf(s) !== i);
  if (dup) return { shapes, error: `"${dup}" is listed twice` };
  return { shapes, error: null };
}

/**
 * The space the rows say, with an error per row that is wrong (keys: hidden, lr, ...);
 * space null when the rows are the defaults as shown (the runtime's default applies).
 */
export function spaceOf(rows: SpaceRows): { space: SearchSpace | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const { shapes, error } = parseShapes(rows.hidden);
  if (error) errors['space.hidden'] = error;
  const space: SearchSpace = { hidden: { name: 'CategoricalDistribution', attributes: { choices: shapes } } };
  for (const key of ['lr', 'weight_decay', 'dropout'] as const) {
    const row = rows[key];
    const low = row.low.trim() === '' ? Number.NaN : Number(row.low);
    const high = row.high.trim() === '' ? Number.NaN : Number(row.high);
    const label = RANGE_LABELS[key];
    if (!Number.isFinite(low) || !Number.isFinite(high)) errors[`space.${key}`] = `${label}: low and high are numbers`;
    else if (low > high) errors[`space.${key}`] = `${label}: low is above high`;
    else if (row.log && low <= 0) errors[`space.${key}`] = `${label}: a log range starts above 0`;
    else if (key === 'dropout' && (low < 0 || high >= 1)) errors[`space.${key}`] = 'Dropout: from 0 to below 1';
    else if (low < 0) errors[`space.${key}`] = `${label}: at least 0`;
    space[key] = { name: 'FloatDistribution', attributes: { low, high, log: row.log, step: null } };
  }
  return { space: sameRows(rows, DEFAULT_SPACE_ROWS) ? null : space, errors };
}
