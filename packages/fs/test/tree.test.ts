/**
 * The /mnt/vmware tree over 9P, driven by ninep's client in each dialect against vmx-sim: the same
 * script the Linux mount runs (issue: fs), without a kernel.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient, type Node, RemoteError, StatusFile } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildVmwareTree,
  DuplicateFileError,
  HostEventHub,
  type ServedTree,
  STAT_FIELDS,
  serveVmwareTree,
} from '../src/index.js';

const DIALECTS = ['9P2000', '9P2000.u', '9P2000.L'] as const;
let served: ServedTree | undefined;
let client: NinepClient | undefined;
afterEach(async () => {
  await client?.close();
  await served?.close();
  client = undefined;
  served = undefined;
});

async function setup(
  version: (typeof DIALECTS)[number],
  opts: { power?: boolean; files?: readonly Node[] } = {},
) {
  const host = new VmxHost();
  const port = new SimBackdoorPort(host);
  const events = new HostEventHub();
  const acks: Array<[boolean, string | undefined]> = [];
  const tree = buildVmwareTree(
    {
      port,
      rpc: RpciClient.overPort(port),
      events,
      transport: 'sim (test)',
      poll: { mouseMs: 5, snarfMs: 20 },
      ...(opts.power
        ? { power: { acknowledge: (ok: boolean, why?: string) => void acks.push([ok, why]) } }
        : {}),
    },
    { guestinfoKeys: ['declared'], ...(opts.files ? { files: opts.files } : {}) },
  );
  const path = join(mkdtempSync(join(tmpdir(), 'vmw9-fs-')), 'fs.sock');
  served = await serveVmwareTree(tree, { listen: `unix!${path}` });
  client = await NinepClient.connect(`unix!${path}`, { version });
  return { host, events, tree, c: client, acks };
}

const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();
/** Waits until the guest side has enabled the vmmouse (an event sent before that is dropped). */
const mouseEnabled = async (host: VmxHost) => {
  while (host.mouse.status !== 0) await new Promise((r) => setTimeout(r, 5));
};
/** One read of an event file (a second read would block until the next event). */
const once = async (c: NinepClient, p: string) => {
  const fid = await c.walk(p);
  try {
    await c.open(fid, 'r');
    return Buffer.from(await c.read(fid, 0, 8192)).toString();
  } finally {
    await c.clunk(fid);
  }
};
/**
 * The error a request failed with. 9P2000 and .u carry the server's text; .L's Rlerror carries only
 * an errno, so there the text is the errno's name: check `errno` instead.
 */
const errorOf = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RemoteError);
  return (e as RemoteError).message;
};
const failsWith = async (c: NinepClient, p: Promise<unknown>, text: RegExp, errno: number) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RemoteError);
  if (c.dialect === '9P2000.L') expect((e as RemoteError).errno).toBe(errno);
  else expect((e as RemoteError).message).toMatch(text);
};

