/**
 * Real peer: the host's drag-and-drop controller against unmodified `vmtoolsd -n vmusr` (Debian's
 * open-vm-tools-desktop: its dndcp plugin, and the hgfsServer plugin serving `toolbox-dnd`) under
 * its own Xvfb display and vmx-trap (docs/testing.md §6; docs/protocol/dndcp.md, "Host side", Drag
 * and drop). A text drag begun and cancelled, the exit query, a file drop whose files the host
 * writes through vmusr's own HGFS server into the staging directory vmusr names, and a drop the
 * host reports failed. vmusr's staging root is put under this test's directory with XDG_CACHE_HOME.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cmd, CpFormat, DND_CAPS, MsgSrc, MsgType, readHeader, textItem } from '@vmw9/dndcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DropOutcome, type SimServer, serveHost, VmxHost } from '../src/index.js';
import { DNDCP_PLUGIN, HGFS_PLUGIN, Peers, skipReason, TRAP, until, which } from './peer-harness.js';

const skip = skipReason([
  ['vmx-trap (pnpm build)', existsSync(TRAP)],
  ['vmtoolsd (open-vm-tools)', which('vmtoolsd')],
  [`${DNDCP_PLUGIN} (open-vm-tools-desktop)`, existsSync(DNDCP_PLUGIN)],
  [`${HGFS_PLUGIN} (open-vm-tools)`, existsSync(HGFS_PLUGIN)],
  ['Xvfb (xvfb)', which('Xvfb')],
]);

/** Path → sha256 of every file under `dir` ('dir' for folders). */
function digest(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(join(dir, p)).isDirectory()) Object.assign(out, { [`${p}/`]: 'dir' }, digest(dir, p));
    else
      out[p] = createHash('sha256')
        .update(readFileSync(join(dir, p)))
        .digest('hex');
  }
  return out;
}

