/**
 * Plan 9 dial strings: `unix!PATH`, `tcp!HOST!PORT` (`net!` is read as tcp). For servers
 * `tcp!PORT` means loopback and `tcp!*!PORT` every interface; a bare `HOST` or `HOST!PORT` dials
 * tcp with the 9fs port 564 by default, as plan9port does.
 */
export type DialAddress = { net: 'unix'; path: string } | { net: 'tcp'; host: string; port: number };

export class DialError extends Error {
  override readonly name = 'DialError';
}

function port(s: string, whole: string): number {
  const p = s === '9fs' ? 564 : Number(s);
  if (s === '' || !Number.isInteger(p) || p < 0 || p > 65535) {
    throw new DialError(`dial string "${whole}": port "${s}" is not 0..65535`);
  }
  return p;
}

export function parseDial(s: string): DialAddress {
  const parts = s.split('!');
  const net = parts.length > 1 ? parts[0] : '';
  if (net === 'unix') {
    const path = s.slice(5);
    if (!path) throw new DialError(`dial string "${s}": unix needs a path (unix!PATH)`);
    return { net: 'unix', path };
  }
  if (net === 'tcp' || net === 'net') {
    if (parts.length === 2) return { net: 'tcp', host: '127.0.0.1', port: port(parts[1]!, s) };
    if (parts.length !== 3 || !parts[1]) throw new DialError(`dial string "${s}": expected tcp!HOST!PORT`);
    return { net: 'tcp', host: parts[1] === '*' ? '0.0.0.0' : parts[1]!, port: port(parts[2]!, s) };
  }
  if (parts.length === 1 && s) return { net: 'tcp', host: s, port: 564 };
  if (parts.length === 2 && parts[0]) return { net: 'tcp', host: parts[0]!, port: port(parts[1]!, s) };
  throw new DialError(`dial string "${s}": expected unix!PATH or tcp!HOST!PORT`);
}

export function formatDial(a: DialAddress): string {
  return a.net === 'unix' ? `unix!${a.path}` : `tcp!${a.host}!${a.port}`;
}
