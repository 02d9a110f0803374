/**
 * Which addresses count as loopback, and which Host headers the server answers to.
 * The printed URL must always work: whatever address it binds (127.0.0.2, ::1,
 * 0:0:0:0:0:0:0:1), its own name for itself is allowed, beside the usual
 * loopback names; any other Host (DNS rebinding) is refused.
 */
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6'); // BlockList also matches ::ffff:127.x.y.z

export function isLoopback(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost') return true;
  const family = isIP(name);
  return family !== 0 && loopback.check(name, family === 6 ? 'ipv6' : 'ipv4');
}

/** A host as it appears in a URL or a Host header: IPv6 in brackets. */
export const urlHost = (host: string): string => (isIP(host) === 6 ? `[${host.toLowerCase()}]` : host.toLowerCase());

/**
 * The Host values the server answers to, with its port: the host asked for, the
 * address actually bound (Node's canonical form, e.g. ::1 for 0:0:0:0:0:0:0:1),
 * and, for a loopback bind, the loopback names browsers use.
 */
export function allowedHosts(requested: string, bound: string, port: number): Set<string> {
  const names = new Set([urlHost(requested), urlHost(bound)]);
  if (isLoopback(requested)) for (const name of ['127.0.0.1', 'localhost', '[::1]']) names.add(name);
  return new Set([...names].map((name) => `${name}:${port}`));
}

/** The Host header of a request, lower-cased (host names are case-insensitive), or '' when absent. */
export const hostOf = (header: string | undefined): string => (typeof header === 'string' ? header.toLowerCase() : '');
