/**
 * Fault injection for tests (documented switches, never set in normal use):
 *
 * HEADROOM_FAULT_KILL_AT=assembly   SIGKILL the Engine once embeddings.npy's temporary
 *                                   file is fully written, before its rename
 * HEADROOM_FAULT_KILL_AT=completed  SIGKILL the Engine right after run_completed is
 *                                   journaled, before chunks/ is removed
 *
 * (The runtime's switches are in python-runtime/headroom_runtime/embed/faults.py.)
 */
export const FAULT_KILL_AT = 'HEADROOM_FAULT_KILL_AT';

export function killPoint(point: 'assembly' | 'completed'): void {
  if (process.env[FAULT_KILL_AT] === point) process.kill(process.pid, 'SIGKILL');
}
