import { join } from 'node:path';
import { REPO_ROOT } from '../../runtimePaths.js';

export const DEFAULT_MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
/** Written by `npm run setup` (python -m headroom_dev.demo_corpus). */
export const DEMO_CORPUS = join(REPO_ROOT, '.headroom', 'demo-corpus.jsonl');
