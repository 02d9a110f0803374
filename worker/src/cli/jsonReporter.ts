/** `--json`: one JSON object per line on stdout, for every kind: each event, then the summary. */
import type { JobEvent, JobReporter, SummaryBase } from '../jobs/job.js';

/** High-rate telemetry stays out of the CLI's stream; the panel charts it. */
const QUIET: ReadonlySet<string> = new Set(['log', 'batch', 'memory']);

export function jsonReporter(write: (line: string) => void): JobReporter<SummaryBase, JobEvent> {
  return {
    progress: (event) => {
      if (!QUIET.has(event.kind)) write(JSON.stringify({ event: event.kind, ...event }));
    },
    summary: (summary) => write(JSON.stringify({ event: 'summary', ...summary })),
    close: () => undefined,
  };
}
