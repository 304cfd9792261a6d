/**
 * The /mnt/vmware tree (docs/protocol/tree.md) over injected services. The tree serves the
 * host's services as files; an agent adds TCLO events (power, resolution, options) through
 * `services.events` and answers power requests through `services.power`.
 */
import {
  type BackdoorPort,
  backdoorCall,
  Cmd,
  getBiosUuid,
  getCpuMhz,
  getGuiOptions,
  getHardwareVersion,
  getHostTime,
  getMemorySize,
  getScreenSize,
  getVersion,
  requireSupported,
} from '@vmw9/backdoor';
import { log as rpcLog, setCapability } from '@vmw9/rpc';
import { Dir, DMAPPEND, Errno, EventFile, type FidContext, File, p9err, readBuf, tokenize } from 'ninep';
import { badArg, ctlError, hostError } from './errors.js';
import { bintimeRecord, num11, statsLine, timeRecord, wctlRecord } from './format.js';
import { GuestinfoDir } from './guestinfo.js';
import { MouseFile, MouseSource, pointerFile } from './mouse.js';
import { msgFile, RpcDir, rpc1File } from './rpcfiles.js';
import { type FsServices, LegacyClipboard, type PowerRequest } from './services.js';
import { ClipboardWatch, SnarfFile, SnarfWaitFile } from './snarf.js';
import { Counters } from './stats.js';
import { TextFile, Watched, WriteFile } from './text.js';

export const FS_VERSION = '0.1.0';

export interface TreeOptions {
  /** guestinfo keys listed from the start (VMware cannot enumerate them). */
  guestinfoKeys?: string[];
  /** Owner of every file (Plan 9 uid), default `vmware` like aux/vmwarefs. */
  uid?: string;
}

export interface VmwareTree {
  root: Dir;
  counters: Counters;
  events: EventFile;
  /** Stops pollers and listeners (the tree is being shut down). */
  close(): void;
  /** Set by the server so `ctl hangup` can drop every client. */
  onHangup?: () => void;
}

const GUI_OPTIONS: ReadonlyArray<[string, number]> = [
  ['autograb', 0x1],
  ['autorelease', 0x2],
  ['autoscroll', 0x4],
  ['autoraise', 0x8],
  ['copypaste', 0x10],
  ['hidecursor', 0x20],
  ['fullscreen', 0x40],
  ['tofullscreen', 0x80],
  ['towindow', 0x100],
  ['autoraise-disabled', 0x200],
  ['synctime', 0x400],
];

