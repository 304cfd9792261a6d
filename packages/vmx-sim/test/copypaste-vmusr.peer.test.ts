/**
 * Real peer: unmodified `vmtoolsd -n vmusr` (Debian's open-vm-tools-desktop, its dndcp plugin)
 * under its own Xvfb display and vmx-trap, against a vmx-sim host served from this test process,
 * with xclip as the X side of the clipboard. Copy/paste version 4 both ways, big messages, a PNG,
 * and a malformed packet (docs/testing.md §6; docs/protocol/dndcp.md, "Host side"). Skipped, saying
 * why, where vmtoolsd, libdndcp.so, Xvfb, xclip or the built vmx-trap are missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Cmd,
  CP_CAPS,
  CpFormat,
  type CpFormatId,
  DND_CAPS,
  DNDCP_PAYLOAD_MAX,
  encodeClipboard,
  encodePacket,
  MsgSrc,
  MsgType,
  NOT_CHANGED_CLIPBOARD,
  readHeader,
  Status,
  textItem,
} from '@vmw9/dndcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimServer, serveHost, VmxHost } from '../src/index.js';
import { decodePng, encodePng } from './png.js';

const trap = fileURLToPath(new URL('../../vmx-sim-linux-x64/vmx-trap', import.meta.url));
const DNDCP = '/usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/vmusr/libdndcp.so';
const which = (cmd: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
const missing = [
  ['vmx-trap (pnpm build)', existsSync(trap)],
  ['vmtoolsd (open-vm-tools)', which('vmtoolsd')],
  [`${DNDCP} (open-vm-tools-desktop)`, existsSync(DNDCP)],
  ['Xvfb (xvfb)', which('Xvfb')],
  ['xclip', which('xclip')],
]
  .filter(([, ok]) => !ok)
  .map(([what]) => what);
const skipReason =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? 'not Linux x86-64'
    : missing.length
      ? `missing ${missing.join(', ')}; packages/vmx-sim/install-deps.sh installs them`
      : undefined;

const running = (p: ChildProcess | undefined): p is ChildProcess =>
  p !== undefined && p.exitCode === null && p.signalCode === null;

async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = (s: string | Buffer) => ({
  items: new Map<CpFormatId, Buffer>([[CpFormat.TEXT, textItem(s)]]),
  changed: true,
});

describe.skipIf(skipReason !== undefined)(
  `unmodified vmtoolsd -n vmusr under Xvfb and vmx-trap${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  { timeout: 180_000 },
  () => {
    let dir: string;
    let host: VmxHost;
    let server: SimServer;
    let xvfb: ChildProcess;
    let vmusr: ChildProcess;
    let display = '';
    let vmusrLog = '';
    const timeline: string[] = [];

    /** xclip on our display: -o gives stdout; -i is fed `input` and forks to serve the selection. */
    function xclip(
      args: string[],
      input?: Buffer,
    ): Promise<{ code: number | null; out: Buffer; err: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn('xclip', args, {
          env: { ...process.env, DISPLAY: display },
          // xclip -i leaves a child serving the selection with our pipes open: read nothing then.
          stdio: input ? ['pipe', 'ignore', 'ignore'] : ['ignore', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        let err = '';
        child.stdout?.on('data', (d: Buffer) => out.push(d));
        child.stderr?.on('data', (d: Buffer) => (err += d));
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('error', reject);
        child.on(input ? 'exit' : 'close', (code) => {
          clearTimeout(kill);
          resolve({ code, out: Buffer.concat(out), err });
        });
        if (input) child.stdin!.end(input);
      });
    }
    const paste = async (selection: string, target?: string) =>
      (await xclip(['-o', '-selection', selection, ...(target ? ['-t', target] : [])])).out;
    /** Copies in the guest: xclip takes CLIPBOARD and PRIMARY (see the selection case below). */
    const copyInGuest = async (data: Buffer) => {
      await xclip(['-i', '-selection', 'clipboard'], data);
      await xclip(['-i', '-selection', 'primary'], data);
    };

    /** Copy/paste packets vmusr sent (RPCI), from `mark` on. */
    const guestPackets = (mark = 0) =>
      host.rpci.history
        .slice(mark)
        .filter((h) => h.command === 'copypaste.transport')
        .map((h) => ({ header: readHeader(h.request.subarray(20)), size: h.request.length - 20 }));
    const tcloReplies = (mark: number) =>
      host.tclo.replies.slice(mark).filter((r) => r.command.startsWith('copypaste.transport '));

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vmx-vmusr-'));
      host = new VmxHost();
      // One timeline of what vmusr asked and answered, for the order of the negotiation.
      host.rpci.on('rpci', ({ command, request }: { command: string; request: Buffer }) => {
        const cmd = command.endsWith('.transport')
          ? readHeader(request.subarray(command.length + 1)).cmd
          : -1;
        timeline.push(cmd === Cmd.PING ? `${command} PING` : command);
      });
      host.tclo.on('reply', (r: { command: string }) => timeline.push(`TCLO ${r.command.slice(0, 40)}`));
      server = await serveHost(host, join(dir, 'host.sock'));
      // Xvfb picks a free display itself and writes its number to fd 3 once it accepts clients.
      xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
        stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      });
      let fd3 = '';
      xvfb.stdio[3]!.on('data', (d: Buffer) => (fd3 += d));
      display = `:${(await until('Xvfb to give its display', () => /^\d+\n/.exec(fd3)?.[0], 30_000)).trim()}`;
      process.once('exit', cleanUp);
      // Set before vmusr runs: pushed when it negotiates (the first case checks it arrived).
      host.copyPaste.setClipboard(text('set before vmusr started'));
      vmusr = spawn(
        trap,
        ['--host', `unix!${server.path}`, '--cpuid', 'vmware', '-q', '--', 'vmtoolsd', '-n', 'vmusr'],
        {
          env: { ...process.env, DISPLAY: display },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      vmusr.stdout!.on('data', (d) => (vmusrLog += d));
      vmusr.stderr!.on('data', (d) => (vmusrLog += d));
      // vmusr pings once enabled, and again when it re-registers 300 ms after the reset: wait until
      // the pings have stopped for a second, so that no re-registration undoes what a case does.
      await until(
        `vmusr's copy/paste PING (vmusr said: ${vmusrLog.slice(-300)})`,
        () => host.copyPaste.active,
        60_000,
      );
      let pings = host.copyPaste.stats.pings;
      let since = Date.now();
      await until('the pings to stop', () => {
        if (host.copyPaste.stats.pings !== pings) [pings, since] = [host.copyPaste.stats.pings, Date.now()];
        return Date.now() - since > 1000;
      });
    }, 120_000);

    function cleanUp(): void {
      if (running(vmusr)) vmusr.kill('SIGKILL');
      if (running(xvfb)) xvfb.kill('SIGKILL');
    }

    afterAll(async () => {
      if (running(vmusr)) {
        vmusr.kill('SIGTERM');
        await Promise.race([
          new Promise((r) => vmusr.once('exit', r)),
          new Promise((r) => setTimeout(r, 5000)),
        ]);
      }
      cleanUp();
      process.off('exit', cleanUp);
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('negotiates version 4: the RPCIs in the order of docs/protocol/dndcp.md §1, PING p1 = 4, p3 = 0x1555, type/src 3/2', () => {
      const words = host.rpci.history.map((h) =>
        h.command.endsWith('.transport')
          ? `${h.command} ${Cmd.PING === readHeader(h.request.subarray(h.command.length + 1)).cmd ? 'PING' : '…'}`
          : h.request.toString('latin1'),
      );
      const order = [
        'vmx.capability.unified_loop toolbox-dnd',
        'tools.capability.dnd_version 4',
        'vmx.capability.dnd_version',
        'tools.capability.copypaste_version 4',
        'vmx.capability.copypaste_version',
        'copypaste.transport PING',
        'dnd.transport PING',
      ];
      let at = -1;
      for (const w of order) {
        const i = words.indexOf(w, at + 1);
        expect(i, `${w} after ${order[order.indexOf(w) - 1]}`).toBeGreaterThan(at);
        at = i;
      }
      // It pings as it takes `Set_Option copypaste 1`, before answering it; when its reset timer
      // fires 300 ms after `reset` with copy/paste on (a slow start may miss that), it asks
      // dnd.is.active, re-registers and pings again.
      const first = timeline.indexOf('copypaste.transport PING');
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(timeline.indexOf('TCLO Set_Option copypaste 1'));
      const asked = timeline.indexOf('dnd.is.active', first);
      if (asked >= 0) expect(timeline.indexOf('copypaste.transport PING', asked)).toBeGreaterThan(asked);
      const replies = Object.fromEntries(host.tclo.replies.map((r) => [r.command, r.reply]));
      expect(replies).toMatchObject({
        reset: 'OK ATR toolbox-dnd',
        'Set_Option copypaste 1': 'OK ',
        'Set_Option enableDnD 1': 'OK ',
      });
      const ping = guestPackets().find((p) => p.header.cmd === Cmd.PING)!;
      // The guest build swaps type and source (docs/protocol/dndcp.md §3.1.1): type 3, src 2.
      expect(ping.header).toMatchObject({ type: MsgSrc.GUEST, src: MsgType.CP, sessionId: 0, binarySize: 0 });
      expect(ping.header.params).toEqual([4, 0, CP_CAPS, 0, 0, 0]);
      expect(ping.size).toBe(56);
      const dndPing = host.rpci.history.find((h) => h.command === 'dnd.transport')!;
      const dh = readHeader(dndPing.request.subarray('dnd.transport '.length));
      expect(dh).toMatchObject({ cmd: Cmd.PING, type: MsgSrc.GUEST, src: MsgType.DND });
      expect(dh.params.slice(0, 3)).toEqual([4, 0, DND_CAPS]);
      expect(host.copyPaste.negotiated).toMatchObject({
        version: 4,
        minor: 0,
        guestCaps: CP_CAPS,
        caps: CP_CAPS,
      });
      expect(host.dnd.negotiated?.caps).toBe(DND_CAPS);
      // Our PING_REPLYs were taken: vmusr answered each copy/paste TCLO "OK ".
      expect(
        host.tclo.replies
          .filter((r) => r.command.startsWith('copypaste.transport '))
          .every((r) => r.reply === 'OK '),
      ).toBe(true);
    });

    it('a clipboard set before vmusr started is in the X CLIPBOARD once it has negotiated (each negotiation is pushed to)', async () => {
      expect(host.copyPaste.stats.pushes).toBe(host.copyPaste.stats.pings);
      expect((await paste('clipboard')).toString()).toBe('set before vmusr started');
    });

    it('host → guest: text pushed on setClipboard appears in the X CLIPBOARD and PRIMARY', async () => {
      const mark = host.tclo.replies.length;
      const v = `host text ${process.pid} ✓`;
      const session = host.copyPaste.setClipboard(text(v));
      expect(session).toBeGreaterThan(0);
      await until('CLIPBOARD to hold the host text', async () => (await paste('clipboard')).toString() === v);
      expect((await paste('primary')).toString()).toBe(v);
      expect(tcloReplies(mark).map((r) => r.reply)).toEqual(['OK ']);
    });

    it('guest → host: X text reaches the host clipboard after a request, TEXT = text + NUL', async () => {
      const w = `guest text ${process.pid} ✓`;
      await copyInGuest(Buffer.from(w));
      const mark = host.rpci.history.length;
      const a = await host.copyPaste.request();
      expect(a.changed).toBe(true);
      expect(a.clipboard.items.get(CpFormat.TEXT)).toEqual(Buffer.from(`${w}\0`));
      expect(host.clipboard.text().toString()).toBe(w);
      expect(host.clipboard.lastMove).toMatchObject({ by: 'v4 guest→host', sessionId: a.sessionId });
      const send = guestPackets(mark).find((p) => p.header.cmd === Cmd.CP_SEND_CLIPBOARD)!;
      expect(send.header).toMatchObject({
        type: MsgSrc.GUEST,
        src: MsgType.CP,
        sessionId: a.sessionId,
        status: 0,
      });
      expect(send.header.params).toEqual([4, 0, 0, 0, 0, 0]);
      // xclip cannot say when it took the selection, so vmusr cannot tell the text is old: asked
      // again it sends the same text again, "changed".
      const again = await host.copyPaste.request();
      expect(again.changed).toBe(true);
      expect(again.clipboard.items.get(CpFormat.TEXT)).toEqual(Buffer.from(`${w}\0`));
    });

    it('asked while it owns the selection (the host’s last push), vmusr answers "not changed": the host clipboard stays', async () => {
      host.copyPaste.setClipboard(text('owned by vmusr'));
      await until('the push to land', async () => (await paste('clipboard')).toString() === 'owned by vmusr');
      const generation = host.clipboard.generation;
      const mark = host.rpci.history.length;
      const a = await host.copyPaste.request();
      expect(a.changed).toBe(false);
      expect(a.clipboard.items.size).toBe(0);
      const send = guestPackets(mark).find((p) => p.header.cmd === Cmd.CP_SEND_CLIPBOARD)!;
      expect(send.size - 56).toBe(NOT_CHANGED_CLIPBOARD.length);
      expect(host.clipboard.generation).toBe(generation);
      expect(host.clipboard.text().toString()).toBe('owned by vmusr');
    });

    it('the selection vmusr reads: with xclip on CLIPBOARD only, PRIMARY (still its own) wins and the host gets its own text back', async () => {
      host.copyPaste.setClipboard(text('the host pushed this'));
      await until(
        'the push to land',
        async () => (await paste('primary')).toString() === 'the host pushed this',
      );
      await xclip(['-i', '-selection', 'clipboard'], Buffer.from('only in CLIPBOARD'));
      const a = await host.copyPaste.request();
      // vmusr takes the newer of the two selections by their TIMESTAMP; xclip answers TIMESTAMP
      // with its text, so CLIPBOARD's time reads as 0 and PRIMARY is chosen.
      expect(a.changed).toBe(true);
      expect(a.clipboard.items.get(CpFormat.TEXT)?.toString()).toBe('the host pushed this\0');
    });

    it('200 KiB both ways, in slices of 65380 bytes with REQUEST_NEXT in between', async () => {
      const big = Buffer.alloc(200 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = 0x61 + (i % 26);
      // Host → guest: vmusr asks for each next slice.
      let mark = host.rpci.history.length;
      host.copyPaste.setClipboard(text(big));
      await until('the 200 KiB in CLIPBOARD', async () => (await paste('clipboard')).equals(big), 60_000);
      const asks = guestPackets(mark).filter((p) => p.header.cmd === Cmd.REQUEST_NEXT);
      expect(asks).toHaveLength(3);
      const binarySize = 55 + big.length + 1;
      const pushSession = host.clipboard.lastMove?.sessionId;
      for (const a of asks)
        expect(a.header).toMatchObject({ sessionId: pushSession, binarySize: 0, type: 3, src: 2 });
      // As docs/protocol/dndcp.md §4.3 has it: p1 = the command, p2 = its binary size, p3 = bytes so far.
      expect(asks.map((a) => a.header.params.slice(0, 3))).toEqual(
        [1, 2, 3].map((i) => [Cmd.CP_RECV_CLIPBOARD, binarySize, i * DNDCP_PAYLOAD_MAX]),
      );
      // Guest → host: the host asks for each next slice of vmusr's answer.
      const g = Buffer.alloc(200 * 1024);
      for (let i = 0; i < g.length; i++) g[i] = 0x41 + (i % 26);
      await copyInGuest(g);
      mark = host.rpci.history.length;
      const before = host.copyPaste.endpoint.stats.requestNextOut;
      const a = await host.copyPaste.request();
      expect(a.changed).toBe(true);
      expect(host.clipboard.text().equals(g)).toBe(true);
      expect(host.copyPaste.endpoint.stats.requestNextOut - before).toBe(3);
      const slices = guestPackets(mark).filter((p) => p.header.cmd === Cmd.CP_SEND_CLIPBOARD);
      expect(slices.map((s) => s.header.payloadOffset)).toEqual(
        [0, 1, 2, 3].map((i) => i * DNDCP_PAYLOAD_MAX),
      );
      expect(slices.every((s) => s.header.binarySize === 55 + g.length + 1)).toBe(true);
    });

    it('PNG both ways: pushed by the host, readable as image/png; copied in X, the host gets it; the same pixels', async () => {
      const width = 7;
      const height = 5;
      const rgb = Buffer.alloc(width * height * 3);
      for (let i = 0; i < width * height; i++)
        rgb.set([(i * 37) & 0xff, (i * 91) & 0xff, (i * 13 + 200) & 0xff], i * 3);
      const png = encodePng({ width, height, rgb });
      host.copyPaste.setClipboard({ items: new Map([[CpFormat.IMG_PNG, png]]), changed: true });
      const got = await until('image/png in CLIPBOARD', async () => {
        const out = await paste('clipboard', 'image/png');
        return out.subarray(1, 4).toString() === 'PNG' ? out : undefined;
      });
      // vmusr re-encodes through GdkPixbuf: compare the image, not the bytes.
      const img = decodePng(got);
      expect([img.width, img.height]).toEqual([width, height]);
      expect(img.rgb.equals(rgb)).toBe(true);
      const targets = (await paste('clipboard', 'TARGETS')).toString();
      expect(targets).toMatch(/image\/png/);
      // And back: a PNG copied in X reaches the host as IMG_PNG, the same pixels.
      const rgb2 = Buffer.from(rgb.map((v) => 255 - v));
      const png2 = encodePng({ width, height, rgb: rgb2 });
      for (const selection of ['clipboard', 'primary'])
        await xclip(['-i', '-selection', selection, '-t', 'image/png'], png2);
      const a = await host.copyPaste.request();
      expect(a.changed).toBe(true);
      const up = a.clipboard.items.get(CpFormat.IMG_PNG);
      expect(up).toBeDefined();
      const img2 = decodePng(up!);
      expect([img2.width, img2.height]).toEqual([width, height]);
      expect(img2.rgb.equals(rgb2)).toBe(true);
    });

    it('RTF both ways: a pushed RTF is readable as text/rtf; RTF copied in X reaches the host as RTF', async () => {
      const rtf = `{\\rtf1\\ansi host rtf ${process.pid}\\par}`;
      host.copyPaste.setClipboard({
        items: new Map([[CpFormat.RTF, Buffer.from(`${rtf}\0`)]]),
        changed: true,
      });
      const got = await until('text/rtf in CLIPBOARD', async () => {
        const out = (await paste('clipboard', 'text/rtf')).toString();
        return out.startsWith('{\\rtf1') ? out : undefined;
      });
      expect(got.replace(/\0$/, '')).toBe(rtf);
      const back = `{\\rtf1\\ansi guest rtf ${process.pid}\\par}`;
      for (const selection of ['clipboard', 'primary'])
        await xclip(['-i', '-selection', selection, '-t', 'text/rtf'], Buffer.from(back));
      const a = await host.copyPaste.request();
      expect(a.changed).toBe(true);
      expect(a.clipboard.items.get(CpFormat.RTF)?.toString().replace(/\0$/, '')).toBe(back);
    });

    it('a malformed packet (payloadSize ≠ length − 56) is answered REPLY p1 = 0, status INVALID_PACKET', async () => {
      const before = host.copyPaste.stats.replies;
      const mark = host.rpci.history.length;
      const bad = encodePacket(
        {
          cmd: Cmd.CP_RECV_CLIPBOARD,
          type: 1,
          src: 2,
          sessionId: 77,
          status: 0,
          params: [4, 0, 0, 1, 0, 0],
          binarySize: 8,
          payloadOffset: 0,
        },
        Buffer.alloc(8, 1),
      );
      bad.writeUInt32LE(7, 52);
      const generation = host.clipboard.generation;
      host.copyPaste.sendPacket(bad);
      await until('the REPLY', () => host.copyPaste.stats.replies > before);
      expect(host.copyPaste.lastReply).toEqual({ cmd: 0, status: Status.INVALID_PACKET, sessionId: 0 });
      const reply = guestPackets(mark).find((p) => p.header.cmd === Cmd.REPLY)!;
      expect(reply.header).toMatchObject({ type: 3, src: 2, binarySize: 0 });
      expect(host.clipboard.generation).toBe(generation);
    });

    it('an empty packet: vmusr answers the TCLO "ERROR invalid arg size"', async () => {
      const mark = host.tclo.replies.length;
      host.copyPaste.sendPacket(Buffer.alloc(0));
      // Its own reply: the previous case's TCLO answer may still arrive after the mark.
      const r = await until('the TCLO reply', () =>
        tcloReplies(mark).find((x) => x.command === 'copypaste.transport '),
      );
      expect(r.reply).toBe('ERROR invalid arg size');
    });

    it('switched off by Set_Option copypaste 0, vmusr still answers "OK " but ignores a push and lets go of the X selections; switched on, it asks, pings and is pushed to again', async () => {
      host.copyPaste.setClipboard(text('before switching off'));
      await until(
        'the push to land',
        async () => (await paste('clipboard')).toString() === 'before switching off',
      );
      let mark = host.tclo.replies.length;
      host.tclo.queueCommand('Set_Option copypaste 0', 'toolbox-dnd');
      await until('the option', () =>
        host.tclo.replies.slice(mark).find((r) => r.command === 'Set_Option copypaste 0'),
      );
      expect(host.copyPaste.active).toBe(false);
      // A push now, then a malformed packet: vmusr handles TCLO packets in order and a push at
      // once, so when the REPLY to the second comes, the first has been dealt with.
      mark = host.tclo.replies.length;
      const replies = host.copyPaste.stats.replies;
      const body = encodeClipboard(text('while switched off'));
      host.copyPaste.sendPacket(
        encodePacket(
          {
            cmd: Cmd.CP_RECV_CLIPBOARD,
            type: 1,
            src: 2,
            sessionId: 500,
            status: 0,
            params: [4, 0, 0, 1, 0, 0],
            binarySize: body.length,
            payloadOffset: 0,
          },
          body,
        ),
      );
      const bad = encodePacket(
        {
          cmd: Cmd.CP_RECV_CLIPBOARD,
          type: 1,
          src: 2,
          sessionId: 501,
          status: 0,
          params: [4, 0, 0, 1, 0, 0],
          binarySize: 4,
          payloadOffset: 0,
        },
        Buffer.alloc(4),
      );
      bad.writeUInt32LE(3, 52);
      host.copyPaste.sendPacket(bad);
      await until('the REPLY', () => host.copyPaste.stats.replies > replies);
      // The REPLY goes out inside vmusr's TCLO handler: the TCLO answer to `bad` may come after it.
      await until('both TCLO answers', () => tcloReplies(mark).length >= 2);
      expect(tcloReplies(mark).map((r) => r.reply)).toEqual(['OK ', 'OK ']);
      // Not taken; and switching off gave up the selections vmusr held for the host.
      expect((await paste('clipboard')).toString()).toBe('');
      // Switched on again: the version question, a PING, and the host's clipboard pushed.
      host.copyPaste.setClipboard(text('after switching on'));
      const pings = host.copyPaste.stats.pings;
      const rmark = host.rpci.history.length;
      host.tclo.queueCommand('Set_Option copypaste 1', 'toolbox-dnd');
      await until('a new PING', () => host.copyPaste.stats.pings > pings);
      const asked = host.rpci.history.slice(rmark).map((h) => h.command);
      expect(asked.indexOf('vmx.capability.copypaste_version')).toBeLessThan(
        asked.indexOf('copypaste.transport'),
      );
      await until(
        'the clipboard pushed again',
        async () => (await paste('clipboard')).toString() === 'after switching on',
      );
    });
  },
);
