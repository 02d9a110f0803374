/**
 * The New sweep form shows each family's default space: the same as the runtime's
 * (asked of the real Python runtime: trials_checked.spaces is built from the same
 * parse_spaces), so a default changed on one side and not the other fails here.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrialsFamily } from '../../../worker/src/contract/trialsProtocol.ts';
import { DEFAULT_SPACES } from '../../src/views/trials/space.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PROGRAM = `
import json
from headroom_runtime.trials.family_spaces import parse_spaces, spaces_json
print(json.dumps(spaces_json(parse_spaces(${JSON.stringify(TrialsFamily.options)}, None, None))))
`;

describe("the form's default spaces", () => {
  it("are the runtime's, family by family", () => {
    const out = execFileSync(join(ROOT, '.venv', 'bin', 'python'), ['-c', PROGRAM], { cwd: ROOT, env: { ...process.env, PYTHONPATH: join(ROOT, 'python-runtime') }, encoding: 'utf8' });
    const runtime = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(runtime)).toEqual(TrialsFamily.options);
    for (const family of TrialsFamily.options) expect(DEFAULT_SPACES[family], family).toEqual(runtime[family]);
  });
});
