/** The console of `vmw9 sim`: each command changes or shows the host, bad lines get `error: …`. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cmd, CpFormat, type CpFormatId, decodeClipboard, encodeClipboard, textItem } from '@vmw9/dndcp';
import { describe, expect, it } from 'vitest';
import { runConsoleCommand, SimBackdoorPort, VmxHost } from '../src/index.js';
import { ScriptedGuest } from './cp-guest.js';
import { open, receive, rpc, send, TCLO } from './guest-msg.js';

describe('console', () => {
  it('guestinfo: set, get, list, rm — and the guest sees it', async () => {
    const host = new VmxHost();
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('info set guestinfo.k hello  world')).toBe('guestinfo.k set');
    expect(await rpc(new SimBackdoorPort(host), 'info-get guestinfo.k')).toBe('1 hello  world');
    expect(c('info get guestinfo.k')).toBe('hello  world');
    expect(c('info')).toBe('guestinfo.k=hello  world');
    expect(c('info rm guestinfo.k')).toBe('guestinfo.k removed');
    expect(c('info get guestinfo.k')).toMatch(/^error: /);
  });

  it('tclo, replies and pending', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('tclo OS_Halt')).toBe('queued: OS_Halt');
    expect(c('pending')).toBe('OS_Halt');
    const port = new SimBackdoorPort(host);
    const ch = await open(port, TCLO);
    await send(port, ch, Buffer.alloc(0));
    expect((await receive(port, ch))?.toString()).toBe('OS_Halt');
    await send(port, ch, Buffer.from('OK '));
    expect(c('replies')).toBe('OS_Halt -> "OK "');
  });

  it('clipboard, facts, faults, mouse, reset, state, log, counts', async () => {
    const host = new VmxHost();
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('clip set copied text')).toBe(
      'host clipboard: 11 bytes; pushed when a guest negotiates copy/paste version 4',
    );
    expect(c('clip').split('\n')[0]).toBe('text 12 bytes "copied text"');
    expect(c('fact productType 4')).toBe('productType 4');
    expect(host.facts.productType).toBe(4);
    expect(c('fact productType x')).toMatch(/^error: productType must be an integer/);
    expect(c('fact nosuch 1')).toMatch(/^error: unknown fact/);
    expect(c('fault cpt hbout rpci skip 1')).toBe('armed: cpt at HBOUT on RPCI after 1');
    expect(host.faults.armed).toHaveLength(1);
    expect(c('fault cpt nowhere')).toMatch(/^error: unknown step/);
    expect(c('fault restrict on')).toBe('restrict on');
    expect(host.faults.restricted).toBe(true);
    expect(c('fault clear')).toBe('faults cleared');
    expect(c('mouse 10 20 left')).toMatch(/not queued/);
    await rpc(new SimBackdoorPort(host), 'log from the guest');
    expect(c('state')).toMatch(/channels 0\/128/);
    expect(c('counts')).toMatch(/MESSAGE\.OPEN 1/);
    expect(c('log 1')).toMatch(/MESSAGE\.CLOSE/);
    expect(c('reset')).toMatch(/all channels closed/);
    expect(c('frobnicate')).toMatch(/^error: unknown command/);
    expect(c('')).toBe('');
  });
});

describe('console: clip', () => {
  async function withGuest() {
    const host = new VmxHost();
    const guest = new ScriptedGuest(host);
    await guest.start();
    return { host, guest, c: (l: string) => runConsoleCommand(host, l) };
  }

  it('help names every clip command', () => {
    const help = runConsoleCommand(new VmxHost(), 'help');
    for (const c of [
      'clip ',
      'clip set TEXT',
      'clip set-file FORMAT PATH',
      'clip push',
      'clip request',
      'clip raw HEX',
    ])
      expect(help).toContain(`  ${c}`);
  });

  it('clip: empty, then each format on its line (text in full, JSON-quoted), who moved it, the protocols', async () => {
    const { host, guest, c } = await withGuest();
    expect(c('clip').split('\n')).toEqual([
      '(empty)',
      'no guest has negotiated copy/paste version 4; legacy clipboard offered',
    ]);
    await guest.ping();
    host.copyPaste.setClipboard({
      items: new Map<CpFormatId, Buffer>([
        [CpFormat.TEXT, textItem('two "lines"\nhere')],
        [CpFormat.IMG_PNG, Buffer.alloc(10)],
        [CpFormat.BIFF12, Buffer.alloc(3)],
      ]),
      changed: true,
    });
    const lines = c('clip').split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'text 17 bytes "two \\"lines\\"\\nhere"',
      'png 10 bytes',
      'biff12 3 bytes',
    ]);
    expect(lines[3]).toMatch(/^moved last by v4 host→guest \(session 1\) at \d{4}-\d\d-\d\dT/);
    expect(lines[4]).toBe(
      'copy/paste version 4 (guest caps 0x1555, accepted 0x1555); legacy clipboard offered',
    );
    expect(runConsoleCommand(new VmxHost({ legacyClipboard: false }), 'clip')).toMatch(
      /legacy clipboard refused$/,
    );
  });

  it('clip set: waits for a guest, then pushes at once and says the session', async () => {
    const { host, guest, c } = await withGuest();
    expect(c('clip set before')).toBe(
      'host clipboard: 6 bytes; pushed when a guest negotiates copy/paste version 4',
    );
    expect(c('clip')).toMatch(/a push is waiting for one/);
    await guest.ping();
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary)).toMatchObject({
      items: new Map([[CpFormat.TEXT, textItem('before')]]),
    });
    // One space ends the word: the text keeps the rest, leading blanks too.
    expect(c('clip set  after ✓')).toBe('host clipboard: 10 bytes; pushed to the guest (session 2)');
    expect(host.clipboard.text().toString()).toBe(' after ✓');
    await guest.pump();
    expect(guest.last(Cmd.CP_RECV_CLIPBOARD)!.sessionId).toBe(2);
    expect(host.clipboard.lastMove?.by).toBe('v4 host→guest');
    expect(c('clip set')).toMatch(/^host clipboard: 0 bytes/);
    expect(host.clipboard.empty).toBe(true);
  });

  it('clip set-file FORMAT PATH: text (UTF-8, NUL added), rtf, html, png (signature checked); bad input is an error', async () => {
    const { host, guest, c } = await withGuest();
    await guest.ping();
    const dir = mkdtempSync(join(tmpdir(), 'vmx-clip-'));
    const f = (name: string, data: Buffer | string) => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(20),
    ]);
    expect(c(`clip set-file png ${f('a b.png', png)}`)).toBe(
      `host clipboard: png 28 bytes from ${join(dir, 'a b.png')}; pushed to the guest (session 1)`,
    );
    await guest.pump();
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary).items).toEqual(
      new Map([[CpFormat.IMG_PNG, png]]),
    );
    c(`clip set-file text ${f('t.txt', 'héllo')}`);
    expect(host.clipboard.get(CpFormat.TEXT)).toEqual(textItem('héllo'));
    c(`clip set-file RTF ${f('r.rtf', '{\\rtf1 x}')}`);
    expect(host.clipboard.formats()).toEqual([[CpFormat.RTF, Buffer.from('{\\rtf1 x}')]]);
    c(`clip set-file html ${f('h.html', '<b>x</b>')}`);
    expect(host.clipboard.formats()).toEqual([[CpFormat.HTML, Buffer.from('<b>x</b>')]]);
    expect(c(`clip set-file png ${f('not.png', 'GIF89a')}`)).toBe(
      `error: ${join(dir, 'not.png')} is not a PNG file (no PNG signature)`,
    );
    expect(c(`clip set-file text ${f('bin', Buffer.from([0xff, 0xfe]))}`)).toBe(
      `error: ${join(dir, 'bin')} is not UTF-8 text`,
    );
    expect(c('clip set-file gif x')).toMatch(
      /^error: clip set-file FORMAT PATH \(FORMAT: text\|rtf\|html\|png\)$/,
    );
    expect(c(`clip set-file text ${join(dir, 'missing')}`)).toMatch(/^error: ENOENT/);
    expect(host.clipboard.formats()).toEqual([[CpFormat.HTML, Buffer.from('<b>x</b>')]]);
  });

  it('clip push and clip request: errors before a guest negotiated; then a push and a request with their sessions', async () => {
    const { guest, c } = await withGuest();
    expect(c('clip push')).toBe('error: no guest has negotiated copy/paste version 4');
    expect(c('clip request')).toBe('error: no guest has negotiated copy/paste version 4');
    await guest.ping();
    expect(c('clip push')).toBe('pushed the host clipboard (session 1)');
    expect(c('clip request')).toBe('asked the guest for its clipboard (session 2)');
    await guest.pump();
    expect(guest.last(Cmd.CP_REQUEST_CLIPBOARD)!.sessionId).toBe(2);
    await guest.sendCp({
      cmd: Cmd.CP_SEND_CLIPBOARD,
      sessionId: 2,
      params: [4, 0],
      binary: encodeClipboard({
        items: new Map([[CpFormat.TEXT, textItem('from the guest')]]),
        changed: true,
      }),
    });
    expect(c('clip').split('\n').slice(0, 2)).toEqual([
      'text 15 bytes "from the guest"',
      expect.stringMatching(/^moved last by v4 guest→host \(session 2\) at /),
    ]);
    expect(c('clip bogus')).toMatch(/^error: clip \| clip set/);
  });

  it('clip raw HEX sends one packet as given; bad hex is an error', async () => {
    const { guest, c } = await withGuest();
    expect(c('clip raw 0g')).toBe('error: clip raw HEX (an even number of hex digits)');
    expect(c('clip raw')).toBe('error: clip raw HEX (an even number of hex digits)');
    const packet = Buffer.alloc(56);
    packet.writeUInt32LE(Cmd.CP_REQUEST_CLIPBOARD, 0);
    packet.writeUInt32LE(42, 12);
    expect(c(`clip raw ${packet.toString('hex').slice(0, 40)} ${packet.toString('hex').slice(40)}`)).toBe(
      'sent a 56-byte packet on copypaste.transport',
    );
    await guest.pump();
    expect(guest.last(Cmd.CP_REQUEST_CLIPBOARD)!.sessionId).toBe(42);
  });

  it('state, replies and pending show the copy/paste side (binary packets by their word only)', async () => {
    const { host, guest, c } = await withGuest();
    await guest.ping();
    host.copyPaste.setClipboard({ items: new Map([[CpFormat.TEXT, textItem('x')]]), changed: true });
    expect(c('pending')).toBe('copypaste.transport (a binary packet)');
    await guest.pump();
    expect(c('replies 1')).toBe('copypaste.transport (a binary packet) -> "OK " [toolbox-dnd]');
    const state = c('state');
    expect(state).toContain('clipboard text 2 bytes "x"');
    expect(state).toContain(
      '  copy/paste version 4 (guest caps 0x1555, accepted 0x1555); legacy clipboard offered',
    );
    expect(state).toContain('  legacy: guest sent nothing');
    expect(state).toMatch(
      / {2}copy\/paste: pings 1, pushes 1, requests 0, .*; drag-and-drop: not negotiated/,
    );
  });
});
