/**
 * Derives the JSON Schema the Python runtime validates against from the zod
 * contract. `--check` fails when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EngineToRuntime, PROTOCOL_VERSION, RuntimeToEngine } from './protocol.js';

export const SCHEMA_PATH = fileURLToPath(
  new URL('../../../python-runtime/headroom_runtime/protocol.schema.json', import.meta.url),
);

export function protocolJsonSchema(): string {
  const schema = {
    $comment: 'Generated from worker/src/contract/protocol.ts by `npm run schema`. Do not edit.',
    protocol: PROTOCOL_VERSION,
    engineToRuntime: z.toJSONSchema(EngineToRuntime),
    runtimeToEngine: z.toJSONSchema(RuntimeToEngine),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

function main(check: boolean): number {
  const fresh = protocolJsonSchema();
  if (!check) {
    writeFileSync(SCHEMA_PATH, fresh);
    return 0;
  }
  let current = '';
  try {
    current = readFileSync(SCHEMA_PATH, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== fresh) {
    console.error(`${SCHEMA_PATH} is out of date with worker/src/contract/protocol.ts: run \`npm run schema\`.`);
    return 1;
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.includes('--check'));
}
