/** An ensemble's models, every one listed: one a line, or the first few and "+N more" whose tooltip lists them all. */
import { Stack, Text, Tooltip } from '@mantine/core';

const SHOWN = 3;

export function ModelList({ models, mode }: { models: readonly string[]; mode?: string }) {
  const shown = models.length > SHOWN + 1 ? models.slice(0, SHOWN) : models;
  const rest = models.length - shown.length;
  return (
    <Stack gap={0}>
      {shown.map((model, i) => (
        <Text key={`${model}-${i}`} size="sm">
          {model}
        </Text>
      ))}
      {rest > 0 && (
        <Tooltip label={models.join('\n')} style={{ whiteSpace: 'pre-line' }} withArrow>
          <Text size="xs" c="dimmed" tabIndex={0} aria-label={`all ${models.length} models: ${models.join(', ')}`} style={{ textDecoration: 'underline dotted' }}>
            +{rest} more
          </Text>
        </Tooltip>
      )}
      {mode && models.length > 1 && (
        <Text size="xs" c="dimmed">
          ensemble, {mode}
        </Text>
      )}
    </Stack>
  );
}
