/** New run: the form of the kind chosen (the chooser shows only when this panel has forms for more than one kind). */
import { SegmentedControl, Stack } from '@mantine/core';
import { create } from 'zustand';
import { KIND_VIEWS } from './kinds.tsx';

const KINDS = Object.keys(KIND_VIEWS);

/** The kind chosen, kept when the user switches views and comes back (each kind's form keeps its own fields). */
const useChosenKind = create<{ kind: string | undefined; choose(kind: string): void }>()((set) => ({ kind: KINDS[0], choose: (kind) => set({ kind }) }));

export function NewRunView() {
  const { kind, choose } = useChosenKind();
  const view = kind === undefined ? undefined : KIND_VIEWS[kind];
  return (
    <Stack>
      {KINDS.length > 1 && <SegmentedControl aria-label="Kind of job" data={KINDS.map((value) => ({ value, label: KIND_VIEWS[value]!.label }))} value={kind} onChange={choose} />}
      {view && <view.NewRun />}
    </Stack>
  );
}
