/** Every finished trial of a sweep: sortable by a click on a column's header, filtered by family and by the words typed. */
import { Badge, Group, ScrollArea, Select, Table, Text, TextInput, UnstyledButton } from '@mantine/core';
import { useDeferredValue, useMemo, useState } from 'react';
import type { TrialKey, TrialResult, TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';
import { bytes, seconds } from '../../format.ts';
import { paramsLine, sameTrial, trialKey } from '../../store/trials.ts';
import { FAMILY_LABEL } from './families.ts';
import { FamilyTag } from './FamilyTag.tsx';
import { columnsFor, filterTrials, nextSort, sortTrials, type Sort, type SortKey } from './tableRows.ts';

const STATE_COLOR: Record<TrialResult['state'], string> = { complete: 'green', pruned: 'yellow', failed: 'red' };
/** A badge keeps its words whole when a wide Params column squeezes the others. */
const NO_SHRINK = { minWidth: 'max-content' } as const;
/** Cells that may wrap at a narrow width (the rest stay on one line). */
const WRAPS = new Set<SortKey>(['params', 'epochs', 'peakBytes']);

const num = (v: number): string => (v === 0 ? '0' : Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(3)).toString());

function cell(r: TrialResult, key: SortKey): string {
  if (key.startsWith('param:')) {
    const v = r.params[key.slice('param:'.length)];
    return v === undefined ? '—' : typeof v === 'number' ? num(v) : String(v);
  }
  switch (key) {
    case 'number':
      return String(r.number);
    case 'family':
      return FAMILY_LABEL[r.family];
    case 'state':
      return r.state;
    case 'params':
      return paramsLine(r.params);
    case 'value':
      return r.value === null ? '—' : r.value.toFixed(4);
    case 'epochs':
      return `${r.epochs} (best ${r.bestEpoch})`;
    case 'ms':
      return seconds(r.ms / 1000);
    case 'peakBytes':
      return `${bytes(r.peakBytes)}${r.peakBytes !== null && r.peakSource === 'estimate' ? ' (est.)' : ''}`;
    default:
      return '';
  }
}

export interface TrialsTableProps {
  trials: readonly TrialResult[];
  best: TrialKey | null;
  /** The sweep's families, in their order (a Family column and filter when more than one; the rows then by family first). */
  families?: readonly TrialsFamily[];
  initialSort?: Sort;
  initialFilter?: string;
  initialFamily?: TrialsFamily | null;
}

export function TrialsTable({ trials, best, families = ['nn'], initialSort = { key: 'family', dir: 'asc' }, initialFilter = '', initialFamily = null }: TrialsTableProps) {
  const [sort, setSort] = useState<Sort>(initialSort);
  const [filter, setFilter] = useState(initialFilter);
  const [family, setFamily] = useState<TrialsFamily | null>(initialFamily);
  const typed = useDeferredValue(filter);
  const ofFamily = useMemo(() => (family === null ? trials : trials.filter((r) => r.family === family)), [trials, family]);
  const known = useMemo(() => [...new Set([...families, ...trials.map((r) => r.family)])], [families, trials]);
  // The columns follow the family chosen, not the words typed (they stay put while one types).
  const columns = useMemo(() => columnsFor(ofFamily, known.length), [ofFamily, known.length]);
  // A param column gone with the family chosen: back to the trial's number.
  const sortNow = useMemo<Sort>(() => (columns.some((c) => c.key === sort.key) ? sort : { key: 'number', dir: 'asc' }), [columns, sort]);
  const rows = useMemo(() => sortTrials(filterTrials(ofFamily, typed), sortNow), [ofFamily, typed, sortNow]);
  return (
    <>
      <Group justify="space-between" mb="xs" align="end">
        <Group align="end" gap="sm">
          <TextInput size="xs" w={300} label="Filter trials" description='words a row must hold, e.g. "complete 128-64"' value={filter} onChange={(e) => setFilter(e.currentTarget.value)} />
          {known.length > 1 && (
            <Select
              size="xs"
              w={160}
              label="Family"
              data={[{ value: 'all', label: 'all families' }, ...known.map((f) => ({ value: f, label: FAMILY_LABEL[f] }))]}
              value={family ?? 'all'}
              onChange={(v) => setFamily(v === null || v === 'all' ? null : (v as TrialsFamily))}
              allowDeselect={false}
            />
          )}
        </Group>
        <Text size="sm" c="dimmed" aria-live="polite" data-testid="trials-shown">
          {rows.length === trials.length ? `${trials.length.toLocaleString()} trials` : `${rows.length.toLocaleString()} of ${trials.length.toLocaleString()} trials`}
        </Text>
      </Group>
      <ScrollArea.Autosize mah={520} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Trials, scrollable' }}>
        <Table aria-label="Trials" striped highlightOnHover fz="sm" verticalSpacing={4} stickyHeader>
          <Table.Thead>
            <Table.Tr>
              {columns.map((column) => {
                const sorted = sortNow.key === column.key;
                return (
                  <Table.Th key={column.key} aria-sort={sorted ? (sortNow.dir === 'asc' ? 'ascending' : 'descending') : 'none'} style={{ whiteSpace: WRAPS.has(column.key) ? 'normal' : 'nowrap' }}>
                    <UnstyledButton onClick={() => setSort(nextSort(sortNow, column.key))} fw={600} fz="sm" aria-label={`Sort by ${column.label}`}>
                      {column.label}
                      <span aria-hidden="true">{sorted ? (sortNow.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                    </UnstyledButton>
                  </Table.Th>
                );
              })}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={trialKey(r)} data-trial={r.number} data-family={r.family} title={r.message ?? undefined}>
                {columns.map((column) => (
                  <Table.Td key={column.key} style={{ whiteSpace: WRAPS.has(column.key) ? 'normal' : 'nowrap', minWidth: column.key === 'params' ? 160 : undefined }} fz={column.key === 'params' ? 'xs' : undefined}>
                    {column.key === 'state' ? (
                      <Badge size="sm" variant="light" color={STATE_COLOR[r.state]} style={NO_SHRINK}>
                        {r.state}
                      </Badge>
                    ) : column.key === 'family' ? (
                      <FamilyTag family={r.family} />
                    ) : (
                      cell(r, column.key)
                    )}
                    {column.key === 'number' && best !== null && sameTrial(r, best) && (
                      <Badge ml={6} size="xs" variant="filled" color="teal.9" style={NO_SHRINK}>
                        best
                      </Badge>
                    )}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
      {trials.length === 0 && (
        <Text size="sm" c="dimmed">
          No trial has finished yet.
        </Text>
      )}
    </>
  );
}
