/**
 * Steering a run while it works: pause, resume, and the kind's settings for the
 * remaining work (embed: the OOM policy and the ensemble mode). The CLI's flags
 * and the panel's buttons end here; the job listens.
 */
export type ControlCommand<Settings> = { kind: 'pause' } | { kind: 'resume' } | { kind: 'settings'; settings: Settings };

export class RunControl<Settings = unknown> {
  private readonly listeners = new Set<(command: ControlCommand<Settings>) => void>();
  private pausedNow = false;

  get paused(): boolean {
    return this.pausedNow;
  }

  pause(): void {
    this.pausedNow = true;
    this.emit({ kind: 'pause' });
  }

  resume(): void {
    this.pausedNow = false;
    this.emit({ kind: 'resume' });
  }

  change(settings: Settings): void {
    this.emit({ kind: 'settings', settings });
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (command: ControlCommand<Settings>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(command: ControlCommand<Settings>): void {
    for (const listener of this.listeners) listener(command);
  }
}
