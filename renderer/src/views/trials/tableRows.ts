/**
 * The trials table's rows and columns: sorted by a column, filtered by family and by
 * the text typed (pure, so the tests read it directly). The params get a column each
 * while the rows shown are one family's (an NN's hidden, lr, ...; a tree family's
 * max_depth, learning_rate, ...), one "Params" column when they mix families.
 */
import { TrialsFamily, type TrialResult } from '../../../../worker/src/contract/trialsProtocol.ts';
import { byKey, paramsLine } from '../../store/trials.ts';

/** A column: a field of the result, all the params in one line, or one param (`param:max_depth`). */
export type SortKey = 'number' | 'family' | 'state' | 'params' | `param:${string}` | 'value' | 'epochs' | 'ms' | 'peakBytes';
export interface Sort {
  key: SortKey;
  dir: 'asc' | 'desc';
}
export interface Column {
  key: SortKey;
  label: string;
}

const PARAM_LABELS: Record<string, string> = { hidden: 'Hidden', lr: 'Learning rate', weight_decay: 'Weight decay', dropout: 'Dropout' };
/** NN params first in this order, then the others as the trials list them. */
const PARAM_ORDER = Object.keys(PARAM_LABELS);
export const paramLabel = (key: string): string => PARAM_LABELS[key] ?? key;

/** The params' names over the rows, NN's first in their usual order. */
export function paramKeys(rows: readonly TrialResult[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const key of Object.keys(r.params)) keys.add(key);
  const rank = (key: string): number => (PARAM_ORDER.includes(key) ? PARAM_ORDER.indexOf(key) : PARAM_ORDER.length);
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

/**
 * The columns for rows of `families` families: a Family column when the sweep has more
 * than one; a column per param when the rows are one family's, else one Params column.
 */
export function columnsFor(rows: readonly TrialResult[], sweepFamilies: number): Column[] {
  const mixed = new Set(rows.map((r) => r.family)).size > 1;
  const params: Column[] = mixed ? [{ key: 'params', label: 'Params' }] : paramKeys(rows).map((key) => ({ key: `param:${key}`, label: paramLabel(key) }));
  return [
    { key: 'number', label: 'Trial' },
    ...(sweepFamilies > 1 ? [{ key: 'family', label: 'Family' } as Column] : []),
    { key: 'state', label: 'State' },
    ...params,
    { key: 'value', label: 'Value' },
    { key: 'epochs', label: rows.every((r) => r.family === 'nn') ? 'Epochs' : 'Epochs / rounds' },
    { key: 'ms', label: 'Time' },
    { key: 'peakBytes', label: 'Peak memory' },
  ];
}

/** A column's value for sorting; null sorts last whatever the direction. */
function sortValue(r: TrialResult, key: SortKey): number | string | null {
  if (key.startsWith('param:')) {
    const v = r.params[key.slice('param:'.length)];
    return v === undefined ? null : typeof v === 'boolean' ? String(v) : v;
  }
  if (key === 'params') return paramsLine(r.params);
  if (key === 'family') return TrialsFamily.options.indexOf(r.family); // the order the families run in
  return r[key as 'number' | 'family' | 'state' | 'value' | 'epochs' | 'ms' | 'peakBytes'];
}

/** Hidden shapes compare by their widths, layer by layer ("64-32" < "128-64" < "128-64-32"). */
function compareShapes(a: string, b: string): number {
  const x = a.split('-').map(Number);
  const y = b.split('-').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0 && Number.isFinite(d)) return d;
  }
  return a.localeCompare(b);
}

export function sortTrials(rows: readonly TrialResult[], sort: Sort): TrialResult[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return rows.slice().sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    if (x === null || y === null) return x === y ? byKey(a, b) : x === null ? 1 : -1;
    const d = sort.key === 'param:hidden' ? compareShapes(String(x), String(y)) : typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return d !== 0 ? sign * d : byKey(a, b);
  });
}

/** The words a row is matched on: its number ("#12" and "12"), family, state, params and engine. */
export const rowText = (r: TrialResult): string => `#${r.number} ${r.number} ${r.family} ${r.state} ${paramsLine(r.params)} ${r.engine} ${r.message ?? ''}`.toLowerCase();

/** Rows of that family (null: every family) holding every word typed (case-insensitive): "complete 128-64" keeps the complete trials of that shape. */
export function filterTrials(rows: readonly TrialResult[], text: string, family: TrialsFamily | null = null): TrialResult[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const own = family === null ? rows.slice() : rows.filter((r) => r.family === family);
  if (words.length === 0) return own;
  return own.filter((r) => {
    const hay = rowText(r);
    return words.every((w) => hay.includes(w));
  });
}

/** The next sort after a click on a column: the same column flips, another starts descending for the value, ascending otherwise. */
export const nextSort = (sort: Sort, key: SortKey): Sort => (sort.key === key ? { key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'value' ? 'desc' : 'asc' });
