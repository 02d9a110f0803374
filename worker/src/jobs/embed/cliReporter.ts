/**
 * How an embed run shows its progress in a terminal: a bar on a TTY, a plain line
 * every few seconds otherwise (--json is the CLI's own: cli/jsonReporter.ts).
 */
import cliProgress from 'cli-progress';
import type { JobReporter } from '../job.js';
import type { Progress, RunSummary } from './embedRun.js';
import { wordsAfter, type Standing } from './liveInfo.js';
import { leakLine, STARTING, vramLevelLine } from './words.js';
import { readManifest } from './manifest.js';

/** Each model key with the name the user gave (the words say the name, as status and the panel do). */
function modelNames(runDir: string, keys: string[]): { key: string; model: string }[] {
  let names = new Map<string, string>();
  try {
    names = new Map(readManifest(runDir).spec.models.map((entry) => [entry.key, entry.model]));
  } catch {
    /* the run's own manifest, read a moment ago by the session: a key is a fair fallback */
  }
  return keys.map((key) => ({ key, model: names.get(key) ?? key }));
}

export type Reporter = JobReporter<RunSummary, Progress>;

const PLAIN_EVERY_MS = 5_000;
const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

export function humanReporter(stream: NodeJS.WriteStream, verbose: boolean): Reporter {
  const bar = stream.isTTY
    ? new cliProgress.SingleBar(
        // The panel's words (words.ts): the phase, then "chunk 6 of 16 · 12,000/30,000 documents". No ETA from
        // cli-progress: it counts chunks, so it reads "0s" until the first chunk ends; `status` gives the real one.
        { format: '{phase} |{bar}| {percentage}% · {progress}', stream, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastPlain = 0;
  let standing: Standing | undefined;
  let phase = STARTING;
  /** Words the event: the same phase and progress line the panel shows. */
  const word = (event: Progress): { phase: string; progressLine: string } | undefined => {
    if (!standing) return undefined;
    const words = wordsAfter(standing, event);
    if (words) phase = words.phase;
    return words;
  };
  const line = (text: string): void => {
    if (bar?.isActive) bar.stop();
    stream.write(`${text}\n`);
  };
  // With several workers a line names the worker it is about ("w1: pass ..."); one worker's lines stay as they were.
  const workersSeen = new Set<string>();
  const by = (worker: string | undefined): string => (worker !== undefined && workersSeen.size > 1 ? `${worker}: ` : '');
  // Models by the name the user gave, as `headroom status` says them; chunks 1-based, as the progress line counts them.
  const name = (key: string): string => standing?.models.find((m) => m.key === key)?.model ?? key;
  const named = <T extends { model: string }>(event: T): T => ({ ...event, model: name(event.model) });
  return {
    progress(event) {
      switch (event.kind) {
        case 'started':
          standing = {
            models: modelNames(event.runDir, event.models),
            sequential: event.ensembleMode === 'sequential',
            chunksTotal: Math.round(event.chunksTotal / Math.max(1, event.models.length)),
            unitsDone: event.chunksDone,
            unitsTotal: event.chunksTotal,
            // Documents of the chunks already done (the exact count comes with the first chunk event).
            documentsDone: event.chunksTotal ? Math.floor((event.chunksDone / event.chunksTotal) * event.rowsTotal) : 0,
            documentsTotal: event.rowsTotal,
          };
          {
            const words = word(event)!;
            line(`run ${event.runDir}: ${words.progressLine}${event.recomputing ? `, ${event.recomputing} chunk(s) to recompute` : ''}`);
            bar?.start(event.chunksTotal, event.chunksDone, { phase, progress: words.progressLine });
          }
          break;
        case 'runtime': {
          const words = word(event);
          if (words) bar?.update({ phase, progress: words.progressLine });
          break;
        }
        case 'pass': {
          const words = word(event);
          if (bar) {
            if (words) bar.update({ phase, progress: words.progressLine });
            break;
          }
          if (event.phase === 'started') {
            line(`${by(event.worker)}pass ${event.model} (${event.source}) on ${event.device}, dim ${event.dim}, ${event.loaded ? `loaded in ${Math.round(event.ms)} ms` : 'already resident'}, budget from ${event.budgetSource}`);
          } else {
            line(`${by(event.worker)}pass ${event.model} done: ${event.rows} documents in ${(event.ms / 1000).toFixed(1)}s, model memory peak ${mib(event.residentPeak)}${event.peak === null ? '' : `, GPU peak ${mib(event.peak)}`}${event.released ? ', released' : ''}`);
          }
          break;
        }
        case 'mode':
          line(`ensemble mode now ${event.ensembleMode} for the remaining work`);
          break;
        case 'oom':
          line(`out of memory in ${name(event.model)}${event.chunk < 0 ? '' : ` chunk ${event.chunk + 1}`}: ${event.docs} docs, ${event.tokens} padded tokens; budget now ${event.budget}, ${event.action}`);
          break;
        case 'vram_level':
          line(`${by(event.worker)}${vramLevelLine(named(event))}`);
          break;
        case 'leak_warning':
          line(`${by(event.worker)}${leakLine(named(event))}`);
          break;
        case 'worker':
          workersSeen.add(event.worker);
          if (event.phase === 'restarted') line(`worker ${event.worker}${event.device ? ` on ${event.device}` : ''} restarted (attempt ${event.attempt})${event.reason ? `: ${event.reason}` : ''}; its unit is handed out again`);
          else if (event.phase === 'given_up') line(`worker ${event.worker}${event.device ? ` on ${event.device}` : ''} given up${event.reason ? `: ${event.reason}` : ''}; the other workers go on`);
          else if (verbose) line(`worker ${event.worker} started${event.device ? ` on ${event.device}` : ''}${event.pid === null ? '' : `, pid ${event.pid}`}`);
          break;
        case 'paused':
          if (event.reason !== undefined) line(`paused: ${event.reason}; resume the run to go on`);
          break;
        case 'runtime_hung':
          line(
            `runtime ${event.pid} sent nothing for ${event.silentS} s (limit ${event.timeoutS} s): killed as hung` +
              `${event.model === null ? ' during start-up' : ` during ${name(event.model)}${event.chunk === null ? '' : ` chunk ${event.chunk + 1}`}`}` +
              `${event.giveUp ? `; ${event.inARow} hangs in a row, stopping` : '; a fresh runtime redoes it'}`,
          );
          break;
        case 'chunk': {
          if (standing) standing = { ...standing, unitsDone: event.chunksDone, unitsTotal: event.chunksTotal, documentsDone: Math.floor(event.rowsDone / Math.max(1, standing.models.length)) };
          const progress = word(event)?.progressLine ?? `${event.chunksDone}/${event.chunksTotal} chunks`;
          if (bar) bar.update(event.chunksDone, { phase, progress });
          else if (performance.now() - lastPlain >= PLAIN_EVERY_MS || event.chunksDone === event.chunksTotal) {
            lastPlain = performance.now();
            // "encoding chunk 9 of 15" would repeat the progress line's "chunk 9 of 15": other phases (loading, assembling) are said.
            const said = phase.startsWith('encoding') ? progress : `${phase} · ${progress}`;
            line(`${said}${verbose ? ` (${event.chunksDone}/${event.chunksTotal} (model, chunk) units)` : ''}`);
          }
          break;
        }
        case 'log':
          if (verbose) line(event.line);
          break;
        default:
          break;
      }
    },
    summary(summary) {
      bar?.stop();
      line(
        `done: ${summary.rows} x ${summary.dim} embeddings in ${summary.runDir}/embeddings.npy ` +
          `(${summary.truncated} truncated at the max length` +
          `${summary.cutToFit ? `, ${summary.cutToFit} cut to fit memory` : ''}${summary.onCpu ? `, ${summary.onCpu} on the CPU` : ''}` +
          `, ${summary.rowsEncoded} encoded this session in ${summary.seconds}s, ${summary.docsPerSecond} docs/s, ` +
          `${summary.tokensPerSecond} tokens/s; ${summary.batches} batches, ${summary.ooms} OOMs, budget ${summary.finalBudget} tokens, ` +
          `${Math.round(summary.paddingEfficiency * 100)}% real tokens` +
          `${summary.models.length > 1 ? `; ${summary.models.length} models, ${summary.ensembleMode}, ${summary.aggregate}` : ''}` +
          `${summary.memory.resident === null ? '' : `, model memory peak ${mib(summary.memory.resident)}`}); sha256 ${summary.sha256.slice(0, 16)}`,
      );
    },
    close() {
      bar?.stop();
    },
  };
}
