/**
 * Plan 9 dial strings, the address form used everywhere in vmw9: `unix!PATH`, `tcp!HOST!PORT`
 * (also `net!HOST!PORT`, read as tcp). Paths may contain `!`; only the first one separates.
 */
export type DialAddress = { net: 'unix'; path: string } | { net: 'tcp'; host: string; port: number };

export function parseDial(s: string): DialAddress {
  const i = s.indexOf('!');
  const net = i < 0 ? '' : s.slice(0, i);
  const rest = i < 0 ? '' : s.slice(i + 1);
  if (net === 'unix') {
    if (!rest) throw new Error(`dial string "${s}": unix needs a path (unix!PATH)`);
    return { net: 'unix', path: rest };
  }
  if (net === 'tcp' || net === 'net') {
    const j = rest.lastIndexOf('!');
    const host = j < 0 ? '' : rest.slice(0, j);
    const port = Number(j < 0 ? rest : rest.slice(j + 1));
    if (!host || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`dial string "${s}": expected tcp!HOST!PORT with a port 0..65535`);
    }
    return { net: 'tcp', host: host === '*' ? '0.0.0.0' : host, port };
  }
  throw new Error(`dial string "${s}": expected unix!PATH or tcp!HOST!PORT`);
}

export function formatDial(a: DialAddress): string {
  return a.net === 'unix' ? `unix!${a.path}` : `tcp!${a.host}!${a.port}`;
}
