import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';

const looksLikePath = (model: string): boolean => /^(\.{1,2}\/|\/|~)/.test(model);

/** A folder-safe, stable name for a model: hub names keep their words, folders get a hash of their path. */
export function modelKey(model: string): string {
  const slug = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80);
  if (!looksLikePath(model)) return slug(model.replace('/', '__')) || 'model';
  const absolute = resolve(model);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 8);
  return `${slug(basename(absolute)) || 'model'}-${hash}`;
}

export { looksLikePath };
