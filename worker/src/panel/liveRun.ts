/**
 * A run executing in this panel, and the one place its live state is decided:
 * starting (the runtime is not up yet), running, paused, stopping, ended. The
 * run's own events move it; the manager only reads it.
 */
import { CommonEvent } from '../contract/runs.js';
import type { JobEvent } from '../jobs/job.js';
import { RunControl } from '../runs/runControl.js';
import type { RecordedSession } from '../jobs/recordedSession.js';

export type LiveState = 'starting' | 'running' | 'paused' | 'stopping' | 'ended';

export class LiveRun {
  readonly control = new RunControl<unknown>();
  readonly abort = new AbortController();
  state: LiveState = 'starting';
  runtimePid: number | null = null;
  allocated: number | null = null;
  device: string | null = null;
  /** Why the run paused itself (the VRAM guard); null when the user paused it. */
  pauseReason: string | null = null;
  /** Each runtime's pid and own memory figures (torch's), by worker id (null: the run's one runtime): the GPU monitor shows them. */
  readonly runtimes = new Map<string | null, { pid: number; device: string | null; allocated: number | null; reserved: number | null; peak: number | null }>();
  done: Promise<void> = Promise.resolve();
  /** The session's history as it is recorded (what a panel opening the run draws). */
  session: RecordedSession | null = null;

  /** Moves the state on one of the run's events; true when the state changed. */
  apply(event: JobEvent): boolean {
    const common = CommonEvent.safeParse(event);
    if (!common.success) return false;
    const before = this.state;
    // A run of several workers names the worker (and its device) in its events; the contract's common shape does not carry them.
    const { worker: rawWorker, device: rawDevice } = event as { worker?: unknown; device?: unknown };
    const worker = typeof rawWorker === 'string' ? rawWorker : null;
    switch (common.data.kind) {
      case 'runtime':
        this.runtimePid = common.data.pid;
        this.runtimes.set(worker, { pid: common.data.pid, device: typeof rawDevice === 'string' ? rawDevice : null, allocated: null, reserved: null, peak: null });
        if (this.state === 'starting') this.state = this.control.paused ? 'paused' : 'running';
        break;
      case 'memory':
        this.allocated = common.data.allocated;
        {
          const runtime = this.runtimes.get(worker);
          if (runtime) Object.assign(runtime, { allocated: common.data.allocated, reserved: common.data.reserved, peak: common.data.peak });
        }
        break;
      case 'paused':
        this.pauseReason = common.data.reason ?? null;
        if (this.state !== 'stopping' && this.state !== 'ended') this.state = 'paused';
        break;
      case 'resumed':
        this.pauseReason = null;
        if (this.state !== 'stopping' && this.state !== 'ended') this.state = 'running';
        break;
      default:
        break;
    }
    return this.state !== before;
  }

  stop(): void {
    if (this.state !== 'ended') this.state = 'stopping';
    this.abort.abort();
  }

  end(): void {
    this.state = 'ended';
    this.runtimePid = null;
    this.runtimes.clear();
  }

  /** The phase line only this panel knows (the run's own events word the rest): undefined while it simply runs. */
  get phase(): string | undefined {
    switch (this.state) {
      case 'starting':
        return 'starting the runtime';
      case 'paused':
        return this.pauseReason === null ? 'paused by you' : `paused: ${this.pauseReason}`;
      case 'stopping':
        return 'stopping';
      default:
        return undefined;
    }
  }

  /** The panel's word for the state: a run starting or stopping is still running. */
  get status(): 'running' | 'paused' {
    return this.state === 'paused' ? 'paused' : 'running';
  }
}