describe.each(DIALECTS)('the tree over %s', (version) => {
  it('lists the tree, and every status file terminates', async () => {
    const { c } = await setup(version);
    const names = (await c.readdir('/')).map((f) => f.name).sort();
    expect(names).toEqual(
      [
        'bintime',
        'clip',
        'ctl',
        'dev',
        'events',
        'gui',
        'guestinfo',
        'info',
        'kmesg',
        'log',
        'mem',
        'mouse',
        'mousectl',
        'msg',
        'pointer',
        'power',
        'rpc',
        'rpc1',
        'snarf',
        'snarfwait',
        'stats',
        'time',
        'timectl',
        'version',
        'wctl',
      ].sort(),
    );
    expect(await text(c, '/version')).toMatch(
      /^agent vmw9-fs .*\nprotocol 9P2000 9P2000.u 9P2000.L\ntransport sim \(test\)\nclipboard legacy\nbackdoor 6\nhost ESX Server \(type 2\)\n$/,
    );
    expect(await text(c, '/ctl')).toMatch(
      /^backdoor ok\nsnarf on\nclipboard legacy\nmouse absolute\ntclo on\neofmode off\ndebug 0\n$/,
    );
    expect((await text(c, '/time')).length).toBe(78);
    expect((await c.readFile('/bintime')).length).toBe(24);
    expect(await text(c, '/info/uuid')).toBe('564d9a3c-1b2f-4e5d-8a6b-7c8d9e0f1a2b\n');
    expect(await text(c, '/info/memsize')).toBe('       4096 ');
    expect(await text(c, '/info/cpumhz')).toBe('       2400 ');
    expect(await text(c, '/info/screensize')).toBe('       1920        1080 ');
    expect(await text(c, '/pointer')).toBe('          0           0 ');
    expect(await text(c, '/stats')).toMatch(/^( +\d+ ){10}\n$/);
    expect(await text(c, '/gui')).toMatch(/^autograb off\n[\s\S]*copypaste on\n[\s\S]*synctime on\n$/);
    expect(await text(c, '/kmesg')).toBe('');
    // A service the simulated host lacks is a read error, not invented data.
    await failsWith(c, text(c, '/dev'), /does not support GETDEVICELISTELEMENT/, 95);
    // With eofmode on, event files answer EOF after one record, so reading to EOF ends.
    await c.writeFile('/ctl', Buffer.from('eofmode on'));
    expect(await text(c, '/power')).toBe('none\n');
    expect(await text(c, '/wctl')).toHaveLength(72);
  });

  it('snarf: write-on-clunk to the host clipboard, and the host clipboard read back', async () => {
    const { host, c } = await setup(version);
    await c.writeFile('/snarf', Buffer.from('x\n'));
    expect(host.clipboard.host.toString()).toBe('x\n');
    expect(await text(c, '/snarf')).toBe('x\n');
    host.setHostClipboard('from the host');
    expect(await text(c, '/snarf')).toBe('from the host');
  });

  it('guestinfo: write, read back, create and remove, each in the simulator’s store', async () => {
    const { host, c } = await setup(version);
    await c.writeFile('/guestinfo/declared', Buffer.from('one\n'));
    expect(host.rpci.getGuestinfo('guestinfo.declared')).toBe('one');
    expect(await text(c, '/guestinfo/declared')).toBe('one');
    host.rpci.setGuestinfo('guestinfo.fromhost', 'set by the host');
    expect(await text(c, '/guestinfo/fromhost')).toBe('set by the host');
    await c.create('/guestinfo/newkey', 0o664);
    expect(host.rpci.getGuestinfo('guestinfo.newkey')).toBe('');
    expect((await c.readdir('/guestinfo')).map((f) => f.name).sort()).toEqual([
      'ctl',
      'declared',
      'fromhost',
      'newkey',
    ]);
    await c.remove('/guestinfo/newkey');
    expect(host.rpci.getGuestinfo('guestinfo.newkey')).toBe('');
    expect((await c.readdir('/guestinfo')).map((f) => f.name)).not.toContain('newkey');
    // A removed key stays gone (its host value is empty, as VMware cannot delete it).
    await failsWith(c, c.stat('/guestinfo/newkey'), /not exist|no such file|not found/i, 2);
    await failsWith(c, text(c, '/guestinfo/nosuchkey'), /not exist|no such file/i, 2);
  });

  it('mouse: a 49-byte record with the new position after the host moves the pointer', async () => {
    const { host, c } = await setup(version);
    const fid = await c.walk('/mouse');
    await c.open(fid, 'r');
    const first = Buffer.from(await c.read(fid, 0, 49)).toString();
    expect(first.length).toBe(49);
    // The vmmouse is enabled by the reader's poller; once it is, the host moves the pointer.
    await mouseEnabled(host);
    host.mouse.event({ x: 0x8000, y: 0x4000, left: true });
    const rec = Buffer.from(await c.read(fid, 0, 49)).toString();
    expect(rec.length).toBe(49);
    const [x, y, b] = rec.slice(1).trim().split(/\s+/).map(Number);
    expect([rec[0], x, y, b]).toEqual([
      'm',
      Math.round((0x8000 * 1919) / 0xffff),
      Math.round((0x4000 * 1079) / 0xffff),
      1,
    ]);
    await c.clunk(fid);
  });

  it('log: a write appears in the host log', async () => {
    const { host, c } = await setup(version);
    const fid = await c.walk('/log');
    await c.open(fid, 'w');
    await c.write(fid, 0, Buffer.from('hello from 9P\nsecond line\n'));
    await c.clunk(fid);
    expect(host.rpci.logs).toEqual(['hello from 9P', 'second line']);
  });

  it('events: a blocked read gets the next event; a flushed one is answered and the tree stays usable', async () => {
    const { events, c } = await setup(version);
    const fid = await c.walk('/events');
    await c.open(fid, 'r');
    const ac = new AbortController();
    const blocked = c.read(fid, 0, 8192, ac.signal).then(
      () => 'read',
      () => 'interrupted',
    );
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    expect(await blocked).toBe('interrupted');
    const next = c.read(fid, 0, 8192);
    events.publish({ type: 'resolution', width: 1024, height: 768 });
    expect(Buffer.from(await next).toString()).toBe('resolution 1024 768\n');
    expect(await text(c, '/version')).toMatch(/^agent/);
  });

  it('rpc1 and rpc/clone: raw RPCI transactions', async () => {
    const { host, c } = await setup(version);
    host.rpci.setGuestinfo('guestinfo.r', 'v');
    const fid = await c.walk('/rpc1');
    await c.open(fid, 'rw');
    await c.write(fid, 0, Buffer.from('info-get guestinfo.r'));
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('1 v');
    await c.clunk(fid);
    const clone = await c.walk('/rpc/clone');
    await c.open(clone, 'rw');
    const n = Buffer.from(await c.read(clone, 0, 10)).toString();
    await c.write(clone, 0, Buffer.from('open rpci'));
    expect(await text(c, `/rpc/${n}/ctl`)).toBe(`${n} rpci open\n`);
    const data = await c.walk(`/rpc/${n}/data`);
    await c.open(data, 'rw');
    await c.write(data, 0, Buffer.from('info-get guestinfo.r'));
    expect(Buffer.from(await c.read(data, 0, 100)).toString()).toBe('1 v');
    await c.clunk(data);
    await c.clunk(clone);
    expect((await c.readdir('/rpc')).map((f) => f.name)).toEqual(['clone']);
  });

  it('power and wctl follow the agent’s TCLO events', async () => {
    const { events, c, acks } = await setup(version, { power: true });
    expect(await once(c, '/power')).toBe('none\n');
    expect(await once(c, '/wctl')).toBe(
      '          0           0        1920        1080     current     visible ',
    );
    const w = await c.walk('/wctl');
    await c.open(w, 'r');
    await c.read(w, 0, 72);
    const next = c.read(w, 0, 72);
    events.publish({ type: 'resolution', width: 1280, height: 800 });
    expect(Buffer.from(await next).toString()).toBe(
      '          0           0        1280         800     pending     visible ',
    );
    events.publish({ type: 'power', state: 'halt' });
    expect(await once(c, '/power')).toBe('halt\n');
    const p = await c.walk('/power');
    await c.open(p, 'w');
    await c.write(p, 0, Buffer.from('ok'));
    await c.clunk(p);
    expect(acks).toEqual([[true, undefined]]);
  });
});