describe.skipIf(skip !== undefined)(
  `drag and drop with unmodified vmtoolsd -n vmusr under Xvfb and vmx-trap${skip ? ` (skipped: ${skip})` : ''}`,
  { timeout: 180_000 },
  () => {
    let dir: string;
    let host: VmxHost;
    let server: SimServer;
    let peers: Peers;
    let vmusr: ChildProcess;
    /** The /tmp/VMwareDnD/XXXXXX links vmusr made for our drops (removed after). */
    const links: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vmx-dnd-vmusr-'));
      host = new VmxHost();
      server = await serveHost(host, join(dir, 'host.sock'));
      peers = new Peers();
      const display = await peers.xvfb();
      vmusr = peers.trapped(server.path, ['vmtoolsd', '-n', 'vmusr'], {
        DISPLAY: display,
        XDG_CACHE_HOME: join(dir, 'cache'),
      });
      await until(
        `vmusr's drag-and-drop PING (vmusr said: ${peers.tail(vmusr)})`,
        () => host.dnd.active && host.guestHgfs.servers().includes('toolbox-dnd'),
        60_000,
      );
      // vmusr pings again when it re-registers 300 ms after the reset: wait for the pings to stop.
      let pings = host.dnd.stats.pings;
      let since = Date.now();
      await until('the pings to stop', () => {
        if (host.dnd.stats.pings !== pings) [pings, since] = [host.dnd.stats.pings, Date.now()];
        return Date.now() - since > 1000;
      });
    }, 120_000);

    afterAll(async () => {
      await peers?.stop();
      await server?.close();
      for (const l of links) rmSync(l, { force: true });
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The staging directory of a drop: its /tmp/VMwareDnD link, remembered for the clean-up. */
    function staged(o: DropOutcome): string {
      const path = o.staging!.guestPath;
      links.push(path);
      return path;
    }

    /** READY again: a QUERY_EXITING is answered (in any other state vmusr resets without a word). */
    async function expectReady(): Promise<void> {
      const t = await host.dnd.take();
      expect(t.result).toBe('nothing-offered');
    }

    it('negotiates drag-and-drop version 4: PING p1 = 4, p3 = 0x0aab (type 3, src 1); serves HGFS as toolbox-dnd', () => {
      const pings = host.rpci.history
        .filter((h) => h.command === 'dnd.transport')
        .map((h) => readHeader(h.request.subarray('dnd.transport '.length)))
        .filter((h) => h.cmd === Cmd.PING);
      expect(pings.length).toBeGreaterThanOrEqual(1);
      expect(pings[0]).toMatchObject({ type: MsgSrc.GUEST, src: MsgType.DND, sessionId: 0, binarySize: 0 });
      expect(pings[0]!.params.slice(0, 3)).toEqual([4, 0, DND_CAPS]);
      expect(host.dnd.negotiated).toMatchObject({ version: 4, guestCaps: DND_CAPS, caps: DND_CAPS });
      expect(host.guestHgfs.registered.get('toolbox-dnd')).toBe(true);
    });

    it('a text drag begun and cancelled: SRC_DRAG_BEGIN_DONE {4, 0} in the session, then SRC_CANCEL back to READY', async () => {
      const clip = { items: new Map([[CpFormat.TEXT, textItem('dragged from the host')]]), changed: true };
      const o = await host.dnd.drop(clip, { cancelAfterBegin: true });
      expect(o.result).toBe('cancelled');
      const done = o.messages.find((m) => m.cmd === Cmd.DND_SRC_DRAG_BEGIN_DONE)!;
      expect(done).toMatchObject({ dir: 'guest→host', sessionId: o.sessionId, status: 0 });
      expect(done.params).toEqual([4, 0, 0, 0, 0, 0]);
      expect(o.messages.map((m) => m.name)).toEqual([
        'DND_SRC_DRAG_BEGIN',
        'DND_SRC_DRAG_BEGIN_DONE',
        'DND_SRC_CANCEL',
      ]);
      await expectReady();
    });

    it('QUERY_EXITING with no drag in the guest: DRAG_NOT_PENDING in the same session, after its 500 ms ungrab timer', async () => {
      const t0 = Date.now();
      const t = await host.dnd.take(undefined, { x: 640, y: 512 });
      const elapsed = Date.now() - t0;
      expect(t.result).toBe('nothing-offered');
      const answer = t.messages.find((m) => m.dir === 'guest→host')!;
      expect(answer).toMatchObject({ cmd: Cmd.DND_DRAG_NOT_PENDING, sessionId: t.sessionId, status: 0 });
      expect(answer.params).toEqual([0, 0, 0, 0, 0, 0]);
      // A lower bound only: vmusr's UNGRAB_TIMEOUT (guestDnD.hh) runs from the query's arrival.
      expect(elapsed).toBeGreaterThanOrEqual(500);
    });

    it('a file drop: SRC_DROP_DONE names /tmp/VMwareDnD/XXXXXX; the host writes the files through vmusr’s HGFS server; GET_FILES_DONE 0', async () => {
      const src = join(dir, 'host');
      mkdirSync(join(src, 'a folder', 'inner'), { recursive: true });
      const big = Buffer.alloc(1_200_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
      writeFileSync(join(src, 'a folder', 'inner', 'big.bin'), big);
      writeFileSync(join(src, 'a folder', 'ünïcödé ✓.txt'), 'non-ASCII\n');
      writeFileSync(join(src, 'a folder', 'empty'), '');
      writeFileSync(join(src, 'loose.txt'), 'loose\n');
      const o = await host.dnd.drop([join(src, 'a folder'), join(src, 'loose.txt')], { x: 200, y: 150 });
      const path = staged(o);
      expect(o).toMatchObject({ result: 'done', getFilesDone: 0 });
      // The staging directory as dndXdg.c makes it: a /tmp/VMwareDnD/XXXXXX link to the real one
      // under $XDG_CACHE_HOME/vmware/drag_and_drop, named as a 25-byte CPName under `root`.
      expect(path).toMatch(/^\/tmp\/VMwareDnD\/[A-Za-z0-9]{6}$/);
      const name = path.split('/').at(-1)!;
      expect(o.staging!.components).toEqual(['root', 'tmp', 'VMwareDnD', name]);
      const doneMsg = o.messages.find((m) => m.cmd === Cmd.DND_SRC_DROP_DONE)!;
      expect(doneMsg.binaryBytes).toBe(25);
      expect(lstatSync(path).isSymbolicLink()).toBe(true);
      const real = join(dir, 'cache', 'vmware', 'drag_and_drop', name);
      expect(readlinkSync(path)).toBe(real);
      expect(statSync(real).mode & 0o777).toBe(0o700);
      // Byte for byte, through the link.
      expect(digest(real)).toEqual(digest(src));
      // The messages: vmusr's UPDATE_FEEDBACK comes between the drop and its SRC_DROP_DONE.
      expect(o.messages.map((m) => `${m.dir} ${m.name}`)).toEqual([
        'host→guest DND_SRC_DRAG_BEGIN',
        'guest→host DND_SRC_DRAG_BEGIN_DONE',
        'host→guest DND_SRC_DROP',
        'guest→host DND_UPDATE_FEEDBACK',
        'guest→host DND_SRC_DROP_DONE',
        'host→guest DND_GET_FILES_DONE',
      ]);
      expect(o.messages.every((m) => m.sessionId === o.sessionId)).toBe(true);
      // vmusr's HGFS server answered every request SUCCESS, in the order docs/protocol/dndcp.md gives.
      const t = o.transfer!;
      expect(t).toMatchObject({ app: 'toolbox-dnd', result: 'done', files: 4, dirs: 2, packetSize: 522240 });
      expect(t.statuses).toEqual({ SUCCESS: t.requests.length });
      expect(
        t.requests
          .map((r) => r.opName)
          .join(' ')
          .replace(/(WRITE_V3 )+/g, 'WRITE_V3… '),
      ).toBe(
        'CREATE_SESSION_V4 CREATE_DIR_V3 OPEN_V3 CLOSE_V3 CREATE_DIR_V3 OPEN_V3 WRITE_V3… CLOSE_V3 ' +
          'OPEN_V3 WRITE_V3… CLOSE_V3 OPEN_V3 WRITE_V3… CLOSE_V3 DESTROY_SESSION_V4',
      );
      await expectReady();
    });

    it('GET_FILES_DONE 1 after a write outside the staging directory: vmusr took the write (its share is `/`), and deletes what it staged', async () => {
      const src = join(dir, 'host2');
      mkdirSync(src);
      writeFileSync(join(src, 'x.txt'), 'x\n');
      const elsewhere = join(dir, 'elsewhere');
      mkdirSync(elsewhere);
      const o = await host.dnd.drop([join(src, 'x.txt')], {
        fault: { kind: 'outside', how: 'absolute', dir: elsewhere.split('/').filter(Boolean) },
      });
      const path = staged(o);
      expect(o.outside).toMatchObject({ how: 'absolute', escaped: true });
      expect(o.outside!.requests.map((r) => `${r.opName} ${r.statusName}`)).toEqual([
        'OPEN_V3 SUCCESS',
        'WRITE_V3 SUCCESS',
        'CLOSE_V3 SUCCESS',
      ]);
      expect(readFileSync(join(elsewhere, 'vmw9-escape.txt'), 'utf8')).toMatch(/outside the staging/);
      expect(o).toMatchObject({ result: 'failed', getFilesDone: 1 });
      // CleanStagingFiles(false) → DnD_DeleteStagingFiles: the staged file is gone.
      const real = readlinkSync(path);
      await until('vmusr to delete the staged files', () => !existsSync(join(real, 'x.txt')), 10_000);
      await expectReady();
    });
  },
);
