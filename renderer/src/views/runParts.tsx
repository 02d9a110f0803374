/** The parts of a run page every kind shares: title and status, the lifecycle buttons, errors, the folder on disk. */
import { Alert, Badge, Button, Card, Group, Modal, Text, Title } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import type { RunInfo } from '../../../worker/src/contract/api.ts';
import { bytes } from '../format.ts';
import { useStore } from '../store/index.ts';
import { LIVE, RESUMABLE } from '../store/runs.ts';
import { STATUS_COLOR } from './status.ts';

/** Runs a call and shows its error in the page's alert. */
export function useAct(): (promise: Promise<unknown> | undefined) => void {
  const setError = useStore((s) => s.setError);
  return (promise) => void promise?.catch((error: Error) => setError(error.message));
}

export function RunHeader({ run, subtitle }: { run: RunInfo; subtitle: ReactNode }) {
  return (
    <Group justify="space-between" align="start">
      <div>
        <Title order={3}>{run.runId}</Title>
        <Text size="sm" c="dimmed">
          {subtitle}
        </Text>
      </div>
      <Group gap="xs">
        <Badge size="lg" variant="light" color={STATUS_COLOR[run.status]}>
          <span role="status" aria-label="Run status">
            {run.status}
          </span>
        </Badge>
      </Group>
    </Group>
  );
}

/** Pause, Resume, Stop and "Resume run" (calls every kind takes); `settings` are the kind's live settings. */
export function RunControls({ run, settings, children }: { run: RunInfo; settings?: ReactNode; children?: ReactNode }) {
  const api = useStore((s) => s.api);
  const act = useAct();
  const { runId } = run;
  return (
    <Card withBorder padding="sm">
      <Group justify="space-between">
        <Group gap="xs">
          <Button size="sm" disabled={run.status !== 'running'} onClick={() => act(api?.pauseRun({ runId }))}>
            Pause
          </Button>
          <Button size="sm" variant="light" disabled={run.status !== 'paused'} onClick={() => act(api?.resumeRun({ runId }))}>
            Resume
          </Button>
          <Button size="sm" variant="light" color="red" disabled={!LIVE.has(run.status)} onClick={() => act(api?.stopRun({ runId }))}>
            Stop
          </Button>
          {RESUMABLE.has(run.status) && (
            <Button size="sm" onClick={() => act(api?.resumeRun({ runId }))}>
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
  return run.errors.map((error) => (
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
