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
import { metricValue, paramsLine } from './words.js';
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
      settings: status.settings,
      sessionTrialsStart: status.sessionTrialsStart,
    };
  },
  onEvent: (info, event) => foldTrialsEvent(info, event),
  statusLines(status, options) {
    const s = status.settings;
    const validation = s.folds === null ? `${Math.round(s.valFraction * 100)}% held out` : `${s.folds} folds`;
    return [
      `trials   ${status.trialsDone}/${status.trialsTotal} complete${status.trialsOther > 0 ? `, ${status.trialsOther} failed or pruned` : ''}`,
      ...(status.best ? [`best     ${status.metric} ${metricValue(status.best.value)}: trial ${status.best.number} (${paramsLine(status.best.params)})`] : []),
      ...(status.engine === null ? [] : [`engine   ${status.engine}, ${status.concurrency ?? '?'} member(s) at once on ${status.device ?? '?'}${status.engineWhy ? ` (${status.engineWhy})` : ''}${status.ooms > 0 ? `, ${status.ooms} OOM(s) recovered` : ''}`]),
      `task     ${status.task}, objective ${status.metric} (higher is better)`,
      `data     ${status.data} (${count(status.rows)} rows, ${count(status.features)} features)`,
      `target   ${status.target}`,
      `settings ${s.epochs} epochs, patience ${s.patience}, ${validation}, sampler ${s.sampler}, seed ${s.seed}, engine ${s.engine}, concurrency ${s.concurrency}, device ${s.device}`,
      ...(options?.verbose && s.space ? Object.entries(s.space).map(([key, value], i) => `${i === 0 ? 'space   ' : '        '} ${key}: ${JSON.stringify(value)}`) : []),
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
