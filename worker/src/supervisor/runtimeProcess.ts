/**
 * Supervises one Python runtime: JSON lines over stdin/stdout, every line
 * validated against the contract, stderr kept as logs. The runtime runs in its
 * own process group, and the whole group is killed: a stray child holds VRAM.
 * A runtime that falls silent (no line, not even its one-a-second heartbeat) for
 * the heartbeat timeout is hung: its group is killed and its exit says so.
 */
import { basename, dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { EngineToRuntime, PROTOCOL_VERSION, RuntimeToEngine } from '../contract/protocol.js';
import { HeadroomError } from '../errors.js';
import { pythonExecutable, RUNTIME_DIR } from '../runtimePaths.js';

export type RuntimeExitReason = 'clean' | 'crashed' | 'killed' | 'hung';

export interface RuntimeExit {
  reason: RuntimeExitReason;
  code: number | undefined;
  signal: string | undefined;
  /** The last lines the runtime wrote to stderr, for error messages. */
  stderrTail: string[];
  /** When reason is 'hung': how long it was silent, and the limit it passed. */
  silentMs?: number;
  timeoutMs?: number;
}

export type RuntimeItem = { kind: 'event'; event: RuntimeToEngine } | { kind: 'exit'; exit: RuntimeExit };

export interface RuntimeProcessOptions {
  python?: string;
  env?: NodeJS.ProcessEnv;
  onLog?: (line: string) => void;
  /** Silence that makes the runtime hung; default heartbeatTimeoutMs(). */
  heartbeatTimeoutMs?: number;
}

/**
 * How long a runtime may send nothing before it counts as hung: 120 s by default,
 * HEADROOM_HEARTBEAT_TIMEOUT_S to change it. The worker's heartbeat thread keeps
 * talking through model loads, so only a long GIL-holding call or a stopped or
 * wedged process gets near it; 120 s leaves a slow disk or a big model ample room.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 120_000;
/** Hung runtimes in a row (nothing finished in between) before a job stops, resumable (exit 3); each hang starts a fresh runtime. */
export const MAX_HANGS_IN_A_ROW = 3;
/** Before its first line the runtime imports torch and says nothing: at least this long. */
const STARTUP_ALLOWANCE_MS = 120_000;
const HEARTBEAT_ENV = 'HEADROOM_HEARTBEAT_TIMEOUT_S';

/**
 * The environment of a run's runtimes: HEADROOM_RUN_ID and HEADROOM_RUNS_DIR added, so
 * any monitor can map a PID to its run (panel/headroomProcesses.ts reads them in
 * /proc; a runtime's children inherit them). Jobs pass this as their runtimes' env.
 */
export function runEnv(runDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dir = resolve(runDir);
  return { ...env, HEADROOM_RUN_ID: basename(dir), HEADROOM_RUNS_DIR: dirname(dir) };
}

export function heartbeatTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[HEARTBEAT_ENV]?.trim();
  if (!raw) return DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new HeadroomError('usage', `${HEARTBEAT_ENV} must be a number of seconds above 0 (at most 86400), not "${raw}"`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

const STDERR_TAIL = 40;
const live = new Set<RuntimeProcess>();
process.on('exit', () => {
  for (const runtime of live) runtime.kill();
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export function describeExit(exit: RuntimeExit): string {
  const how =
    exit.reason === 'hung'
      ? `sent nothing for ${seconds(exit.silentMs ?? 0)} (the limit is ${seconds(exit.timeoutMs ?? 0)}) and was killed as hung`
      : exit.signal
        ? `was killed by ${exit.signal}`
        : `exited with code ${exit.code ?? '?'}`;
  const tail = exit.stderrTail.slice(-5).join('\n  ');
  return `the Python runtime ${how}${tail ? `; its last log lines:\n  ${tail}` : ''}`;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export class RuntimeProcess {
  readonly pid: number;
  readonly exited: Promise<RuntimeExit>;
  private readonly queue: RuntimeItem[] = [];
  private wake: (() => void) | undefined;
  private readonly stderrTail: string[] = [];
  private stopping = false;
  private readonly timeoutMs: number;
  private readonly tickMs: number;
  private lastLine = performance.now();
  private lastTick = performance.now();
  private heard = false;
  private hung: { silentMs: number; timeoutMs: number } | undefined;
  private readonly watchdog: NodeJS.Timeout;

  private constructor(private readonly child: ResultPromise, options: RuntimeProcessOptions) {
    if (child.pid === undefined) throw new HeadroomError('internal', 'the Python runtime did not start');
    this.pid = child.pid;
    live.add(this);
    this.timeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.tickMs = Math.max(50, Math.min(1_000, this.timeoutMs / 4));
    this.watchdog = setInterval(() => this.checkAlive(), this.tickMs);
    this.watchdog.unref();
    child.stdin?.on('error', () => undefined); // EPIPE after a crash; the exit reports it
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lastLine = performance.now();
      this.heard = true;
      this.onLine(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      options.onLog?.(line);
    });
    this.exited = child.then((result) => {
      live.delete(this);
      clearInterval(this.watchdog);
      killGroup(this.pid, 'SIGKILL'); // anything the runtime left behind in its group
      const signal = result.signal ?? undefined;
      const reason: RuntimeExitReason = this.hung ? 'hung' : signal ? (this.stopping ? 'killed' : 'crashed') : result.exitCode === 0 ? 'clean' : 'crashed';
      const exit: RuntimeExit = { reason, code: result.exitCode, signal, stderrTail: [...this.stderrTail], ...this.hung };
      this.push({ kind: 'exit', exit });
      return exit;
    });
  }

  static start(options: RuntimeProcessOptions = {}): RuntimeProcess {
    const python = options.python ?? pythonExecutable();
    const base = options.env ?? process.env;
    const timeoutMs = options.heartbeatTimeoutMs ?? heartbeatTimeoutMs(base); // a bad value stops before any spawn
    const child = execa(python, ['-m', 'headroom_runtime'], {
      detached: true, // own process group, killed as a whole
      buffer: false,
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      extendEnv: false,
      env: {
        ...base,
        HEADROOM_PARENT_PID: String(process.pid),
        PYTHONPATH: [RUNTIME_DIR, base.PYTHONPATH].filter(Boolean).join(':'),
        PYTHONUNBUFFERED: '1',
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        HF_HUB_DISABLE_PROGRESS_BARS: '1',
        TOKENIZERS_PARALLELISM: 'false',
      },
    });
    return new RuntimeProcess(child, { ...options, heartbeatTimeoutMs: timeoutMs });
  }

  /** True once the watchdog has killed this runtime as hung. */
  get isHung(): boolean {
    return this.hung !== undefined;
  }

  /** Kills the group of a runtime silent past its limit; the exit then reads 'hung'. */
  private checkAlive(): void {
    const now = performance.now();
    // A late tick means the Engine's own event loop was blocked: lines may be waiting
    // unread. Judge on the next tick, after they have been read.
    const late = now - this.lastTick > this.tickMs * 3;
    this.lastTick = now;
    if (late || this.hung || this.stopping) return;
    const limit = this.heard ? this.timeoutMs : Math.max(this.timeoutMs, STARTUP_ALLOWANCE_MS);
    const silentMs = now - this.lastLine;
    if (silentMs <= limit) return;
    this.hung = { silentMs: Math.round(silentMs), timeoutMs: limit };
    killGroup(this.pid, 'SIGKILL'); // SIGKILL ends a stopped process too
  }

  private push(item: RuntimeItem): void {
    this.queue.push(item);
    this.wake?.();
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const parsed = RuntimeToEngine.safeParse(value);
    if (parsed.success && parsed.data.type === 'heartbeat') return; // its arrival was the news
    if (parsed.success) {
      this.push({ kind: 'event', event: parsed.data });
      return;
    }
    // A malformed line is an error event, never a crash of the Engine.
    const message = `malformed line from the runtime: ${line.slice(0, 200)}`;
    this.push({ kind: 'event', event: { type: 'error', code: 'bad_message', message, fatal: false, document: null } });
  }

  /** The next event, or the exit once the runtime is gone. */
  async next(): Promise<RuntimeItem> {
    while (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    const item = this.queue.shift()!;
    if (item.kind === 'exit') this.queue.unshift(item); // the exit stays the last word
    return item;
  }

  send(message: EngineToRuntime): void {
    const checked = EngineToRuntime.parse(message);
    this.child.stdin?.write(`${JSON.stringify(checked)}\n`);
  }

  /**
   * Waits for `ready`; fails with the worker's own words if it dies first. A silent
   * runtime is caught sooner by the heartbeat watchdog; this bounds one that talks but never gets ready.
   */
  async handshake(timeoutMs = 300_000): Promise<Extract<RuntimeToEngine, { type: 'ready' }>> {
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION });
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      for (;;) {
        const item = await this.next();
        if (item.kind === 'exit') {
          // Killed from outside is an interruption (resumable); dying by itself is a fault.
          const kind = item.exit.signal ? 'interrupted' : 'internal';
          throw new HeadroomError(kind, `run interrupted: runtime failed to start: ${describeExit(item.exit)}`);
        }
        if (item.event.type === 'ready') return item.event;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asks for a clean exit, then escalates: SIGTERM, then SIGKILL, to the whole group. */
  async stop(graceMs = 10_000): Promise<RuntimeExit> {
    this.stopping = true;
    this.send({ type: 'shutdown' });
    const timers = [
      setTimeout(() => killGroup(this.pid, 'SIGTERM'), graceMs),
      setTimeout(() => killGroup(this.pid, 'SIGKILL'), graceMs + 3_000),
    ];
    try {
      return await this.exited;
    } finally {
      timers.forEach(clearTimeout);
    }
  }

  kill(): void {
    this.stopping = true;
    killGroup(this.pid, 'SIGKILL');
  }
}
