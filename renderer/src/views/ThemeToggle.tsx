/**
 * The theme toggle. In auto mode (the system's scheme) it shows and names the theme in
 * use, not the setting "auto": one click switches to the other theme and keeps it; a
 * second control returns to following the system.
 */
import { ActionIcon, Group, Tooltip, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';

export function ThemeToggle() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const shown = useComputedColorScheme('light', { getInitialValueInEffect: false });
  const other = shown === 'dark' ? 'light' : 'dark';
  const auto = colorScheme === 'auto';
  const now = `${shown} theme${auto ? ', following the system' : ''}`;
  return (
    <Group gap={4}>
      <Tooltip label={`Now: ${now}`}>
        <ActionIcon variant="default" aria-label={`Switch to ${other} theme (now ${now})`} onClick={() => setColorScheme(other)}>
          {shown === 'dark' ? '☾' : '☀'}
        </ActionIcon>
      </Tooltip>
      {!auto && (
        <Tooltip label="Follow the system's theme">
          <ActionIcon variant="subtle" color="gray" aria-label="Follow the system's theme" onClick={() => setColorScheme('auto')}>
            A
          </ActionIcon>
        </Tooltip>
      )}
    </Group>
  );
}