describe('what an agent adds: typed host events and contributed files', () => {
  it('every host event is an events line; the tree unsubscribes when closed', async () => {
    const { events, tree, c } = await setup('9P2000');
    const fid = await c.walk('/events');
    await c.open(fid, 'r');
    const lines: string[] = [];
    const read = async () => lines.push(Buffer.from(await c.read(fid, 0, 8192)).toString());
    for (const e of [
      { type: 'reset' },
      { type: 'capabilities' },
      { type: 'option', name: 'synctime', value: '1' },
      { type: 'power', state: 'reboot' },
      { type: 'power', state: 'reboot', outcome: 'done' },
      { type: 'note', line: 'hgfs ready' },
    ] as const) {
      const next = read();
      // A TCLO command is counted (stats), never a line: the next line is the next event's.
      events.publish({ type: 'command', app: 'toolbox', command: 'ping', ok: true });
      events.publish(e);
      await next;
    }
    expect(lines).toEqual([
      'reset\n',
      'capabilities\n',
      'option synctime 1\n',
      'power reboot\n',
      'power reboot done\n',
      'hgfs ready\n',
    ]);
    // The outcome did not make a new request: power still shows the one the host made.
    expect(await once(c, '/power')).toBe('reboot\n');
    await c.clunk(fid);
    expect(events.size).toBe(1);
    tree.close();
    expect(events.size).toBe(0);
  });

  it('contributed files are served at the root after the built-ins; a name in use is refused', async () => {
    const extra = new StatusFile('hgfs', () => 'shares\n');
    const { c } = await setup('9P2000.L', { files: [extra] });
    expect((await c.readdir('/')).map((f) => f.name)).toContain('hgfs');
    expect(await text(c, '/hgfs')).toBe('shares\n');
    const host = new SimServices();
    expect(() => buildVmwareTree(host.services, { files: [new StatusFile('ctl', () => '')] })).toThrow(
      DuplicateFileError,
    );
    expect(() => buildVmwareTree(host.services, { files: [new StatusFile('ctl', () => '')] })).toThrow(
      /already has a file named "ctl"/,
    );
  });
});

