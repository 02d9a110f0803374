/** A family's name with its colour as a dot beside it (the name in the text colour: readable on light and dark). */
import { Text } from '@mantine/core';
import type { TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';
import { FAMILY_LABEL, familyColor } from './families.ts';

export function FamilyTag({ family }: { family: TrialsFamily }) {
  return (
    <Text span size="sm" fw={500} style={{ whiteSpace: 'nowrap' }}>
      <span style={{ color: familyColor(family) }} aria-hidden="true">
        ●{' '}
      </span>
      {FAMILY_LABEL[family]}
    </Text>
  );
}
