/**
 * Steering a run while it works: pause, resume, the OOM policy and the ensemble
 * mode for the remaining work. The CLI's flags, and the panel's buttons, end here.
 */
import type { EnsembleMode, OomPolicy } from '../../contract/protocol.js';

export type ControlCommand =
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'oomPolicy'; policy: OomPolicy }
  | { kind: 'ensembleMode'; mode: EnsembleMode };

export class RunControl {
  private readonly listeners = new Set<(command: ControlCommand) => void>();
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

  setOomPolicy(policy: OomPolicy): void {
    this.emit({ kind: 'oomPolicy', policy });
  }

  setEnsembleMode(mode: EnsembleMode): void {
    this.emit({ kind: 'ensembleMode', mode });
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (command: ControlCommand) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(command: ControlCommand): void {
    for (const listener of this.listeners) listener(command);
  }
}