describe('stats', () => {
  const fields = async (c: NinepClient) => (await text(c, '/stats')).trim().split(/\s+/).map(Number);

  it('every field moves when its event happens, in the documented order', async () => {
    const { host, events, c } = await setup('9P2000');
    const before = await fields(c);
    // A restricted backdoor: a host call that fails, and an RPCI that fails with it.
    host.faults.restricted = true;
    await expect(text(c, '/info/uuid')).rejects.toThrow();
    await expect(c.writeFile('/log', Buffer.from('refused\n'))).rejects.toThrow();
    host.faults.restricted = false;
    events.publish({ type: 'command', app: 'toolbox', command: 'ping', ok: true });
    await text(c, '/snarf');
    await c.writeFile('/snarf', Buffer.from('counted'));
    const fid = await c.walk('/mouse');
    await c.open(fid, 'r');
    await c.read(fid, 0, 49);
    await mouseEnabled(host);
    host.mouse.event({ x: 0x100, y: 0x100 });
    await c.read(fid, 0, 49);
    await c.clunk(fid);
    const other = await NinepClient.connect(served!.address);
    other.close();
    const after = await fields(c);
    const stayed = STAT_FIELDS.filter((_, i) => after[i]! <= before[i]!);
    expect(stayed).toEqual([]);
    expect(after[STAT_FIELDS.indexOf('connections')]! - before[STAT_FIELDS.indexOf('connections')]!).toBe(1);
  });
});

