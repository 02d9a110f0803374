/**
 * How a sweep shows its progress in a terminal: a bar of trials done on a TTY,
 * a line per finished trial otherwise (--json is the CLI's own: cli/jsonReporter.ts).
 * The words are the status's and the panel's (words.ts).
 */
import cliProgress from 'cli-progress';
import type { TrialsEvent } from '../../contract/jobs/trials.js';
import type { JobReporter } from '../job.js';
import type { TrialsSummary } from './trialsRun.js';
import { metricValue, OPENING, paramsLine, progressLine, STARTING, trainingPhase, trialLine } from './words.js';

const mib = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

export function trialsReporter(stream: NodeJS.WriteStream, verbose: boolean): JobReporter<TrialsSummary, TrialsEvent> {
  const bar = stream.isTTY ? new cliProgress.SingleBar({ format: '{phase} |{bar}| {progress}', stream, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  let total = 0;
  let done = 0;
  let concurrency: number | null = null;
  let metric: string | null = null;
  let best: { number: number; value: number } | null = null;
  let phase = STARTING;
  const words = (): { phase: string; progress: string } => ({ phase, progress: progressLine({ done, total, metric, best }) });
  const line = (text: string): void => {
    if (bar?.isActive) {
      bar.stop();
      stream.write(`${text}\n`);
      bar.start(total, done, words());
      return;
    }
    stream.write(`${text}\n`);
  };
  return {
    progress(event) {
      switch (event.kind) {
        case 'started':
          total = event.trialsTotal;
          done = event.trialsDone;
          metric = event.metric;
          line(`sweep ${event.runDir}: ${event.task}, ${event.metric}; ${done} of ${total} trials done`);
          bar?.start(total, done, words());
          break;
        case 'runtime':
          phase = OPENING;
          bar?.update(words());
          break;
        case 'engine':
          concurrency = event.concurrency;
          phase = trainingPhase(concurrency, done, total);
          line(
            `engine ${event.engine} on ${event.device} (${event.why}), ${event.concurrency} member(s) at once, ${mib(event.memberBytes)} per member` +
              `${event.failedStale.length > 0 ? `; trial(s) ${event.failedStale.join(', ')} left running by a crash: failed in the study, their parameters asked again` : ''}`,
          );
          break;
        case 'trialStarted':
          if (verbose) line(`trial ${event.number} started: ${paramsLine(event.params)} (seed ${event.seed}, ${event.members} member(s))`);
          break;
        case 'trialDone': {
          done = event.trialsDone;
          const { result } = event;
          if (result.state === 'complete' && result.value !== null && (best === null || result.value > best.value)) best = { number: result.number, value: result.value };
          phase = trainingPhase(concurrency ?? 1, done, total);
          if (bar) {
            bar.update(done, words());
            if (verbose) line(trialLine(result, metric));
          } else line(`${trialLine(result, metric)} · ${progressLine({ done, total, metric, best })}`);
          break;
        }
        case 'concurrency':
          concurrency = event.concurrency;
          phase = trainingPhase(concurrency, done, total);
          line(`concurrency now ${event.concurrency} (${event.reason === 'oom' ? 'after an out-of-memory' : `measured peak ${mib(event.peak)} vs estimate ${mib(event.estimate)}`})`);
          break;
        case 'oom':
          line(`out of memory with ${event.members} members at once: ${event.restarted.length} unfinished trial(s) restart from their start at concurrency ${event.concurrency}, same seeds`);
          break;
        case 'paused':
          line('paused (between epochs)');
          break;
        case 'resumed':
          line('resumed');
          break;
        case 'log':
          if (verbose) line(event.line);
          break;
        default:
          break;
      }
    },
    summary(summary) {
      bar?.stop();
      const bestWords = summary.best ? `best ${summary.metric} ${metricValue(summary.best.value)} (trial ${summary.best.number}: ${paramsLine(summary.best.params)})` : 'no complete trial';
      line(`done: ${summary.trials} trials in ${summary.runDir}/trials.jsonl (${summary.finishedThisSession} this session, ${summary.seconds}s); ${bestWords}; study ${summary.study}`);
    },
    close() {
      bar?.stop();
    },
  };
}
