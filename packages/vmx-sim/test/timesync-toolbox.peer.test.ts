/**
 * Unmodified `vmware-toolbox-cmd timesync` under vmx-trap against the simulated host: status reads
 * the GETGUIOPTIONS bit, enable/disable send `vmx.set_option synctime OLD NEW` and the host's bit
 * follows (docs/protocol/guestrpc.md §11.1).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimServer, serveHost, VmxHost } from '../src/index.js';
import { GUI_SYNC_TIME } from '../src/tools-options.js';
import { Peers, skipReason as reasonToSkip, TRAP, until, which } from './peer-harness.js';

const skipReason = reasonToSkip([
  ['vmx-trap (pnpm build)', existsSync(TRAP)],
  ['vmware-toolbox-cmd (open-vm-tools)', which('vmware-toolbox-cmd')],
]);

describe.skipIf(skipReason !== undefined)(
  `unmodified vmware-toolbox-cmd timesync under vmx-trap${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  { timeout: 120_000 },
  () => {
    let dir: string;
    let host: VmxHost;
    let server: SimServer;
    const peers = new Peers();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'timesync-peer-'));
      host = new VmxHost({ facts: { guiOptions: 0x10 } });
      server = await serveHost(host, join(dir, 'host.sock'));
    });
    afterAll(async () => {
      await peers.stop();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function timesync(sub: string): Promise<{ code: number | null; out: string }> {
      const child = peers.trapped(join(dir, 'host.sock'), ['vmware-toolbox-cmd', 'timesync', sub]);
      const code = await until(`vmware-toolbox-cmd timesync ${sub} to exit`, () =>
        child.exitCode !== null ? { code: child.exitCode } : child.signalCode ? { code: null } : undefined,
      );
      await new Promise((r) => (child.stdout!.readableEnded ? r(0) : child.stdout!.once('end', r)));
      return { code: code.code, out: peers.tail(child, 2000) };
    }

    it('status, enable, status, disable: the host bit and the printed words agree', async () => {
      expect(await timesync('status')).toEqual({ code: 69, out: 'Disabled\n' });
      expect(await timesync('enable')).toEqual({ code: 0, out: 'Enabled\n' });
      expect(host.facts.guiOptions & GUI_SYNC_TIME).toBe(GUI_SYNC_TIME);
      expect(host.rpci.history.map((r) => r.request.toString('latin1'))).toContain(
        'vmx.set_option synctime 0 1',
      );
      expect(await timesync('status')).toEqual({ code: 0, out: 'Enabled\n' });
      expect(await timesync('disable')).toEqual({ code: 0, out: 'Disabled\n' });
      expect(host.facts.guiOptions & GUI_SYNC_TIME).toBe(0);
    });
  },
);
