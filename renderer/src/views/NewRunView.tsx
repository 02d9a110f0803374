/** New run: the form of the kind chosen (the chooser shows only when this panel has forms for more than one kind). */
import { SegmentedControl, Stack } from '@mantine/core';
import { useState } from 'react';
import { KIND_VIEWS } from './kinds.tsx';

const KINDS = Object.keys(KIND_VIEWS);

export function NewRunView() {
  const [kind, setKind] = useState(KINDS[0]);
  const view = kind === undefined ? undefined : KIND_VIEWS[kind];
  return (
    <Stack>
      {KINDS.length > 1 && <SegmentedControl aria-label="Kind of job" data={KINDS.map((value) => ({ value, label: KIND_VIEWS[value]!.label }))} value={kind} onChange={setKind} />}
      {view && <view.NewRun />}
    </Stack>
  );
}
