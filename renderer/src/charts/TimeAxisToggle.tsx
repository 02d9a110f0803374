/** Reads every chart of the panel as clock time or as time since the run began (one setting: the charts share their axis). */
import { SegmentedControl } from '@mantine/core';
import { useStore } from '../store/index.ts';

export function TimeAxisToggle() {
  const axis = useStore((s) => s.timeAxis);
  const setAxis = useStore((s) => s.setTimeAxis);
  return (
    <SegmentedControl
      size="xs"
      aria-label="Time axis"
      value={axis}
      onChange={(value) => setAxis(value === 'elapsed' ? 'elapsed' : 'clock')}
      data={[
        { value: 'clock', label: 'Clock time' },
        { value: 'elapsed', label: 'Elapsed' },
      ]}
    />
  );
}
