/** The embedding job behind the Job interface (jobs/job.ts): what the panel and the CLI see of it. */
import { EMBED_KIND, EmbedRequest, EmbedSettings, type EmbedRequestParsed, type EmbedRunInfo } from '../../contract/jobs/embed.js';
import { Option } from 'commander';
import { EnsembleMode, OomPolicy } from '../../contract/protocol.js';
import type { RunInfo } from '../../contract/runs.js';
import type { Job } from '../job.js';
import { humanReporter } from './cliReporter.js';
import { addEmbedCommands } from './cli.js';
import { createEmbedRun, executeRun, type Progress, type RunSummary } from './embedRun.js';
import { ensembleEntries } from './ensemble.js';
import { RUN_FORMAT } from './manifest.js';
import { JournalRecord } from './records.js';
import { runStatus, type StatusReport } from './runStatus.js';

/** The run options a request stands for: models keyed and weighted (equal when none are given). */
function embedOptions(request: EmbedRequestParsed): Parameters<typeof createEmbedRun>[2] {
  const { input, models, ...settings } = request;
  void input;
  const weights = models.every((entry) => entry.weight !== undefined) ? models.map((entry) => entry.weight!) : undefined;
  return { ...settings, models: ensembleEntries(models.map((entry) => ({ model: entry.model, device: entry.device })), weights) };
}

export const embedJob: Job<EmbedRequestParsed, EmbedSettings, StatusReport, RunSummary, Progress> = {
  kind: EMBED_KIND,
  unit: 'chunks',
  format: RUN_FORMAT,
  request: EmbedRequest,
  records: JournalRecord,
  settings: EmbedSettings,
  async create(request, runDir, runtime) {
    await createEmbedRun(request.input, runDir, embedOptions(request), runtime);
  },
  execute: executeRun,
  status: runStatus,
  infoFields(status): Pick<EmbedRunInfo, 'models' | 'ensembleMode' | 'input' | 'rowsTotal' | 'truncated' | 'cutToFit' | 'onCpu'> {
    return {
      models: status.modelNames,
      ensembleMode: status.ensembleMode,
      input: status.input,
      rowsTotal: status.rowsTotal / Math.max(1, status.modelNames.length),
      truncated: status.truncated,
      cutToFit: status.cutToFit,
      onCpu: status.onCpu,
    };
  },
  onEvent(info, event) {
    switch (event.kind) {
      case 'chunk': {
        const counted = info as RunInfo & Partial<EmbedRunInfo>;
        return {
          ...info,
          unitsDone: event.chunksDone,
          unitsTotal: event.chunksTotal,
          // A redone chunk replaces its file; the size is read again from disk when the session ends.
          diskBytes: info.diskBytes + event.fileBytes,
          truncated: (counted.truncated ?? 0) + event.truncated,
          cutToFit: (counted.cutToFit ?? 0) + event.cutToFit,
          onCpu: (counted.onCpu ?? 0) + event.onCpu,
        };
      }
      case 'pass':
        return event.phase === 'started' ? { ...info, device: event.device } : undefined;
      case 'mode':
        return { ...info, ensembleMode: event.ensembleMode };
      default:
        return undefined;
    }
  },
  statusLines(report) {
    return [
      ...report.models.map((model, i) => `${i === 0 ? 'models  ' : '        '} ${model}`),
      `mode     ${report.ensembleMode}`,
      `input    ${report.input}`,
      `chunks   ${report.unitsDone}/${report.unitsTotal} (model, chunk) units`,
      `rows     ${report.rowsDone}/${report.rowsTotal} (${report.truncated} truncated at the max length, ${report.cutToFit} cut to fit memory, ${report.onCpu} on the CPU)`,
      ...(report.hangs > 0 ? [`hangs    ${report.hangs} hung runtime(s) killed and replaced`] : []),
    ];
  },
  reporter: ({ verbose, stderr }) => humanReporter(stderr, verbose),
  addCommands: (program, cli) => addEmbedCommands(program, cli, embedJob),
  resumeFlags: {
    options: () => [
      new Option('--oom-policy <policy>', 'change the OOM policy for the rest of the run').choices(OomPolicy.options),
      new Option('--ensemble-mode <mode>', 'change the ensemble mode for the rest of the run').choices(EnsembleMode.options),
    ],
    settings: (flags) => EmbedSettings.parse({ oom: flags.oomPolicy, ensembleMode: flags.ensembleMode }),
  },
};
