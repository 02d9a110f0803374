/**
 * Copies a text (a path) to the clipboard: navigator.clipboard where the page may use it,
 * else the older execCommand('copy'); if both are refused, says to press Ctrl+C on the
 * text, which it selects.
 */
import { Button, Tooltip } from '@mantine/core';
import { useState } from 'react';

type Outcome = 'idle' | 'copied' | 'select';

function copyByCommand(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** Selects the text of the element with this id, so Ctrl+C copies it. */
function selectText(id: string): void {
  const node = document.getElementById(id);
  const selection = window.getSelection();
  if (!node || !selection) return;
  const range = document.createRange();
  range.selectNodeContents(node);
  selection.removeAllRanges();
  selection.addRange(range);
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (no permission, not focused): try the older way
  }
  return copyByCommand(text);
}

/** `label` names what is copied ("Copy the path of embeddings.npy"); `textId` is the element showing the text. */
export function CopyButton({ text, label, textId }: { text: string; label: string; textId: string }) {
  const [outcome, setOutcome] = useState<Outcome>('idle');
  const copy = (): void => {
    void copyText(text).then((ok) => {
      if (!ok) selectText(textId);
      setOutcome(ok ? 'copied' : 'select');
      setTimeout(() => setOutcome('idle'), 2000);
    });
  };
  return (
    <Tooltip label={outcome === 'select' ? 'The browser refused: the path is selected, press Ctrl+C' : 'Copied'} opened={outcome !== 'idle'} withArrow>
      <Button size="compact-xs" variant="default" aria-label={label} onClick={copy} style={{ flexShrink: 0 }}>
        {outcome === 'copied' ? 'Copied' : 'Copy path'}
      </Button>
    </Tooltip>
  );
}