describe('every ctl file reads commands the same way', () => {
  it('guestinfo/ctl, rpc ctl and ctl: one quoting rule, Plan 9 errors naming the line', async () => {
    const { c } = await setup('9P2000');
    const ctlWrite = async (path: string, line: string) => {
      const fid = await c.walk(path);
      try {
        await c.open(fid, 'w');
        await c.write(fid, 0, Buffer.from(line));
      } finally {
        await c.clunk(fid).catch(() => {});
      }
    };
    expect(await errorOf(ctlWrite('/guestinfo/ctl', 'forget'))).toMatch(/bad # args to command: "forget"/);
    expect(await errorOf(ctlWrite('/guestinfo/ctl', "forget 'nope'"))).toMatch(
      /no such key: "forget 'nope'"/,
    );
    await ctlWrite('/guestinfo/ctl', "refresh\nforget 'declared'\n");
    expect((await c.readdir('/guestinfo')).map((f) => f.name)).toEqual(['ctl']);
    const clone = await c.walk('/rpc/clone');
    await c.open(clone, 'rw');
    const n = Buffer.from(await c.read(clone, 0, 10)).toString();
    expect(await errorOf(ctlWrite(`/rpc/${n}/ctl`, 'open bogus'))).toMatch(/unknown protocol: "open bogus"/);
    expect(await errorOf(ctlWrite(`/rpc/${n}/ctl`, 'close now'))).toMatch(
      /bad # args to command: "close now"/,
    );
    expect(await errorOf(ctlWrite(`/rpc/${n}/ctl`, 'dial x'))).toMatch(/unknown control message: "dial x"/);
    await c.clunk(clone);
    expect(await errorOf(ctlWrite('/ctl', "debug 'x y"))).toMatch(/unbalanced quote/);
    await ctlWrite('/ctl', "debug '7'\n\neofmode on");
    expect(await text(c, '/ctl')).toMatch(/eofmode on\ndebug 7\n$/);
  });
});

/** Services on a fresh simulated host, for trees built and not served. */
class SimServices {
  readonly port = new SimBackdoorPort(new VmxHost());
  readonly services = { port: this.port, rpc: RpciClient.overPort(this.port), transport: 'sim (test)' };
}

describe('bad input through the files: a clear error from the write, nothing changed on the host', () => {
  const write = async (c: NinepClient, path: string, data: string) => {
    const fid = await c.walk(path);
    try {
      await c.open(fid, 'w');
      await c.write(fid, 0, Buffer.from(data));
    } finally {
      await c.clunk(fid).catch(() => {});
    }
  };

  it.each(DIALECTS)('%s', async (version) => {
    const { host, c } = await setup(version);
    const before = host.log.total();
    const EINVAL = 22;
    await failsWith(
      c,
      write(c, '/ctl', 'frobnicate now'),
      /unknown control message: "frobnicate now"/,
      EINVAL,
    );
    await failsWith(c, write(c, '/ctl', 'snarf'), /bad # args to command: "snarf"/, EINVAL);
    await failsWith(c, write(c, '/ctl', 'mouse sideways'), /bad # args/, EINVAL);
    await failsWith(c, write(c, '/mousectl', 'poll'), /bad # args/, EINVAL);
    await failsWith(c, write(c, '/timectl', 'warp 88'), /unknown control message/, EINVAL);
    await failsWith(c, write(c, '/wctl', 'size big'), /unknown control message/, EINVAL);
    await failsWith(c, write(c, '/mouse', 'not a point'), /bad format on \/dev\/mouse/, EINVAL);
    await failsWith(c, write(c, '/pointer', '1 2 3'), /bad point format/, EINVAL);
    await failsWith(c, write(c, '/gui', 'autograb maybe'), /bad gui ctl/, EINVAL);
    await failsWith(c, write(c, '/power', 'ok'), /no power request is pending/, EINVAL);
    // Read-only files refuse writes.
    await failsWith(c, write(c, '/version', 'x'), /permission|denied/i, 1);
    await failsWith(c, write(c, '/time', 'x'), /permission|denied/i, 1);
    // An oversized clipboard write fails at the write; the host clipboard is untouched.
    await failsWith(c, write(c, '/snarf', 'x'.repeat(70000)), /snarf buffer too long/, 27);
    // Keys with NUL or blanks cannot be created; a value with NUL is refused.
    expect(await errorOf(c.create('/guestinfo/bad\0key'))).toBeTruthy();
    await failsWith(c, c.create('/guestinfo/bad key'), /bad guestinfo key name/, EINVAL);
    await failsWith(c, write(c, '/guestinfo/declared', 'a\0b'), /NUL/, EINVAL);
    expect(host.clipboard.host.length).toBe(0);
    expect(host.guestClipboard).toBeNull();
    expect(host.rpci.guestinfo.size).toBe(0);
    expect(host.rpci.logs).toEqual([]);
    // Nothing above reached the host except reads (GUI options for the gui write).
    expect(
      host.log
        .entries()
        .slice(before)
        .filter(
          (e) => e.name.startsWith('MESSAGE') || e.name === 'SETPTRLOCATION' || e.name === 'SETGUIOPTIONS',
        ),
    ).toEqual([]);
  });
});
