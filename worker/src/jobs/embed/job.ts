/** The embedding job behind the Job interface (jobs/job.ts): what the panel and the CLI see of it. */
import { EMBED_KIND, EmbedRequest, EmbedSettings, type EmbedRequestParsed, type EmbedRunInfo } from '../../contract/jobs/embed.js';
import { Option } from 'commander';
import { EnsembleMode, OomPolicy } from '../../contract/protocol.js';
import type { z } from 'zod';
import type { RunInfoBase } from '../../contract/runs.js';
import type { Job } from '../job.js';
import { humanReporter } from './cliReporter.js';
import { addEmbedCommands } from './cli.js';
import { createEmbedRun, executeRun, type Progress, type RunSummary } from './embedRun.js';
import { ensembleEntries } from './ensemble.js';
import { RUN_FORMAT } from './manifest.js';
import { JournalRecord } from './records.js';
import { runStatus, type StatusReport } from './runStatus.js';
import { foldEmbedEvent } from './liveInfo.js';
import { count, guardLines } from './words.js';
import { perSecond } from '../../contract/words.js';
import { EMBED_HISTORY_SAMPLES } from './historySamples.js';

/** The run options a request stands for: models keyed and weighted (equal when none are given). */
function embedOptions(request: EmbedRequestParsed): Parameters<typeof createEmbedRun>[2] {
  const { input, models, name, ...settings } = request;
  void input;
  const weights = models.every((entry) => entry.weight !== undefined) ? models.map((entry) => entry.weight!) : undefined;
  return { ...settings, ...(name === undefined ? {} : { name }), models: ensembleEntries(models.map((entry) => ({ model: entry.model, device: entry.device })), weights) };
}

export const embedJob: Job<EmbedRequestParsed, EmbedSettings, StatusReport, RunSummary, Progress> = {
  kind: EMBED_KIND,
  unit: 'chunks',
  format: RUN_FORMAT,
  historySamples: EMBED_HISTORY_SAMPLES,
  request: EmbedRequest,
  records: JournalRecord,
  settings: EmbedSettings,
  async create(request, runDir, runtime) {
    await createEmbedRun(request.input, runDir, embedOptions(request), runtime);
  },
  execute: executeRun,
  status: runStatus,
  infoFields(status): Omit<EmbedRunInfo, keyof z.infer<typeof RunInfoBase>> {
    return {
      models: status.modelNames,
      ensembleMode: status.ensembleMode,
      input: status.input,
      rowsTotal: status.rowsTotal / Math.max(1, status.modelNames.length),
      truncated: status.truncated,
      cutToFit: status.cutToFit,
      onCpu: status.onCpu,
      documentsDone: status.documentsDone,
      chunksTotal: status.chunksTotal,
      sessionDocumentsStart: status.sessionDocumentsStart,
      docsPerSecond: status.docsPerSecond,
      tokensPerSecond: status.tokensPerSecond,
      settings: status.settings,
      summary: status.summary,
      workers: status.workers,
    };
  },
  onEvent: (info, event) => foldEmbedEvent(info, event),
  statusLines(report, options) {
    const s = report.settings;
    const summary = report.summary;
    return [
      ...(options?.verbose ? [`units    ${report.unitsDone}/${report.unitsTotal} (model, chunk) units`] : []),
      ...(report.docsPerSecond === null ? [] : [`speed    ${perSecond(report.docsPerSecond, 'documents')}${report.tokensPerSecond === null ? '' : `, ${perSecond(report.tokensPerSecond, 'tokens')}`}`]),
      ...report.models.map((model, i) => `${i === 0 ? 'models  ' : '        '} ${model}${s.models[i]?.ranOn ? ` ran on ${s.models[i].ranOn}` : ''}`),
      `mode     ${report.ensembleMode}, aggregate ${s.aggregate}`,
      `settings chunks of ${count(s.chunkSize)}, batches ${s.batchSize === 'auto' ? `auto (${s.minBatch}-${s.maxBatch} documents${s.maxBatchTokens === null ? '' : `, ${count(s.maxBatchTokens)} tokens`})` : s.batchSize}, OOM policy ${s.oomPolicy}`,
      `input    ${report.input}`,
      `rows     ${report.rowsDone}/${report.rowsTotal} (${report.truncated} truncated at the max length, ${report.cutToFit} cut to fit memory, ${report.onCpu} on the CPU)`,
      ...(report.hangs > 0 ? [`hangs    ${report.hangs} hung runtime(s) killed and replaced`] : []),
      ...guardLines(report.guard),
      ...(report.workers ?? []).map(
        (worker, i) =>
          `${i === 0 ? 'workers ' : '        '} ${worker.id} on ${worker.device}: ${worker.state.replace('_', ' ')}, ${count(worker.chunksDone)} unit(s) done` +
          `${worker.restarts > 0 ? `, ${worker.restarts} restart(s)` : ''}${worker.pid === null ? '' : `, pid ${worker.pid}`}`,
      ),
      ...(summary
        ? [
            ...summary.files.map((file) => `output   ${file.path}  sha256 ${file.sha256}`),
            `result   ${count(summary.rows)} x ${summary.dim}, ${summary.truncated} truncated (${(summary.truncatedShare * 100).toFixed(1)}%), ${summary.oomsRecovered} OOMs recovered`,
          ]
        : []),
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
