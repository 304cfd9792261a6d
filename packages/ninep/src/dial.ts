/**
 * Plan 9 dial strings, the one address form of vmw9 (every package parses them here; the module
 * loads nothing else, so it is exported alone as `ninep/dial`):
 *  - `unix!PATH`: PATH is everything after the first `!`, so it may contain `!` itself;
 *  - `tcp!HOST!PORT` (`net!` is read as tcp); for servers HOST `*` means every interface;
 *  - `tcp!PORT`: loopback, for servers that should not be reached from elsewhere;
 *  - a bare `HOST` or `HOST!PORT`: tcp, with the 9fs port 564 by default, as plan9port's 9p
 *    takes them. Callers whose argument must name its network turn these off (`bare: false`);
 *  - a bare path (anything with a `/` and no network prefix, which no host name has): a Unix
 *    socket, so `/run/vmw9/vmware.sock` means what a user means by it.
 * PORT is a decimal 0..65535 or `9fs` (564).
 */
export type DialAddress = { net: 'unix'; path: string } | { net: 'tcp'; host: string; port: number };

/** A string that is not a dial string; `dial` is the string as given, `reason` what is wrong with it. */
export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly dial: string,
    readonly reason: string,
  ) {
    super(`dial string "${dial}": ${reason}`);
  }
}

export interface DialOptions {
  /** Accept the bare `HOST` and `HOST!PORT` forms (default true). */
  bare?: boolean;
}

/** The 9P port, "9fs" in Plan 9's /lib/ndb/common. */
const NINEP_PORT = 564;

const EXPECTED = 'expected unix!PATH or tcp!HOST!PORT';

/** The network a string names by its prefix (`unix!`, `tcp!`, `net!`), without checking the rest. */
export function dialNet(s: string): DialAddress['net'] | undefined {
  if (s.startsWith('unix!')) return 'unix';
  if (s.startsWith('tcp!') || s.startsWith('net!')) return 'tcp';
  return undefined;
}

export function parseDial(s: string, opts: DialOptions = {}): DialAddress {
  const net = dialNet(s);
  if (net === 'unix') {
    const path = s.slice('unix!'.length);
    if (!path) throw new DialError(s, 'unix needs a path (unix!PATH)');
    return { net: 'unix', path };
  }
  if (net === undefined && s.includes('/')) return { net: 'unix', path: s };
  const parts = s.split('!');
  if (net === 'tcp') {
    if (parts.length === 2) return { net: 'tcp', host: '127.0.0.1', port: port(parts[1]!, s) };
    if (parts.length !== 3 || !parts[1]) throw new DialError(s, 'expected tcp!HOST!PORT or tcp!PORT');
    return { net: 'tcp', host: parts[1] === '*' ? '0.0.0.0' : parts[1]!, port: port(parts[2]!, s) };
  }
  if (opts.bare !== false) {
    if (parts.length === 1 && s) return { net: 'tcp', host: s, port: NINEP_PORT };
    if (parts.length === 2 && parts[0]) return { net: 'tcp', host: parts[0], port: port(parts[1]!, s) };
  }
  throw new DialError(s, EXPECTED);
}

/**
 * An argument that names a Unix socket by a plain path or by any dial string: a string with a
 * network prefix is parsed as a dial string, anything else (`/run/x.sock`, `a!b`) is a socket path.
 */
export function parseDialOrPath(s: string): DialAddress {
  if (dialNet(s)) return parseDial(s);
  if (!s) throw new DialError(s, `${EXPECTED}, or a socket path`);
  return { net: 'unix', path: s };
}

export function formatDial(a: DialAddress): string {
  return a.net === 'unix' ? `unix!${a.path}` : `tcp!${a.host}!${a.port}`;
}

function port(s: string, whole: string): number {
  const p = s === '9fs' ? NINEP_PORT : /^\d{1,5}$/.test(s) ? Number(s) : Number.NaN;
  if (!(p >= 0 && p <= 65535)) throw new DialError(whole, `port "${s}" is not 0..65535`);
  return p;
}

/**
 * Whether an address is reachable only from this machine: a Unix socket, or TCP on a loopback
 * address (127.0.0.0/8, ::1, localhost). Servers warn when asked to listen anywhere else.
 */
export function isLocalOnly(a: DialAddress): boolean {
  if (a.net === 'unix') return true;
  const h = a.host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
