/**
 * Signals to the CLI. The first SIGINT, SIGTERM, SIGHUP or SIGQUIT asks the command to stop:
 * a run kills its runtime, journals run_interrupted and exits 3. Any later signal is
 * noted and ignored, so a second Ctrl-C or `kill` cannot cut the journal short (the
 * default action would end the process at once, exit 130 or 143, nothing written).
 * With nothing to stop, the CLI leaves at once, exit 3.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export interface SignalGuard {
  /** While a run works the first signal calls `stop`; returns the function that ends this. */
  whileRunning(stop: () => void): () => void;
  dispose(): void;
}

export function guardSignals(exitNow: (signal: NodeJS.Signals) => void, notice: (text: string) => void): SignalGuard {
  let stopper: (() => void) | undefined;
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      notice(`${signal} again: still stopping, the run's journal is being written`);
      return;
    }
    stopping = true;
    if (stopper) {
      notice(`${signal}: stopping; the run stays resumable`);
      stopper();
      return;
    }
    // Another part of the command stops on this signal itself (`serve` closes its runs first).
    if (process.listenerCount(signal) > 1) return;
    exitNow(signal);
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return {
    whileRunning(stop) {
      stopper = stop;
      if (stopping) stop(); // a signal came while the run was being set up
      return () => {
        if (stopper === stop) stopper = undefined;
      };
    },
    dispose() {
      for (const signal of SIGNALS) process.off(signal, handler);
    },
  };
}
