/** The trial-sweep job behind the Job interface (jobs/job.ts): what the panel and the CLI see of it. */
import { TRIALS_KIND, TrialsRequest, TrialsSettings, type TrialsEvent, type TrialsRequestParsed, type TrialsRunInfo } from '../../contract/jobs/trials.js';
import type { z } from 'zod';
import type { RunInfoBase } from '../../contract/runs.js';
import { count } from '../../contract/words.js';
import type { Job } from '../job.js';
import { addTrialsCommands } from './cli.js';
import { trialsReporter } from './cliReporter.js';
import { TRIALS_HISTORY_SAMPLES } from './historySamples.js';
import { foldTrialsEvent } from './liveInfo.js';
import { RUN_FORMAT } from './manifest.js';
import { JournalRecord } from './records.js';
import { runStatus, type TrialsStatus } from './runStatus.js';
import { createTrialsRun, executeTrialsRun, type TrialsSummary } from './trialsRun.js';
import { familyTable, metricValue, paramsLine, trialName } from './words.js';
import { inspectData, runTrials } from './panelCalls.js';

export const trialsJob: Job<TrialsRequestParsed, TrialsSettings, TrialsStatus, TrialsSummary, TrialsEvent> = {
  kind: TRIALS_KIND,
  unit: 'trials',
  format: RUN_FORMAT,
  historySamples: TRIALS_HISTORY_SAMPLES,
  request: TrialsRequest,
  records: JournalRecord,
  settings: TrialsSettings,
  async create(request, runDir, runtime) {
    await createTrialsRun(request, runDir, runtime);
  },
  execute: executeTrialsRun,
  status: runStatus,
  infoFields(status): Omit<TrialsRunInfo, keyof z.infer<typeof RunInfoBase>> & { sessionTrialsStart: number | null } {
    return {
      data: status.data,
      target: status.target,
      task: status.task,
      metric: status.metric,
      trialsDone: status.trialsDone,
      trialsTotal: status.trialsTotal,
      engine: status.engine,
      concurrency: status.concurrency,
      best: status.best,
      families: status.families,
      settings: status.settings,
      sessionTrialsStart: status.sessionTrialsStart,
    };
  },
  onEvent: (info, event) => foldTrialsEvent(info, event),
  statusLines(status, options) {
    const s = status.settings;
    const validation = s.folds === null ? `${Math.round(s.valFraction * 100)}% held out` : `${s.folds} folds`;
    const nnOnly = s.families.length === 1 && s.families[0] === 'nn';
    const nn = status.families.find((family) => family.family === 'nn');
    const trees = status.families.filter((family) => family.family !== 'nn' && family.engine !== null);
    return [
      `trials   ${status.trialsDone}/${status.trialsTotal} complete${nnOnly ? '' : ` (${s.families.length} families, ${status.trialsTotal / s.families.length} each)`}${status.trialsOther > 0 ? `, ${status.trialsOther} failed or pruned` : ''}`,
      ...(status.best ? [`best     ${status.metric} ${metricValue(status.best.value)}: ${trialName(status.best.family, status.best.number, !nnOnly)} (${paramsLine(status.best.params)})`] : []),
      ...(status.engine === null
        ? []
        : [`engine   ${nnOnly ? '' : 'nn: '}${status.engine}, ${(nnOnly ? status.concurrency : nn?.concurrency) ?? '?'} member(s) at once on ${status.device ?? '?'}${status.engineWhy ? ` (${status.engineWhy})` : ''}${status.ooms > 0 ? `, ${status.ooms} OOM(s) recovered` : ''}`]),
      ...trees.map((family, i) => `${i === 0 && status.engine === null ? 'engine   ' : '         '}${family.family}: ${family.concurrency ?? '?'} worker process(es)`),
      ...(status.treeWorkersReplaced + status.treeOoms > 0 ? [`workers  ${status.treeWorkersReplaced} tree worker(s) replaced or recycled, ${status.treeOoms} tree trial(s) moved after an out-of-memory`] : []),
      ...(status.hangs > 0 ? [`hangs    ${status.hangs} hung runtime(s) killed and replaced`] : []),
      ...(nnOnly ? [] : familyTable(status.families, status.metric).map((line, i) => `${i === 0 ? 'compare  ' : '         '}${line}`)),
      `task     ${status.task}, objective ${status.metric} (higher is better)`,
      `data     ${status.data} (${count(status.rows)} rows, ${count(status.features)} features)`,
      `target   ${status.target}`,
      `settings ${nnOnly ? '' : `families ${s.families.join(', ')}, `}${s.epochs} epochs, patience ${s.patience}, ${validation}, sampler ${s.sampler}, seed ${s.seed}, engine ${s.engine}, concurrency ${s.concurrency}${s.families.some((family) => family !== 'nn') ? `, tree workers ${s.treeWorkers}` : ''}, device ${s.device}`,
      ...(options?.verbose && s.space
        ? Object.entries(s.space).flatMap(([family, space]) => Object.entries(space ?? {}).map(([key, value]) => `${family}.${key}: ${JSON.stringify(value)}`)).map((line, i) => `${i === 0 ? 'space   ' : '        '} ${line}`)
        : []),
      `results  ${status.trialsFile}, ${status.study}`,
    ];
  },
  reporter: ({ verbose, stderr }) => trialsReporter(stderr, verbose),
  calls: {
    inspectData: (args, { runtime }) => inspectData(args.path, runtime),
    runTrials: (args, { runDir }) => runTrials(args.runId, runDir ?? ''),
  },
  addCommands: (program, cli) => addTrialsCommands(program, cli, trialsJob),
};
