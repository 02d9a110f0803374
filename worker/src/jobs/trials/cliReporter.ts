/**
 * How a sweep shows its progress in a terminal: a bar of trials done on a TTY,
 * a line per finished trial otherwise (--json is the CLI's own: cli/jsonReporter.ts).
 * The words are the status's and the panel's (words.ts).
 */
import cliProgress from 'cli-progress';
import type { TrialsEvent } from '../../contract/jobs/trials.js';
import type { TrialsFamily } from '../../contract/trialsProtocol.js';
import { count, duration } from '../../contract/words.js';
import type { JobReporter } from '../job.js';
import type { TrialsSummary } from './trialsRun.js';
import { bytesWords, familyTable, metricValue, namesFamilies, OPENING, paramsLine, progressLine, STARTING, trainingPhase, trialLine, trialName } from './words.js';

const mib = (bytes: number | null): string => (bytes === null ? '?' : bytesWords(bytes));

export function trialsReporter(stream: NodeJS.WriteStream, verbose: boolean): JobReporter<TrialsSummary, TrialsEvent> {
  const bar = stream.isTTY ? new cliProgress.SingleBar({ format: '{phase} |{bar}| {progress}', stream, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  let total = 0;
  let done = 0;
  let concurrency: number | null = null;
  let metric: string | null = null;
  let best: { family: TrialsFamily; number: number; value: number } | null = null;
  let phase = STARTING;
  /** Per family: complete trials (of `perFamily` each), for "xgboost trial 3 (3 of 20)". */
  let families: TrialsFamily[] = [];
  let perFamily = 0;
  const doneBy = new Map<TrialsFamily, number>();
  const several = (): boolean => namesFamilies(families);
  const words = (): { phase: string; progress: string } => ({ phase, progress: progressLine({ done, total, metric, best, named: several() }) });
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
          families = event.families;
          best = event.best; // a resumed sweep's running best and counts start from what earlier sessions finished
          for (const [family, complete] of Object.entries(event.doneByFamily)) doneBy.set(family as TrialsFamily, complete);
          perFamily = families.length > 0 ? Math.round(total / families.length) : total;
          line(
            `sweep ${event.runDir}: ${event.task}, ${event.metric}; ${done} of ${total} trials done` +
              `${several() ? ` (families ${families.join(', ')}, one after another, ${count(perFamily)} trials each)` : ''}`,
          );
          bar?.start(total, done, words());
          break;
        case 'runtime':
          phase = OPENING;
          bar?.update(words());
          break;
        case 'engine': {
          concurrency = event.concurrency;
          phase = trainingPhase(concurrency, done, total);
          const stale = event.failedStale.length > 0 ? `; ${event.family} trial(s) ${event.failedStale.join(', ')} left running by a crash: failed in the study, their parameters asked again` : '';
          if (event.engine === 'worker') line(`${event.family}: ${event.concurrency} worker process(es) on ${event.device} (${event.why})${stale}`);
          else line(`${several() ? `${event.family}: ` : ''}engine ${event.engine} on ${event.device} (${event.why}), ${event.concurrency} member(s) at once, ${mib(event.memberBytes)} per member${stale}`);
          break;
        }
        case 'trialStarted':
          if (verbose) line(`${trialName(event.family, event.number, several())} started: ${paramsLine(event.params)} (seed ${event.seed}, ${event.members} member(s))`);
          break;
        case 'trialDone': {
          done = event.trialsDone;
          const { result } = event;
          if (result.state === 'complete') doneBy.set(result.family, (doneBy.get(result.family) ?? 0) + 1);
          if (result.state === 'complete' && result.value !== null && (best === null || result.value > best.value)) best = { family: result.family, number: result.number, value: result.value };
          phase = trainingPhase(concurrency ?? 1, done, total);
          const text = trialLine(result, metric, several() ? { done: doneBy.get(result.family) ?? 0, total: perFamily } : undefined, several());
          if (bar) {
            bar.update(done, words());
            if (verbose) line(text);
          } else line(`${text} · ${progressLine({ done, total, metric, best, named: several() })}`);
          break;
        }
        case 'treeWorker':
          if (event.reason === 'started') {
            if (verbose) line(`${event.family} worker ${event.slot} started: pid ${event.pid} on ${event.device} (CUDA_VISIBLE_DEVICES="${event.visibleDevices}", ${event.threads} thread(s))`);
          } else {
            const why =
              event.reason === 'replaced'
                ? 'replaced (it ended mid-trial: the trial runs again with the same parameters)'
                : event.reason === 'hung'
                  ? 'replaced (it hung: its processes were killed; a trial it held runs again with the same parameters)'
                  : event.reason === 'recycled' ? 'recycled (its memory kept growing)' : 'restarted after an out-of-memory';
            line(`${event.family} worker ${event.slot} ${why}: now pid ${event.pid} on ${event.device}${event.detail ? `; ${event.detail}` : ''}`);
          }
          break;
        case 'treeOom':
          line(
            `${trialName(event.family, event.number, several())} ran out of memory on ${event.device}: ` +
              `${event.action === 'cpu' ? 'it runs again on the CPU' : `it runs again with ${event.workers} worker(s) on ${event.device}`} (${event.message})`,
          );
          break;
        case 'runtimeHung': {
          const running = event.running.length > 0 ? `, during ${event.running.map((trial) => trialName(trial.family, trial.number, several())).join(', ')}` : '';
          line(
            `runtime ${event.pid} sent nothing for ${event.silentS} s (limit ${event.timeoutS} s)${running}: killed as hung` +
              (event.giveUp ? ` (${event.inARow} times in a row)` : '; a fresh runtime goes on, the trials it left running asked again'),
          );
          break;
        }
        case 'familyDone':
          line(`${event.family} done: ${count(event.complete)} trials complete in ${duration(event.ms)}`);
          break;
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
      const bestWords = summary.best ? `best ${summary.metric} ${metricValue(summary.best.value)} (${trialName(summary.best.family, summary.best.number, namesFamilies(summary.families.map((family) => family.family)))}: ${paramsLine(summary.best.params)})` : 'no complete trial';
      line(`done: ${summary.trials} trials in ${summary.runDir}/trials.jsonl (${summary.finishedThisSession} this session, ${summary.seconds}s); ${bestWords}; study ${summary.study}`);
      const compared = summary.families.length > 1 || summary.families.some((family) => family.family !== 'nn');
      if (compared) for (const text of familyTable(summary.families, summary.metric, { params: true })) line(`  ${text}`);
    },
    close() {
      bar?.stop();
    },
  };
}
