import type { RunState } from '../../../worker/src/contract/api.ts';

/** A badge colour per state; typed by the contract's RunState, so a new state is a type error here until it has one. */
export const STATUS_COLOR: Record<RunState, string> = {
  created: 'gray',
  running: 'blue',
  paused: 'yellow',
  interrupted: 'orange',
  failed: 'red',
  done: 'green',
  unknown: 'gray',
};
