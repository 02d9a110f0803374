/** The kinds of job this Headroom ships. Only the entry points (CLI, panel server, Electron) import this. */
import { existsSync } from 'node:fs';
import { DEFAULT_MODEL, DEMO_CORPUS } from './embed/defaults.js';
import { embedJob } from './embed/job.js';
import { registerJob } from './registry.js';
import { trialsJob } from './trials/job.js';

export function registerBuiltinJobs(): void {
  registerJob(embedJob);
  registerJob(trialsJob);
}

/** What the panel's New run form starts from: the demo corpus (once `npm run setup` made it) and the default model. */
export function builtinFormDefaults(): { demoCorpus: string | null; defaultModel: string } {
  return { demoCorpus: existsSync(DEMO_CORPUS) ? DEMO_CORPUS : null, defaultModel: DEFAULT_MODEL };
}
