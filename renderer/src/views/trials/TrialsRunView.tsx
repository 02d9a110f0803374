/**
 * A sweep's page: the shared header and controls (pause, resume, stop, "Resume run"),
 * the best trial so far and the engine in force, the families side by side (a sweep of
 * several), "Trial progress" (a series per family), the NN trials' live loss curves,
 * memory and concurrency on the run's time axis, the tree workers, the trials table,
 * and a summary card once done.
 */
import { Badge, Card, Code, Group, ScrollArea, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { Fragment, useMemo } from 'react';
import type { TrialsRunInfo } from '../../../../worker/src/contract/jobs/trials.ts';
import type { TrialParams, TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';
import { TimeAxisToggle } from '../../charts/TimeAxisToggle.tsx';
import { TimeChart } from '../../charts/TimeChart.tsx';
import { bytes, clock, count, seconds } from '../../format.ts';
import { useStore } from '../../store/index.ts';
import { bestOf, liveComparison, paramsLine, sweepOf, trialKey } from '../../store/trials.ts';
import { CopyButton } from '../CopyButton.tsx';
import { FailureCard } from '../embed/RunSummary.tsx';
import { DiskCard, RunControls, RunHeader, RunProgress } from '../runParts.tsx';
import { useNow } from '../useNow.ts';
import { LossCurvesChart, TrialProgressChart } from './charts.tsx';
import { FAMILY_LABEL } from './families.ts';
import { FamilyTag } from './FamilyTag.tsx';
import { TrialsTable } from './TrialsTable.tsx';

const MIB = 1024 ** 2;

const metricName = (metric: string | null): string => (metric === 'r2' ? 'R²' : metric === 'auc' ? 'AUC' : (metric ?? 'value'));

/** The sweep's families in their order (the settings'; the started event's for a run listed before it had them). */
function useFamilies(run: TrialsRunInfo): TrialsFamily[] {
  const seen = useStore((s) => sweepOf(s, run.runId).families);
  return run.settings.families.length ? run.settings.families : (seen ?? ['nn']);
}

/** Trials per family (the request's trials): a family's summary says it; else the run's total over its families. */
const perFamily = (run: TrialsRunInfo, families: readonly TrialsFamily[]): number => run.families[0]?.trialsTotal ?? Math.round(run.trialsTotal / Math.max(1, families.length));

/** "XGBoost trial 3", or "trial 3" in a sweep of the NN family alone. */
const trialName = (family: TrialsFamily, number: number, several: boolean): string => (several ? `${FAMILY_LABEL[family]} trial ${number}` : `trial ${number}`);

/** The best trial: the run's own record, or the best of the trials seen here (whichever is newer). */
function useBest(run: TrialsRunInfo): { family: TrialsFamily; number: number; value: number; params: TrialParams } | null {
  const results = useStore((s) => sweepOf(s, run.runId).results);
  return useMemo(() => {
    const seen = bestOf(results);
    if (seen && (!run.best || seen.value! >= run.best.value)) return { family: seen.family, number: seen.number, value: seen.value!, params: seen.params };
    return run.best;
  }, [results, run.best]);
}

function SweepProgress({ run }: { run: TrialsRunInfo }) {
  const engine = useStore((s) => sweepOf(s, run.runId).engine);
  const best = useBest(run);
  const several = useFamilies(run).length > 1;
  const metric = metricName(run.metric);
  return (
    <RunProgress run={run}>
      <Text size="sm" aria-label="Best so far">
        {best ? (
          <>
            best {metric} <b>{best.value.toFixed(4)}</b>, {trialName(best.family, best.number, several)}: {paramsLine(best.params)}
          </>
        ) : (
          'no trial finished yet'
        )}
      </Text>
      <Text size="sm" c="dimmed" aria-label="Engine">
        {engine
          ? engine.engine === 'worker'
            ? `${FAMILY_LABEL[engine.family]}: ${count(engine.concurrency, 'worker process', 'worker processes')} on ${engine.device}: ${engine.why}`
            : `${several ? `${FAMILY_LABEL[engine.family]}: ` : ''}${engine.engine} engine, ${count(engine.concurrency, 'member')} at once on ${engine.device}: ${engine.why}`
          : run.engine
            ? `${run.engine} engine${run.concurrency ? `, ${count(run.concurrency, 'member')} at once` : ''}`
            : `engine ${run.settings.engine}, concurrency ${run.settings.concurrency}`}
      </Text>
    </RunProgress>
  );
}

function Running({ runId, several }: { runId: string; several: boolean }) {
  const running = useStore((s) => sweepOf(s, runId).running);
  const live = useStore((s) => s.runs.some((r) => r.runId === runId && r.status === 'running'));
  const now = useNow(live);
  if (running.length === 0) return null;
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Running now
      </Text>
      <Table aria-label="Running trials" fz="sm" verticalSpacing={2}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Trial</Table.Th>
            {several && <Table.Th>Family</Table.Th>}
            <Table.Th>Params</Table.Th>
            <Table.Th>Members</Table.Th>
            <Table.Th>For</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {running.map((r) => (
            <Table.Tr key={trialKey(r)}>
              <Table.Td>{r.number}</Table.Td>
              {several && <Table.Td>{FAMILY_LABEL[r.family]}</Table.Td>}
              <Table.Td>{paramsLine(r.params)}</Table.Td>
              <Table.Td>{r.members}</Table.Td>
              <Table.Td>{seconds(Math.max(0, now - r.startedAt) / 1000)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function Charts({ run }: { run: TrialsRunInfo }) {
  const { runId } = run;
  const results = useStore((s) => sweepOf(s, runId).results);
  const curves = useStore((s) => sweepOf(s, runId).curves);
  const vram = useStore((s) => sweepOf(s, runId).vram);
  const ooms = useStore((s) => sweepOf(s, runId).ooms);
  const concurrency = useStore((s) => sweepOf(s, runId).concurrency);
  const families = useFamilies(run);
  const trialsTotal = perFamily(run, families);
  const nn = families.includes('nn');
  const caption = run.device === 'cpu' ? 'process memory (CPU run)' : run.device ? `${run.device} allocated` : undefined;
  return (
    <>
      <SimpleGrid cols={{ base: 1, md: nn ? 2 : 1 }}>
        <TrialProgressChart results={results} metric={metricName(run.metric)} trialsTotal={trialsTotal} families={families} />
        {nn && <LossCurvesChart curves={curves} nnOnly={families.length > 1} />}
      </SimpleGrid>
      <Group justify="flex-end">
        <TimeAxisToggle />
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <TimeChart label="VRAM" unit="MiB" runId={runId} points={vram} scale={MIB} marks={ooms} caption={caption} />
        <TimeChart label="Concurrency" unit={nn ? 'members' : 'workers'} runId={runId} points={concurrency} step integer color="var(--mantine-color-grape-6)" caption={families.some((f) => f !== 'nn') ? (nn ? 'NN members, or tree workers, at once' : 'tree workers at once') : 'members trained at once'} />
      </SimpleGrid>
    </>
  );
}

/** The families side by side, ranked by their best value, kept live as trials finish. */
function Comparison({ run }: { run: TrialsRunInfo }) {
  const sweep = useStore((s) => sweepOf(s, run.runId));
  const families = useFamilies(run);
  const live = run.status === 'running';
  const now = useNow(live);
  const rows = useMemo(
    () =>
      liveComparison({ summaries: run.families, families, trialsPerFamily: perFamily(run, families), results: sweep.results, engines: sweep.engines, familiesDone: sweep.familiesDone, familyNow: live ? sweep.familyNow : null, now }).sort(
        (a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity),
      ),
    [run, families, sweep.results, sweep.engines, sweep.familiesDone, sweep.familyNow, live, now],
  );
  const metric = metricName(run.metric);
  return (
    <Card withBorder padding="sm" aria-label="Comparison">
      <Text fw={600} size="sm" mb="xs">
        Comparison <Text span size="xs" c="dimmed">(each family&apos;s best {metric}, higher is better; families run one after another; peak memory: one trial&apos;s own; a family&apos;s time includes starting its workers)</Text>
      </Text>
      <ScrollArea type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Families compared, scrollable' }}>
        <Table aria-label="Families compared" fz="sm" verticalSpacing={4}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Rank, family</Table.Th>
              <Table.Th>Best {metric}</Table.Th>
              <Table.Th style={{ whiteSpace: 'nowrap' }}>Per trial</Table.Th>
              <Table.Th style={{ whiteSpace: 'nowrap' }}>Peak memory</Table.Th>
              <Table.Th style={{ whiteSpace: 'nowrap' }}>Family&apos;s time</Table.Th>
              <Table.Th>Trials, ran on</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((f) => (
              <Fragment key={f.family}>
              <Table.Tr data-family={f.family} data-rank={f.rank ?? ''} style={{ borderBottom: 'none' }}>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  <Text span size="sm" fw={600} mr={6} aria-label={f.rank === null ? 'no rank yet' : `rank ${f.rank}`}>
                    {f.rank === null ? '—' : `${f.rank}.`}
                  </Text>
                  <FamilyTag family={f.family} />
                  {f.rank === 1 && (
                    <Badge ml={6} size="xs" variant="filled" color="teal.9" style={{ minWidth: 'max-content' }}>
                      best
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>{f.best ? <b>{f.best.value.toFixed(4)}</b> : '—'}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{f.msPerTrial === null ? '—' : seconds(f.msPerTrial / 1000)}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{f.peakBytes === null ? '—' : `${bytes(f.peakBytes)}${f.peakSource === 'estimate' ? ' (est.)' : ''}`}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{f.elapsedMs > 0 ? seconds(f.elapsedMs / 1000) : '—'}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  {f.trialsDone} of {f.trialsTotal}
                  {f.failed ? `, ${f.failed} failed` : ''}
                  <Text size="xs" c="dimmed">
                    {f.engine === null ? 'not started' : f.engine === 'worker' ? count(f.concurrency ?? 1, 'worker') : `${f.engine}${f.concurrency ? ` × ${f.concurrency}` : ''}`}
                  </Text>
                </Table.Td>
              </Table.Tr>
              <Table.Tr data-params-of={f.family}>
                <Table.Td colSpan={6} pt={0} fz="xs" c="dimmed">
                  {f.best ? `its best, trial ${f.best.number}: ${paramsLine(f.best.params)}` : 'no complete trial yet'}
                </Table.Td>
              </Table.Tr>
              </Fragment>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Card>
  );
}

/** The tree worker processes: per family how many, where, what each sees; the ones replaced or recycled, and why. */
function TreeWorkers({ runId }: { runId: string }) {
  const workers = useStore((s) => sweepOf(s, runId).treeWorkers);
  const changes = useStore((s) => sweepOf(s, runId).treeWorkerChanges);
  if (workers.length === 0) return null;
  const byFamily = new Map<TrialsFamily, typeof workers>();
  for (const w of workers) byFamily.set(w.family, [...(byFamily.get(w.family) ?? []), w]);
  const reason = { replaced: 'replaced', hung: 'replaced (it hung)', recycled: 'recycled', oom: 'dropped after an OOM', started: 'started' } as const;
  return (
    <Card withBorder padding="sm" aria-label="Tree workers">
      <Text fw={600} size="sm" mb="xs">
        Tree workers
      </Text>
      <Stack gap={4}>
        {[...byFamily].map(([family, list]) => {
          const devices = [...new Set(list.map((w) => w.device))].join(', ');
          const sees = [...new Set(list.map((w) => (w.visibleDevices === '' ? 'no GPU' : `CUDA_VISIBLE_DEVICES=${w.visibleDevices}`)))].join(', ');
          const threads = [...new Set(list.map((w) => w.threads))].join(' or ');
          return (
            <Text size="sm" key={family} data-family={family} data-workers={list.length}>
              <b>{FAMILY_LABEL[family]}</b>: {count(list.length, 'worker')} on {devices} ({sees}), {threads} thread{threads === '1' ? '' : 's'} each; pids {list.map((w) => w.pid).join(', ')}
            </Text>
          );
        })}
        {changes.map((c) => (
          <Text size="sm" key={`${c.at}-${c.family}-${c.slot}-${c.pid}`} c="orange.9" data-change={c.reason}>
            {clock(c.at / 1000)} {FAMILY_LABEL[c.family]} worker {c.slot} {reason[c.reason]} (now pid {c.pid}){c.detail ? `: ${c.detail}` : ''}
          </Text>
        ))}
      </Stack>
    </Card>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={600}>
        {value}
      </Text>
    </div>
  );
}

/** The NN engine and its concurrency (a sweep of several families: the NN family's own, not the last family's). */
function engineFigure(run: TrialsRunInfo, several: boolean): string {
  const nn = several ? run.families.find((f) => f.family === 'nn') : undefined;
  if (several && !nn?.engine) return '—';
  const [engine, concurrency] = nn ? [nn.engine, nn.concurrency] : [run.engine ?? run.settings.engine, run.concurrency];
  return `${engine}${concurrency ? ` × ${concurrency}` : ''}`;
}

/** A done sweep: its best trial, that trial's params and metrics, the files it wrote, its time. */
function SweepSummary({ run }: { run: TrialsRunInfo }) {
  const runDir = useStore((s) => sweepOf(s, run.runId).runDir);
  const results = useStore((s) => sweepOf(s, run.runId).results);
  const several = useFamilies(run).length > 1;
  const best = useMemo(() => bestOf(results), [results]);
  const failed = results.filter((r) => r.state === 'failed').length;
  const files = runDir ? ['trials.jsonl', 'study.db'].map((name) => ({ name, path: `${runDir}${runDir.includes('\\') ? '\\' : '/'}${name}` })) : [];
  return (
    <Card withBorder padding="sm" aria-label="Summary">
      <Text fw={600} size="sm" mb="xs">
        Done: {count(run.trialsDone, 'trial')}
        {best ? `, best ${metricName(run.metric)} ${best.value!.toFixed(4)} (${trialName(best.family, best.number, several)})` : ''}
      </Text>
      {best && (
        <Table aria-label="Best trial" fz="sm" verticalSpacing={2} mb="sm">
          <Table.Tbody>
            {Object.entries(best.params).map(([key, value]) => (
              <Table.Tr key={key}>
                <Table.Th scope="row" fw={400} c="dimmed" w="30%">
                  {key}
                </Table.Th>
                <Table.Td>{typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : String(value)}</Table.Td>
              </Table.Tr>
            ))}
            {Object.entries(best.metrics).map(([key, value]) => (
              <Table.Tr key={`m-${key}`}>
                <Table.Th scope="row" fw={400} c="dimmed">
                  {key}
                </Table.Th>
                <Table.Td>{value.toPrecision(6)}</Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr>
              <Table.Th scope="row" fw={400} c="dimmed">
                {best.family === 'nn' ? 'epochs' : 'rounds'}
              </Table.Th>
              <Table.Td>
                {best.epochs} (best at {best.bestEpoch}), seed {best.seed}
              </Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      )}
      {files.length > 0 && (
        <Table aria-label="Sweep files" fz="sm" verticalSpacing={4} mb="sm">
          <Table.Tbody>
            {files.map((file) => {
              const id = `path-${file.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
              return (
                <Table.Tr key={file.name}>
                  <Table.Th scope="row" style={{ whiteSpace: 'nowrap' }}>
                    {file.name}
                  </Table.Th>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap" align="start">
                      <Text id={id} size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
                        {file.path}
                      </Text>
                      <CopyButton text={file.path} textId={id} label={`Copy the path of ${file.name}`} />
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
        <Figure label="Elapsed" value={seconds(run.elapsedMs / 1000)} />
        <Figure label="Trials" value={`${run.trialsDone} complete${failed ? `, ${failed} failed` : ''}`} />
        <Figure label={several ? 'Engine (NN)' : 'Engine'} value={engineFigure(run, several)} />
        <Figure label="Peak memory (best trial)" value={best ? `${bytes(best.peakBytes)}${best.peakSource === 'estimate' ? ' (estimate)' : ''}` : '—'} />
      </SimpleGrid>
      {runDir && (
        <Text size="xs" c="dimmed" mt="xs">
          optuna-dashboard can read study.db while a sweep runs: optuna-dashboard sqlite:///{runDir}/study.db
        </Text>
      )}
    </Card>
  );
}

function EventLog({ runId }: { runId: string }) {
  const log = useStore((s) => sweepOf(s, runId).log);
  return (
    <ScrollArea h={180} aria-label="Event log" viewportProps={{ tabIndex: 0 }}>
      <Code block fz="xs" tabIndex={0}>
        {log.length ? log.map((entry) => `${clock(entry.at / 1000)}  ${entry.line}`).join('\n') : 'no events yet'}
      </Code>
    </ScrollArea>
  );
}

function Trials({ run }: { run: TrialsRunInfo }) {
  const results = useStore((s) => sweepOf(s, run.runId).results);
  const skipped = useStore((s) => sweepOf(s, run.runId).skipped);
  const best = useBest(run);
  const families = useFamilies(run);
  return (
    <Card withBorder padding="sm">
      <Text fw={600} size="sm" mb="xs">
        Trials
      </Text>
      {skipped.length > 0 && (
        <Text size="sm" c="red" mb="xs">
          trials.jsonl: {skipped.map((s) => `line ${s.line} skipped (${s.reason})`).join('; ')}
        </Text>
      )}
      <TrialsTable trials={results} best={best} families={families} />
    </Card>
  );
}

export function TrialsRunView({ run }: { run: TrialsRunInfo }) {
  const task = run.task ?? 'task auto';
  const families = useFamilies(run);
  const several = families.length > 1;
  return (
    <Stack>
      <RunHeader run={run} subtitle={`sweep of ${run.target} in ${run.data} · ${several ? `${families.map((f) => FAMILY_LABEL[f]).join(', ')} · ` : ''}${task} · ${run.settings.sampler} sampler, seed ${run.settings.seed}`} />
      <RunControls run={run}>
        <SweepProgress run={run} />
      </RunControls>
      {run.status === 'done' && <SweepSummary run={run} />}
      {run.failure && <FailureCard failure={run.failure} />}
      {several && <Comparison run={run} />}
      <Charts run={run} />
      <Running runId={run.runId} several={several} />
      <TreeWorkers runId={run.runId} />
      <Trials run={run} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder padding="sm">
          <Text fw={600} size="sm" mb="xs">
            Events
          </Text>
          <EventLog runId={run.runId} />
        </Card>
        <DiskCard run={run} holds="journal, study.db, trials.jsonl" removes="its journal, study.db and trials.jsonl" />
      </SimpleGrid>
    </Stack>
  );
}
