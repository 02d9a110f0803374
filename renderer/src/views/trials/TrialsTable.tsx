/** Every finished trial of a sweep: sortable by a click on a column's header, filtered by the words typed. */
import { Badge, Group, ScrollArea, Table, Text, TextInput, UnstyledButton } from '@mantine/core';
import { useDeferredValue, useMemo, useState } from 'react';
import type { TrialResult } from '../../../../worker/src/contract/trialsProtocol.ts';
import { bytes, seconds } from '../../format.ts';
import { COLUMNS, filterTrials, nextSort, sortTrials, type Sort, type SortKey } from './tableRows.ts';

const STATE_COLOR: Record<TrialResult['state'], string> = { complete: 'green', pruned: 'yellow', failed: 'red' };

const num = (v: number): string => (v === 0 ? '0' : Math.abs(v) < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(3)).toString());

function cell(r: TrialResult, key: SortKey): string {
  switch (key) {
    case 'number':
      return String(r.number);
    case 'state':
      return r.state;
    case 'hidden':
      return r.params.hidden;
    case 'lr':
    case 'weight_decay':
    case 'dropout':
      return num(r.params[key]);
    case 'value':
      return r.value === null ? '—' : r.value.toFixed(4);
    case 'epochs':
      return `${r.epochs} (best ${r.bestEpoch})`;
    case 'ms':
      return seconds(r.ms / 1000);
    case 'peakBytes':
      return `${bytes(r.peakBytes)}${r.peakBytes !== null && r.peakSource === 'estimate' ? ' (est.)' : ''}`;
  }
}

export function TrialsTable({ trials, bestNumber, initialSort = { key: 'number', dir: 'asc' }, initialFilter = '' }: { trials: readonly TrialResult[]; bestNumber: number | null; initialSort?: Sort; initialFilter?: string }) {
  const [sort, setSort] = useState<Sort>(initialSort);
  const [filter, setFilter] = useState(initialFilter);
  const typed = useDeferredValue(filter);
  const rows = useMemo(() => sortTrials(filterTrials(trials, typed), sort), [trials, typed, sort]);
  return (
    <>
      <Group justify="space-between" mb="xs">
        <TextInput size="xs" w={320} label="Filter trials" description='words a row must hold, e.g. "complete 128-64"' value={filter} onChange={(e) => setFilter(e.currentTarget.value)} />
        <Text size="sm" c="dimmed" aria-live="polite" data-testid="trials-shown">
          {rows.length === trials.length ? `${trials.length.toLocaleString()} trials` : `${rows.length.toLocaleString()} of ${trials.length.toLocaleString()} trials`}
        </Text>
      </Group>
      <ScrollArea.Autosize mah={520} type="auto">
        <Table aria-label="Trials" striped highlightOnHover fz="sm" verticalSpacing={4} stickyHeader>
          <Table.Thead>
            <Table.Tr>
              {COLUMNS.map((column) => {
                const sorted = sort.key === column.key;
                return (
                  <Table.Th key={column.key} aria-sort={sorted ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'} style={{ whiteSpace: 'nowrap' }}>
                    <UnstyledButton onClick={() => setSort(nextSort(sort, column.key))} fw={600} fz="sm" aria-label={`Sort by ${column.label}`}>
                      {column.label}
                      <span aria-hidden="true">{sorted ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                    </UnstyledButton>
                  </Table.Th>
                );
              })}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.number} data-trial={r.number} title={r.message ?? undefined}>
                {COLUMNS.map((column) => (
                  <Table.Td key={column.key} style={{ whiteSpace: 'nowrap' }}>
                    {column.key === 'state' ? (
                      <Badge size="sm" variant="light" color={STATE_COLOR[r.state]}>
                        {r.state}
                      </Badge>
                    ) : (
                      cell(r, column.key)
                    )}
                    {column.key === 'number' && r.number === bestNumber && (
                      <Badge ml={6} size="xs" variant="filled" color="teal.9">
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
