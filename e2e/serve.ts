/** `headroom serve` for a spec: a real server process on a runs folder, and the URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The run folders in a runs folder: its hidden ones (the GPU monitor's .gpus history) are not runs. */
export function runFolders(runsDir: string): string[] {
  return readdirSync(runsDir).filter((name) => !name.startsWith('.'));
}

export interface Served {
  process: ChildProcess;
  url: string;
}

/** Starts `headroom serve` and waits for its URL line. */
export function serve(args: string[], env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'headroom.mjs'), 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<Served>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      const line = String(data).split('\n').find((l) => l.startsWith('http://'));
      if (line) resolve({ process: child, url: line.trim() });
    });
    child.once('exit', (code) => reject(new Error(`headroom serve exited with ${code}`)));
  });
}

/** A port free now (bound and released), for a server that must come back on the same one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
