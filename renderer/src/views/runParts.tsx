/** The parts of a run page every kind shares: title and status, the lifecycle buttons, errors, the folder on disk. */
import { Alert, Badge, Button, Card, Group, Modal, Progress, Stack, Text, Title, Tooltip } from '@mantine/core';
import { useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { bytes, seconds } from '../format.ts';
import { useStore } from '../store/index.ts';
import { LIVE, RESUMABLE } from '../store/runs.ts';
import { nameOf, percentOf, phaseOf, progressLineOf, timingOf, unitsLine } from './facts.ts';
import { STATUS_COLOR } from './status.ts';
import { useNow } from './useNow.ts';

/** Runs a call and shows its error in the page's alert. */
export function useAct(): (promise: Promise<unknown> | undefined) => void {
  const setError = useStore((s) => s.setError);
  return (promise) => void promise?.catch((error: Error) => setError(error.message));
}

/** The run's name (or id) as the page's one h1, what it does, and its status badge (greyed while the server is away). */
export function RunHeader({ run, subtitle }: { run: RunInfo; subtitle: ReactNode }) {
  const connected = useStore((s) => s.connected);
  const name = nameOf(run);
  return (
    <Group justify="space-between" align="start" wrap="nowrap">
      <div style={{ minWidth: 0 }}>
        <Title order={1} size="h3" style={{ overflowWrap: 'anywhere' }}>
          {name ?? run.runId}
        </Title>
        <Text size="sm" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
          {name && `${run.runId} · `}
          {subtitle}
        </Text>
      </div>
      <Tooltip label="Connection lost: the last state this page heard of" disabled={connected}>
        <Badge size="lg" variant="light" color={connected ? STATUS_COLOR[run.status] : 'gray'} opacity={connected ? 1 : 0.6} style={{ flexShrink: 0 }}>
          <span role="status" aria-label="Run status">
            {run.status}
          </span>
        </Badge>
      </Tooltip>
    </Group>
  );
}

/**
 * The header's progress: the phase line, a bar with its percent, elapsed and the ETA
 * (hidden unless running); `rate` is the kind's own rate ("12.3 docs/s").
 */
export function RunProgress({ run, rate, children }: { run: RunInfo; rate?: string; children?: ReactNode }) {
  const now = useNow(run.status === 'running');
  const { elapsedS, etaS } = timingOf(run, now);
  const pct = percentOf(run);
  return (
    <Stack gap={4} mt="sm">
      <Text size="sm" fw={600} aria-label="Phase">
        {phaseOf(run)}
      </Text>
      <Group gap="sm" wrap="nowrap">
        <Progress value={pct} size="lg" style={{ flex: 1 }} aria-label="Progress" animated={run.status === 'running'} color={STATUS_COLOR[run.status]} />
        <Text size="sm" fw={600} w={48} ta="right">
          {Math.floor(pct)}%
        </Text>
      </Group>
      <Group gap="md">
        <Tooltip label={unitsLine(run)} openDelay={300}>
          <Text size="sm" tabIndex={0}>
            {progressLineOf(run)}
          </Text>
        </Tooltip>
        <Text size="sm">elapsed {seconds(elapsedS)}</Text>
        {rate && <Text size="sm">{rate}</Text>}
        {etaS !== null && <Text size="sm">about {seconds(etaS)} left</Text>}
        {children}
      </Group>
    </Stack>
  );
}

/**
 * Keeps focus on the controls when the focused button becomes disabled (Pause pressed:
 * focus goes to Resume), instead of dropping it on the page's body.
 */
function useFocusKept(status: string, connected: boolean): RefObject<HTMLDivElement | null> {
  const box = useRef<HTMLDivElement>(null);
  const hadFocus = useRef(false);
  useEffect(() => {
    const node = box.current;
    if (!node) return;
    const onIn = (): void => void (hadFocus.current = true);
    const onOut = (event: FocusEvent): void => void (hadFocus.current = node.contains(event.relatedTarget as Node | null));
    node.addEventListener('focusin', onIn);
    node.addEventListener('focusout', onOut);
    return () => {
      node.removeEventListener('focusin', onIn);
      node.removeEventListener('focusout', onOut);
    };
  }, []);
  useEffect(() => {
    const node = box.current;
    const active = document.activeElement;
    const lost = active === null || active === document.body || (active instanceof HTMLButtonElement && active.disabled && node?.contains(active));
    if (!node || !lost || !hadFocus.current) return;
    node.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
  }, [status, connected]);
  return box;
}

/** Pause, Resume, Stop and "Resume run" (calls every kind takes); `settings` are the kind's live settings. Greyed while the server is away. */
export function RunControls({ run, settings, children }: { run: RunInfo; settings?: ReactNode; children?: ReactNode }) {
  const api = useStore((s) => s.api);
  const connected = useStore((s) => s.connected);
  const act = useAct();
  const { runId } = run;
  const box = useFocusKept(run.status, connected);
  return (
    <Card withBorder padding="sm">
      <Group justify="space-between" align="end">
        <Group gap="xs" ref={box}>
          <Button size="sm" disabled={!connected || run.status !== 'running'} onClick={() => act(api?.pauseRun({ runId }))}>
            Pause
          </Button>
          <Button size="sm" variant="light" disabled={!connected || run.status !== 'paused'} onClick={() => act(api?.resumeRun({ runId }))}>
            Resume
          </Button>
          <Button size="sm" variant="light" color="red" disabled={!connected || !LIVE.has(run.status)} onClick={() => act(api?.stopRun({ runId }))}>
            Stop
          </Button>
          {RESUMABLE.has(run.status) && (
            <Button size="sm" disabled={!connected} onClick={() => act(api?.resumeRun({ runId }))}>
              Resume run
            </Button>
          )}
        </Group>
        {settings && <Group gap="xs">{settings}</Group>}
      </Group>
      {children}
      <RunErrors run={run} />
    </Card>
  );
}

export function RunErrors({ run }: { run: RunInfo }) {
  // A failed run's own error is said once, by its failure card in the form's words; only the others show here.
  const said = run.failure?.why.replace(/\.$/, '');
  return run.errors.filter((error) => !(said && error.startsWith(said))).map((error) => (
    <Alert key={error} color="red" mt="xs" title="Error">
      {error}
    </Alert>
  ));
}

/** The run folder's size and the button that deletes it (refused while the run is live). */
export function DiskCard({ run, holds, removes }: { run: RunInfo; holds: string; removes: string }) {
  const api = useStore((s) => s.api);
  const show = useStore((s) => s.show);
  const act = useAct();
  const [confirmDelete, setConfirmDelete] = useState(false);
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Cache on disk
      </Text>
      <Text size="sm">
        {bytes(run.diskBytes)} in the run folder ({holds})
      </Text>
      <Button mt="sm" size="xs" color="red" variant="light" disabled={LIVE.has(run.status)} onClick={() => setConfirmDelete(true)}>
        Delete run folder
      </Button>
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this run's folder?">
        <Text size="sm">
          This removes {bytes(run.diskBytes)}: {removes}. It cannot be undone.
        </Text>
        <Group justify="end" mt="md">
          <Button variant="default" onClick={() => setConfirmDelete(false)}>
            Keep it
          </Button>
          <Button
            color="red"
            onClick={() => {
              setConfirmDelete(false);
              act(api?.deleteCache({ runId: run.runId }).then(() => show('runs')));
            }}
          >
            Delete
          </Button>
        </Group>
      </Modal>
    </Card>
  );
}
