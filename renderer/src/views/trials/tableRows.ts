/** The trials table's rows: sorted by a column, filtered by the text typed (pure, so the tests read it directly). */
import type { TrialResult } from '../../../../worker/src/contract/trialsProtocol.ts';
import { paramsLine } from '../../store/trials.ts';

export type SortKey = 'number' | 'state' | 'hidden' | 'lr' | 'weight_decay' | 'dropout' | 'value' | 'epochs' | 'ms' | 'peakBytes';
export interface Sort {
  key: SortKey;
  dir: 'asc' | 'desc';
}

export const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'number', label: 'Trial' },
  { key: 'state', label: 'State' },
  { key: 'hidden', label: 'Hidden' },
  { key: 'lr', label: 'Learning rate' },
  { key: 'weight_decay', label: 'Weight decay' },
  { key: 'dropout', label: 'Dropout' },
  { key: 'value', label: 'Value' },
  { key: 'epochs', label: 'Epochs' },
  { key: 'ms', label: 'Time' },
  { key: 'peakBytes', label: 'Peak memory' },
];

/** A column's value for sorting; null sorts last whatever the direction. */
function sortValue(r: TrialResult, key: SortKey): number | string | null {
  switch (key) {
    case 'hidden':
      return r.params.hidden;
    case 'lr':
    case 'weight_decay':
    case 'dropout':
      return r.params[key];
    default:
      return r[key];
  }
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
    if (x === null || y === null) return x === y ? a.number - b.number : x === null ? 1 : -1;
    const d = sort.key === 'hidden' ? compareShapes(String(x), String(y)) : typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return d !== 0 ? sign * d : a.number - b.number;
  });
}

/** The words a row is matched on: its number ("#12" and "12"), state, params and engine. */
export const rowText = (r: TrialResult): string => `#${r.number} ${r.number} ${r.state} ${paramsLine(r.params)} ${r.engine} ${r.message ?? ''}`.toLowerCase();

/** Rows holding every word typed (case-insensitive): "complete 128-64" keeps the complete trials of that shape. */
export function filterTrials(rows: readonly TrialResult[], text: string): TrialResult[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows.slice();
  return rows.filter((r) => {
    const hay = rowText(r);
    return words.every((w) => hay.includes(w));
  });
}

/** The next sort after a click on a column: the same column flips, another starts descending for the value, ascending otherwise. */
export const nextSort = (sort: Sort, key: SortKey): Sort => (sort.key === key ? { key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'value' ? 'desc' : 'asc' });
