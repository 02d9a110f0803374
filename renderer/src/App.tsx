import { Alert, AppShell, Group, NavLink, Text } from '@mantine/core';
import { useEffect } from 'react';
import type { HeadroomApi } from '../../worker/src/contract/api.ts';
import { ConnectionBadge, LiveConnectionBanner } from './ConnectionBanner.tsx';
import { useStore, type View } from './store/index.ts';
import { DoctorView } from './views/DoctorView.tsx';
import { GpusView } from './views/GpusView.tsx';
import { NewRunView } from './views/NewRunView.tsx';
import { RunsView } from './views/RunsView.tsx';
import { RunPage } from './views/RunPage.tsx';
import { ThemeToggle } from './views/ThemeToggle.tsx';
import { useRunTitle } from './views/useRunTitle.ts';

const NAV: { view: View; label: string }[] = [
  { view: 'runs', label: 'Runs' },
  { view: 'new', label: 'New run' },
  { view: 'run', label: 'Run view' },
  { view: 'gpus', label: 'GPUs' },
  { view: 'doctor', label: 'Doctor' },
];

/** Subscribes the store to the API's events and loads the runs list. */
function useApi(api: HeadroomApi): void {
  useEffect(() => {
    const store = useStore.getState();
    store.setApi(api);
    void api.listRuns({}).then(store.setRuns, (error: Error) => store.setError(error.message));
    void api.listGpus({}).then(store.onGpu);
    void api.gpuHistory({}).then(store.loadGpuHistory, () => undefined); // a panel without it still draws live samples
    const offs = [api.on('runStatus', store.upsertRun), api.on('runEvent', store.onRunEvent), api.on('gpuSample', store.onGpu)];
    return () => offs.forEach((off) => off());
  }, [api]);
}

export function App({ api }: { api: HeadroomApi }) {
  useApi(api);
  useRunTitle();
  const view = useStore((s) => s.view);
  const show = useStore((s) => s.show);
  const connected = useStore((s) => s.connected);
  const error = useStore((s) => s.error);
  const setError = useStore((s) => s.setError);
  return (
    <AppShell header={{ height: 48 }} navbar={{ width: 180, breakpoint: 0 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Text fw={700}>Headroom</Text>
          <Group gap="xs">
            <ConnectionBadge connected={connected} />
            <ThemeToggle />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Views">
        {NAV.map((item) => (
          <NavLink key={item.view} label={item.label} active={view === item.view} onClick={() => show(item.view)} component="button" />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <LiveConnectionBanner />
        {error && (
          <Alert color="red" withCloseButton onClose={() => setError(null)} mb="md" title="Headroom says">
            {error}
          </Alert>
        )}
        {view === 'runs' && <RunsView />}
        {view === 'new' && <NewRunView />}
        {view === 'run' && <RunPage />}
        {view === 'gpus' && <GpusView />}
        {view === 'doctor' && <DoctorView />}
      </AppShell.Main>
    </AppShell>
  );
}
