/**
 * The path and query of a raw HTTP request target, read without `new URL`, which
 * throws on `//`, `//x:y` and friends (one such request used to kill the server).
 * Only origin-form (`/path?query`) is accepted; absolute-form (`http://x/`),
 * authority-form and `*` are for proxies and get 400.
 */
export interface RequestTarget {
  /** Still percent-encoded, exactly as sent. */
  pathname: string;
  query: URLSearchParams;
}

export function parseTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || !raw.startsWith('/')) return null;
  const withoutFragment = raw.split('#', 1)[0]!;
  const mark = withoutFragment.indexOf('?');
  const pathname = mark === -1 ? withoutFragment : withoutFragment.slice(0, mark);
  // URLSearchParams never throws: a malformed escape stays as it was sent.
  const query = new URLSearchParams(mark === -1 ? '' : withoutFragment.slice(mark + 1));
  return { pathname, query };
}
