/**
 * Says what answered on a socket that is not a simulated host. The usual mistake is pointing
 * `--host unix!PATH` at the agent's 9P socket (both are Unix sockets the user has lying around), so
 * the one guess worth making is 9P: a Tversion either draws an Rversion or it does not.
 */
import { createConnection } from 'node:net';
import { decode, encode, NOTAG } from 'ninep';

/** Resolves with the 9P version the peer at `path` agreed to, or null if it does not speak 9P. */
export function probeNinep(path: string, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    let got = Buffer.alloc(0);
    const done = (version: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(version);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('close', () => done(null));
    sock.on('connect', () =>
      sock.write(encode({ type: 'Tversion', msize: 8192, version: '9P2000' }, '9P2000', NOTAG)),
    );
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4) return;
      const size = got.readUInt32LE(0);
      if (size < 7 || size > 8192) return done(null);
      if (got.length < size) return;
      try {
        const m = decode(got.subarray(0, size), '9P2000');
        done(m.type === 'Rversion' ? m.version : null);
      } catch {
        done(null);
      }
    });
  });
}