export function buildVmwareTree(s: FsServices, opts: TreeOptions = {}): VmwareTree {
  const root = new Dir('/', 0o555, opts.uid ?? 'vmware');
  const counters = new Counters();
  const counted = countingPort(s.port, counters);
  const clip = s.clipboard ?? new LegacyClipboard(counted);
  const settings = { eofmode: false, debug: 0, tclo: s.events ? 'on' : 'off' };
  const events = new EventFile('events', 0o444);
  const eventRead = events.read.bind(events);
  // eofmode (docs/protocol/tree.md §1): event files answer EOF at offset > 0, for readers that read to EOF.
  events.read = async (fid, offset, count, signal) =>
    settings.eofmode && offset > 0 ? new Uint8Array(0) : eventRead(fid, offset, count, signal);
  const mouseSrc = new MouseSource(counted, counters, s.poll?.mouseMs ?? 20);
  const resized = { version: 0 };
  const display = new Watched<{ w: number; h: number; state: 'current' | 'pending' }>({
    w: 0,
    h: 0,
    state: 'current',
  });
  const power = new Watched<PowerRequest | 'none'>('none');

  const snarf = new SnarfFile(clip, counters, () => events.post('snarf set\n'));
  const watch = new ClipboardWatch(clip, s.poll?.snarfMs ?? 500, () => events.post('snarf changed\n'));

  // ---- ctl and version ------------------------------------------------------------------------
  const ctl = new File('ctl', 0o664);
  ctl.read = async (_fid, offset, count) => {
    const text = [
      `backdoor ${await getVersion(counted).then(
        () => 'ok',
        () => 'unavailable',
      )}`,
      `snarf ${snarf.enabled ? 'on' : 'off'}`,
      `mouse ${mouseSrc.mode}`,
      `tclo ${settings.tclo}`,
      `eofmode ${settings.eofmode ? 'on' : 'off'}`,
      `debug ${settings.debug}`,
      '',
    ].join('\n');
    return readBuf(Buffer.from(text), offset, count);
  };
  ctl.write = async (_fid, _o, data) => {
    for (const line of Buffer.from(data).toString('utf8').split('\n')) {
      const f = tokenize(line);
      if (f.length === 0) continue;
      const [cmd, ...a] = f as [string, ...string[]];
      const want = (n: number) => {
        if (a.length !== n) throw ctlError('bad # args to command', line);
      };
      const onOff = (v: string | undefined) => {
        if (v !== 'on' && v !== 'off') throw ctlError('bad # args to command', line);
        return v === 'on';
      };
      switch (cmd) {
        case 'snarf':
          want(1);
          snarf.enabled = onOff(a[0]);
          break;
        case 'mouse':
          want(1);
          if (a[0] !== 'absolute' && a[0] !== 'relative' && a[0] !== 'off')
            throw ctlError('bad # args to command', line);
          mouseSrc.mode = a[0];
          await mouseSrc.reset();
          break;
        case 'eofmode':
          want(1);
          settings.eofmode = onOff(a[0]);
          break;
        case 'debug':
          want(1);
          if (!/^\d+$/.test(a[0]!)) throw ctlError('bad # args to command', line);
          settings.debug = Number(a[0]);
          break;
        case 'capability':
          if (a.length < 1) throw ctlError('bad # args to command', line);
          try {
            await setCapability(s.rpc, a[0]!, a.length > 1 ? a.slice(1).join(' ') : null);
          } catch (e) {
            throw e instanceof TypeError ? ctlError(e.message, line) : hostError(e);
          }
          break;
        case 'hangup':
          want(0);
          setImmediate(() => tree.onHangup?.());
          break;
        case 'tclo':
        case 'reset':
          throw ctlError('the TCLO loop belongs to the agent (vmw9 agent); this tree is served alone', line);
        default:
          throw ctlError('unknown control message', line);
      }
    }
    return data.length;
  };

  const version = new TextFile('version', async () => {
    const lines = [
      `agent ${s.agent?.name ?? 'vmw9-fs'} ${s.agent?.version ?? FS_VERSION}`,
      'protocol 9P2000 9P2000.u 9P2000.L',
      `transport ${s.transport}`,
    ];
    try {
      const v = await getVersion(counted);
      lines.push(`backdoor ${v.version}`, `host ${v.productName} (type ${v.productType})`);
    } catch {
      lines.push('backdoor unavailable');
    }
    return `${lines.join('\n')}\n`;
  });

  // ---- display -------------------------------------------------------------------------------
  const wctl = new File('wctl', 0o664);
  wctl.open = (fid) => {
    fid.aux = { seen: -1 };
  };
  wctl.read = async (fid, offset, count, signal) => {
    const a = fid.aux as { seen: number };
    if (settings.eofmode && offset > 0) return new Uint8Array(0);
    if (display.value.w === 0) {
      try {
        const sz = await getScreenSize(counted);
        if (display.value.w === 0) display.set({ w: sz.width, h: sz.height, state: 'current' });
      } catch (e) {
        throw hostError(e);
      }
    }
    const v = await display.readNext(a, signal);
    return Buffer.from(wctlRecord(v.w, v.h, v.state)).subarray(0, count);
  };
  wctl.write = (_fid, _o, data) => {
    const line = Buffer.from(data).toString('utf8');
    const f = tokenize(line);
    const size =
      f[0] === 'size' && f.length === 2
        ? /^(\d+)x(\d+)(x\d+)?$/.exec(f[1]!)
        : f[0] === 'resize' && f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!)
          ? [f[0], f[1], f[2]]
          : null;
    if (size) {
      display.set({ w: Number(size[1]), h: Number(size[2]), state: 'current' });
      resized.version++;
    } else if (f[0] === 'current' && f.length === 1) display.set({ ...display.value, state: 'current' });
    else throw ctlError(f.length ? 'unknown control message' : 'empty control message', line);
    return data.length;
  };

  // ---- time ----------------------------------------------------------------------------------
  const hostNs = async (): Promise<bigint> => {
    const t = await getHostTime(counted);
    return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.microseconds) * 1000n;
  };
  const time = new TextFile('time', async () => timeRecord(await hostNs()));
  const bintime = new File('bintime', 0o444);
  bintime.read = async (_fid, offset, count) => {
    // #c/bintime ignores the offset; Plan 9's nsec() preads at 0. Past the 24 bytes is EOF, so
    // `cat` terminates; any read below that is a fresh sample from that position.
    if (offset >= 24) return new Uint8Array(0);
    try {
      return readBuf(bintimeRecord(await hostNs()), offset, count);
    } catch (e) {
      throw hostError(e);
    }
  };
  const timectl = new WriteFile('timectl', async (line) => {
    const f = tokenize(line);
    if (f.length === 0) throw ctlError('empty control message', line);
    if (f[0] === 'stopcatchup' && f.length === 1) {
      try {
        requireSupported(Cmd.STOPCATCHUP, await backdoorCall(counted, Cmd.STOPCATCHUP));
      } catch (e) {
        throw hostError(e);
      }
      return;
    }
    if (f[0] !== 'sync' || f.length > 2 || (f.length === 2 && f[1] !== 'on' && f[1] !== 'off'))
      throw ctlError('unknown control message', line);
    if (!s.timeSync)
      throw p9err(
        Errno.EOPNOTSUPP,
        "setting the guest clock is the agent's job (vmw9 agent); this tree is served alone",
      );
    await s.timeSync(f.slice(1));
  });

  // ---- power ---------------------------------------------------------------------------------
  const powerFile = new File('power', 0o664);
  powerFile.open = (fid) => {
    fid.aux = { seen: -1 };
  };
  powerFile.read = async (fid, offset, count, signal) => {
    const a = fid.aux as { seen: number };
    if (settings.eofmode && offset > 0) return new Uint8Array(0);
    const v = await power.readNext(a, signal);
    return Buffer.from(`${v}\n`).subarray(0, count);
  };
  powerFile.write = async (_fid, _o, data) => {
    const line = Buffer.from(data).toString('utf8');
    const f = tokenize(line);
    if (f[0] !== 'ok' && f[0] !== 'fail')
      throw ctlError(f.length ? 'unknown control message' : 'empty control message', line);
    if (power.value === 'none') throw p9err(Errno.EINVAL, 'no power request is pending');
    if (!s.power) throw p9err(Errno.EOPNOTSUPP, 'power requests are answered by the agent (vmw9 agent)');
    await s.power.acknowledge(f[0] === 'ok', f.slice(1).join(' ') || undefined);
    power.set('none');
    return data.length;
  };

  // ---- log, kmesg, stats ---------------------------------------------------------------------
  const log = new File('log', (DMAPPEND | 0o222) >>> 0);
  log.write = async (_fid, _o, data) => {
    const text = Buffer.from(data).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      // The host takes 64 KiB per message; long lines go in pieces.
      for (let i = 0; i < line.length; i += 4000) {
        counters.add('rpciRequests');
        try {
          await rpcLog(s.rpc, line.slice(i, i + 4000));
        } catch (e) {
          counters.add('rpciErrors');
          throw hostError(e);
        }
      }
    }
    return data.length;
  };
  const kmesg = new TextFile('kmesg', () => s.kmesg?.() ?? '');
  const stats = new TextFile('stats', () => statsLine(counters.fields()), 0o664);
  stats.write = (_fid: FidContext, _o: number, data: Uint8Array) => {
    counters.reset();
    return data.length;
  };

  // ---- info/ ---------------------------------------------------------------------------------
  const info = new Dir('info', 0o555);
  info.add(new TextFile('cpumhz', async () => num11(await getCpuMhz(counted))));
  info.add(new TextFile('uuid', async () => `${await getBiosUuid(counted)}\n`));
  info.add(new TextFile('memsize', async () => num11(Math.round((await getMemorySize(counted)).megabytes))));
  info.add(new TextFile('hwversion', async () => num11(await getHardwareVersion(counted))));
  info.add(
    new TextFile('screensize', async () => {
      const sz = await getScreenSize(counted);
      return `${num11(sz.width)}${num11(sz.height)}`;
    }),
  );

  // ---- legacy aux/vmwarefs files --------------------------------------------------------------
  const gui = new TextFile(
    'gui',
    async () => {
      const bits = await getGuiOptions(counted);
      return GUI_OPTIONS.map(([n, b]) => `${n} ${bits & b ? 'on' : 'off'}\n`).join('');
    },
    0o664,
  );
  gui.write = async (_fid: FidContext, _o: number, data: Uint8Array) => {
    const line = Buffer.from(data).toString('utf8');
    const f = tokenize(line);
    const opt = GUI_OPTIONS.find(([n]) => n === f[0]);
    if (f.length !== 2 || !opt || (f[1] !== 'on' && f[1] !== 'off'))
      throw badArg(`bad gui ctl: "${line.trim()}"`);
    try {
      const bits = await getGuiOptions(counted);
      const next = f[1] === 'on' ? bits | opt[1] : bits & ~opt[1];
      requireSupported(
        Cmd.SETGUIOPTIONS,
        await backdoorCall(counted, Cmd.SETGUIOPTIONS, { ebx: next >>> 0 }),
      );
    } catch (e) {
      throw hostError(e);
    }
    return data.length;
  };
  const dev = new TextFile('dev', async () => {
    // GETDEVICELISTELEMENT (11): a record per device fetched 4 bytes at a time: a NUL-padded name
    // of 32 bytes then a 32-bit enabled flag (aux/vmwarefs; UNCONFIRMED beyond it).
    const lines: string[] = [];
    for (let id = 0; id < 100; id++) {
      const rec = Buffer.alloc(36);
      for (let off = 0; off < 36; off += 4) {
        const r = await backdoorCall(counted, Cmd.GETDEVICELISTELEMENT, { ebx: ((id << 16) | off) >>> 0 });
        requireSupported(Cmd.GETDEVICELISTELEMENT, r);
        if (r.eax === 0) return lines.join('');
        rec.writeUInt32LE(r.ebx, off);
      }
      const name = rec.subarray(0, 32).toString('latin1').replace(/\0.*$/s, '');
      lines.push(`${num11(id)}'${name.replace(/'/g, "''")}' ${rec.readUInt32LE(32) ? 'on' : 'off'}\n`);
    }
    return lines.join('');
  });

  // ---- assemble ------------------------------------------------------------------------------
  const guestinfo = new GuestinfoDir(s.rpc, counters);
  if (opts.guestinfoKeys) guestinfo.declare(opts.guestinfoKeys);
  const mousectl = new WriteFile('mousectl', async (line) => {
    const f = tokenize(line);
    if (f.length === 0) throw ctlError('empty control message', line);
    if ((f[0] === 'absolute' || f[0] === 'relative') && f.length === 1) {
      mouseSrc.mode = f[0];
      await mouseSrc.reset();
    } else if (f[0] === 'reset' && f.length === 1) await mouseSrc.reset();
    else if (f[0] === 'poll' && f.length === 2 && /^\d+$/.test(f[1]!) && Number(f[1]) >= 1)
      mouseSrc.pollMs = Number(f[1]);
    else if (f[0] === 'scale' && f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!))
      mouseSrc.scale = { w: Number(f[1]), h: Number(f[2]) };
    else
      throw ctlError(
        ['absolute', 'relative', 'reset', 'poll', 'scale'].includes(f[0]!)
          ? 'bad # args to command'
          : 'unknown control message',
        line,
      );
  });

  for (const n of [
    ctl,
    version,
    snarf,
    new SnarfWaitFile(watch, settings),
    new MouseFile(mouseSrc, counted, resized, settings),
    pointerFile(counted),
    mousectl,
    wctl,
    time,
    bintime,
    timectl,
    events,
    powerFile,
    log,
    kmesg,
    stats,
    info,
    guestinfo,
    new RpcDir(counted),
    rpc1File(s.rpc, counters),
    gui,
    dev,
    msgFile(counted),
  ]) {
    root.add(n);
  }
  if (opts.uid) for (const n of walkNodes(root)) n.uid = n.gid = n.muid = opts.uid;

  // ---- events from the agent -----------------------------------------------------------------
  const onEvent = (line: string) => events.post(`${line}\n`);
  const onResolution = (w: number, h: number) => {
    display.set({ w, h, state: 'pending' });
    resized.version++;
  };
  const onPower = (req: PowerRequest) => power.set(req);
  s.events?.on('event', onEvent);
  s.events?.on('resolution', onResolution);
  s.events?.on('power', onPower);

  const tree: VmwareTree = {
    root,
    counters,
    events,
    close() {
      mouseSrc.stop();
      watch.stop();
      s.events?.off('event', onEvent);
      s.events?.off('resolution', onResolution);
      s.events?.off('power', onPower);
    },
  };
  return tree;
}

/** A BackdoorPort that counts calls and errors for `stats`. */
function countingPort(port: BackdoorPort, c: Counters): BackdoorPort {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      c.add('backdoorCalls');
      try {
        return await fn(...a);
      } catch (e) {
        c.add('backdoorErrors');
        throw e;
      }
    };
  return {
    call: wrap((r) => port.call(r)),
    hbOut: wrap((r, d) => port.hbOut(r, d)),
    hbIn: wrap((r, d) => port.hbIn(r, d)),
  };
}

function* walkNodes(d: Dir): Generator<Dir | File> {
  yield d;
  for (const c of d.children.values()) {
    if (c instanceof Dir) yield* walkNodes(c);
    else if (c instanceof File) yield c;
  }
}
