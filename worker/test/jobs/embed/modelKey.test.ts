import { describe, expect, it } from 'vitest';
import { modelKey } from '../../../src/jobs/embed/modelKey.js';

describe('modelKey', () => {
  it('keeps hub names readable and folder names distinct', () => {
    expect(modelKey('sentence-transformers/all-MiniLM-L6-v2')).toBe('sentence-transformers__all-MiniLM-L6-v2');
    expect(modelKey('/a/model')).not.toBe(modelKey('/b/model'));
    expect(modelKey('/a/model')).toMatch(/^model-[0-9a-f]{8}$/);
  });
});
