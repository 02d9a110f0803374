/**
 * One question to a short-lived runtime: start it, hello, send one command, wait
 * for its answer, shut it down. The trials job asks this way before a run folder
 * exists (`trials_check`) and for the New sweep form's preview (`inspect_data`).
 * A `bad_input` error is the user's (exit 2, its message names the file, column
 * or key); anything else is Headroom's.
 */
import type { EngineToRuntime, RuntimeEvent, RuntimeToEngine } from '../../contract/protocol.js';
import { HeadroomError } from '../../errors.js';
import { describeExit, RuntimeProcess } from '../../supervisor/runtimeProcess.js';
import type { RuntimeOptions } from '../job.js';

export async function askRuntime<T extends RuntimeToEngine['type']>(command: EngineToRuntime, answer: T, runtime: RuntimeOptions): Promise<RuntimeEvent<T>> {
  const process = RuntimeProcess.start({ python: runtime.python, env: runtime.env });
  try {
    await process.handshake();
    process.send(command);
    for (;;) {
      const item = await process.next();
      if (item.kind === 'exit') throw new HeadroomError('internal', `the Python runtime ended before it answered ${command.type}: ${describeExit(item.exit)}`);
      const event = item.event;
      if (event.type === answer) {
        await process.stop();
        return event as RuntimeEvent<T>;
      }
      if (event.type === 'error' && (event.fatal || event.code === 'bad_input')) {
        throw new HeadroomError(event.code === 'bad_input' ? 'bad_input' : 'internal', event.message);
      }
    }
  } finally {
    process.kill();
  }
}
