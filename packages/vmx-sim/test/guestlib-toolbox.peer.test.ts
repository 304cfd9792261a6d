/**
 * Unmodified `vmware-toolbox-cmd stat` (open-vm-tools' libguestlib) under vmx-trap against the
 * simulated host: it prints exactly the statistics set on the host, over V3 and over V2, the new
 * session id after a change, and Workstation's error and exit status when the Guest API is off
 * (docs/protocol/guestlib.md).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimServer, serveHost, VmxHost } from '../src/index.js';
import { Peers, skipReason as reasonToSkip, TRAP, until, which } from './peer-harness.js';

const skipReason = reasonToSkip([
  ['vmx-trap (pnpm build)', existsSync(TRAP)],
  ['vmware-toolbox-cmd (open-vm-tools)', which('vmware-toolbox-cmd')],
]);

/** The values set on the host and what vmware-toolbox-cmd must print for each subcommand. */
const SET = {
  MEM_BALLOONED_MB: 321,
  MEM_SWAPPED_MB: 45,
  MEM_LIMIT_MB: 3072,
  MEM_RESERVATION_MB: 1024,
  CPU_RESERVATION_MHZ: 500,
  CPU_LIMIT_MHZ: 2600,
};
const PRINTED: Array<[string, string]> = [
  ['balloon', '321 MB\n'],
  ['swap', '45 MB\n'],
  ['memlimit', '3072 MB\n'],
  ['memres', '1024 MB\n'],
  ['cpures', '500 MHz\n'],
  ['cpulimit', '2600 MHz\n'],
  ['sessionid', '0x1234abcd5678ef90\n'],
];
/** sysexits.h: what vmware-toolbox-cmd stat returns when the host refuses (toolboxcmd-stat.c). */
const EX_TEMPFAIL = 75;

describe.skipIf(skipReason !== undefined)(
  `unmodified vmware-toolbox-cmd stat under vmx-trap${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  { timeout: 180_000 },
  () => {
    let dir: string;
    let host: VmxHost;
    let server: SimServer;
    const peers = new Peers();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gl-peer-'));
      host = new VmxHost({ guestlib: { sessionId: 0x1234abcd5678ef90n, stats: SET } });
      server = await serveHost(host, join(dir, 'host.sock'));
    });
    afterAll(async () => {
      await peers.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function stat(...args: string[]): Promise<{ code: number | null; out: string }> {
      const child = peers.trapped(join(dir, 'host.sock'), ['vmware-toolbox-cmd', 'stat', ...args]);
      const code = await until(`vmware-toolbox-cmd stat ${args.join(' ')} to exit`, () =>
        child.exitCode !== null ? { code: child.exitCode } : child.signalCode ? { code: null } : undefined,
      );
      // The output pipes may still hold the last bytes when the exit is seen.
      await new Promise((r) => (child.stdout!.readableEnded ? r(0) : child.stdout!.once('end', r)));
      return { code: code.code, out: peers.tail(child, 2000) };
    }

    it.each(PRINTED)('stat %s prints %j over V3', async (sub, printed) => {
      expect(await stat(sub)).toEqual({ code: 0, out: printed });
    });

    it('prints the same over V2, on a host older than V3', async () => {
      host.guestlib.maxVersion = 2;
      const before = host.guestlib.served[2];
      try {
        for (const [sub, printed] of PRINTED) expect(await stat(sub)).toEqual({ code: 0, out: printed });
        expect(host.guestlib.served[2] - before).toBe(PRINTED.length);
      } finally {
        host.guestlib.maxVersion = 3;
      }
    });

    it('prints a new session id after a session change, and a value changed on the host', async () => {
      host.guestlib.newSession(0xfeedn);
      host.guestlib.set('MEM_BALLOONED_MB', 4294967295);
      try {
        expect(await stat('sessionid')).toEqual({ code: 0, out: '0xfeed\n' });
        expect(await stat('balloon')).toEqual({ code: 0, out: '4294967295 MB\n' });
      } finally {
        host.guestlib.newSession(0x1234abcd5678ef90n);
        host.guestlib.set('MEM_BALLOONED_MB', SET.MEM_BALLOONED_MB);
      }
    });

    it('an invalid statistic: "Failed to get swapped memory: This value is not available on this host", 75', async () => {
      host.guestlib.invalidate('MEM_SWAPPED_MB');
      try {
        expect(await stat('swap')).toEqual({
          code: EX_TEMPFAIL,
          out: 'Failed to get swapped memory: This value is not available on this host\n',
        });
      } finally {
        host.guestlib.set('MEM_SWAPPED_MB', SET.MEM_SWAPPED_MB);
      }
    });

    it('stat raw: the category list, text session, and a refused statistic', async () => {
      expect(await stat('raw')).toEqual({ code: 0, out: 'session\n' });
      expect(await stat('raw', 'text', 'session')).toEqual({ code: 0, out: `id = ${0x1234abcd5678ef90n}\n` });
      expect(await stat('raw', 'json', 'vscsi', 'scsi0:0')).toEqual({
        code: EX_TEMPFAIL,
        out: 'Failed to get stat: This value is not available on this host\n',
      });
    });

    it('with the Guest API off (Workstation): "UpdateInfo failed: VMware Guest API is not enabled on the host", 75', async () => {
      host.guestlib.enabled = false;
      try {
        for (const [sub] of PRINTED)
          expect(await stat(sub)).toEqual({
            code: EX_TEMPFAIL,
            out: 'UpdateInfo failed: VMware Guest API is not enabled on the host\n',
          });
      } finally {
        host.guestlib.enabled = true;
      }
    });
  },
);
