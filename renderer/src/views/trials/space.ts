/**
 * The New sweep form's search spaces, one per family: a row per parameter (the NN's
 * hidden layer shapes as a list of choices; every other parameter a range, of whole
 * numbers or not, on a log scale or not), turned into the contract's FamilySpaces
 * (Optuna's serialised distributions by family). The form shows each family's default
 * space; a family left as shown is not sent (the runtime's own default applies), and
 * while every family is left as shown the request says `space: null`.
 *
 * DEFAULT_SPACES is the runtime's: python-runtime/headroom_runtime/trials/space.py
 * (default_space, the NN's) and trials/trees/families.py (default_space(family));
 * renderer/test/views/trialsForm.test.ts asks the runtime for its spaces and compares.
 */
import type { FamilySpaces, SearchSpace, TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';

const float = (low: number, high: number, log = false) => ({ name: 'FloatDistribution', attributes: { low, high, log, step: null } });
const int = (low: number, high: number, log = false) => ({ name: 'IntDistribution', attributes: { low, high, log, step: 1 } });
const lr = () => float(0.01, 0.3, true);

export const HIDDEN_CHOICES = ['256-128-64', '128-64-32', '512-256-128', '256-128', '128-64', '256-256-128-64', '128-128-64-32'];

/** Each family's default space, as the runtime serialises it. */
export const DEFAULT_SPACES: Record<TrialsFamily, SearchSpace> = {
  nn: {
    hidden: { name: 'CategoricalDistribution', attributes: { choices: HIDDEN_CHOICES } },
    lr: float(1e-4, 1e-2, true),
    weight_decay: float(1e-6, 1e-2, true),
    dropout: float(0, 0.3),
  },
  xgboost: {
    max_depth: int(3, 10),
    learning_rate: lr(),
    n_estimators: int(100, 1000),
    reg_lambda: float(1e-3, 10, true),
    reg_alpha: float(1e-3, 10, true),
    subsample: float(0.5, 1),
    colsample_bytree: float(0.5, 1),
    min_child_weight: float(0.1, 20, true),
  },
  lightgbm: {
    num_leaves: int(15, 255, true),
    learning_rate: lr(),
    n_estimators: int(100, 1000),
    lambda_l2: float(1e-3, 10, true),
    bagging_fraction: float(0.5, 1),
    feature_fraction: float(0.5, 1),
    min_child_samples: int(5, 100, true),
  },
  catboost: {
    depth: int(4, 10),
    learning_rate: lr(),
    iterations: int(100, 1000),
    l2_leaf_reg: float(1, 10, true),
    subsample: float(0.5, 1),
  },
};

/** A range as typed: low and high as text (checked when the sweep starts), whole numbers or not. */
export interface RangeRow {
  kind: 'range';
  key: string;
  whole: boolean;
  low: string;
  high: string;
  log: boolean;
}
/** The NN's layer shapes as typed: "256-128-64, 128-64-32". */
export interface ShapesRow {
  kind: 'shapes';
  key: string;
  text: string;
}
export type ParamRow = RangeRow | ShapesRow;
export type SpacesRows = Record<TrialsFamily, ParamRow[]>;

/** NN parameters by name in words; a tree parameter is shown by its library's name (max_depth). */
export const RANGE_LABELS: Record<string, string> = { lr: 'Learning rate', weight_decay: 'Weight decay', dropout: 'Dropout' };
/** What a tree parameter is, in a few words (under its name). */
export const PARAM_HINTS: Record<string, string> = {
  max_depth: 'tree depth',
  depth: 'tree depth',
  num_leaves: 'leaves per tree',
  learning_rate: 'shrinkage per round',
  n_estimators: 'rounds at most (stops early on the validation part)',
  iterations: 'rounds at most (stops early on the validation part)',
  reg_lambda: 'L2 regularisation',
  reg_alpha: 'L1 regularisation',
  lambda_l2: 'L2 regularisation',
  l2_leaf_reg: 'L2 regularisation',
  subsample: 'rows sampled per tree',
  bagging_fraction: 'rows sampled per tree',
  colsample_bytree: 'features sampled per tree',
  feature_fraction: 'features sampled per tree',
  min_child_weight: 'least hessian in a leaf',
  min_child_samples: 'least rows in a leaf',
};

const text = (v: unknown): string => String(v);

/** A space as the form's rows (a categorical of strings is taken as layer shapes). */
export function rowsOf(space: SearchSpace): ParamRow[] {
  return Object.entries(space).map(([key, dist]): ParamRow => {
    const a = dist.attributes;
    if (dist.name === 'CategoricalDistribution') return { kind: 'shapes', key, text: (a.choices as unknown[]).map(text).join(', ') };
    return { kind: 'range', key, whole: dist.name === 'IntDistribution', low: text(a.low), high: text(a.high), log: a.log === true };
  });
}

export const DEFAULT_ROWS: SpacesRows = {
  nn: rowsOf(DEFAULT_SPACES.nn),
  xgboost: rowsOf(DEFAULT_SPACES.xgboost),
  lightgbm: rowsOf(DEFAULT_SPACES.lightgbm),
  catboost: rowsOf(DEFAULT_SPACES.catboost),
};

/** The shapes typed, each checked: widths of at least 1 joined by "-". */
export function parseShapes(typed: string): { shapes: string[]; error: string | null } {
  const shapes = typed
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

/** A parameter's name as the form says it ("Learning rate" for the NN's lr, "max_depth" for a tree's). */
export const paramName = (family: TrialsFamily, key: string): string => (family === 'nn' ? (RANGE_LABELS[key] ?? key) : key);

/** One range checked: its error in words, or null. */
function rangeError(family: TrialsFamily, row: RangeRow, low: number, high: number): string | null {
  const label = paramName(family, row.key);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return `${label}: low and high are numbers`;
  if (row.whole && (!Number.isInteger(low) || !Number.isInteger(high))) return `${label}: whole numbers`;
  if (low > high) return `${label}: low is above high`;
  if (row.log && low <= 0) return `${label}: a log range starts above 0`;
  if (family === 'nn' && row.key === 'dropout' && (low < 0 || high >= 1)) return 'Dropout: from 0 to below 1';
  if (low < 0) return `${label}: at least 0`;
  return null;
}

const num = (typed: string): number => (typed.trim() === '' ? Number.NaN : Number(typed));

/**
 * A family's space as its rows say it, an error per wrong row (keys: space.<family>.<param>),
 * and whether it differs from the family's default as shown.
 */
export function familySpaceOf(family: TrialsFamily, rows: readonly ParamRow[]): { space: SearchSpace; changed: boolean; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const space: SearchSpace = {};
  for (const row of rows) {
    const where = `space.${family}.${row.key}`;
    if (row.kind === 'shapes') {
      const { shapes, error } = parseShapes(row.text);
      if (error) errors[where] = error;
      space[row.key] = { name: 'CategoricalDistribution', attributes: { choices: shapes } };
      continue;
    }
    const low = num(row.low);
    const high = num(row.high);
    const error = rangeError(family, row, low, high);
    if (error) errors[where] = error;
    space[row.key] = row.whole ? int(low, high, row.log) : float(low, high, row.log);
  }
  return { space, changed: JSON.stringify(rows) !== JSON.stringify(DEFAULT_ROWS[family]), errors };
}

/** The spaces of the families chosen: only the ones changed from their default; null when none is. */
export function spacesOf(families: readonly TrialsFamily[], rows: SpacesRows): { space: FamilySpaces | null; errors: Record<string, string> } {
  const space: FamilySpaces = {};
  let errors: Record<string, string> = {};
  for (const family of families) {
    const own = familySpaceOf(family, rows[family]);
    errors = { ...errors, ...own.errors };
    if (own.changed) space[family] = own.space;
  }
  return { space: Object.keys(space).length ? space : null, errors };
}
