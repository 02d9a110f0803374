/**
 * A child process for the lock stress test: on each `go` it waits for the shared
 * start instant, tries to take the lock once, and reports whether it won; it holds
 * a won lock until told to release, so owners that overlap are counted.
 * HEADROOM_LOCK_MODULE can point it at another implementation (to show the old one fails).
 */
import type { RunLock } from '../../src/runs/lock.js';

type Message = { type: 'go'; round: number; at: number; lockPath: string } | { type: 'release' } | { type: 'exit' };

const modulePath = process.env.HEADROOM_LOCK_MODULE ?? '../../src/runs/lock.ts';
const { acquireLock } = (await import(modulePath)) as typeof import('../../src/runs/lock.js');
let held: RunLock | undefined;

const now = (): number => performance.timeOrigin + performance.now();

process.on('message', (message: Message) => {
  if (message.type === 'exit') {
    process.disconnect();
    return;
  }
  if (message.type === 'release') {
    held?.release();
    held = undefined;
    process.send!({ type: 'released' });
    return;
  }
  while (now() < message.at) {
    /* spin: every contender starts at the same instant */
  }
  let won = false;
  let error = '';
  try {
    held = acquireLock(message.lockPath, 'stress');
    won = true;
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  process.send!({ type: 'tried', round: message.round, won, error, pid: process.pid });
});
process.send!({ type: 'ready' });
