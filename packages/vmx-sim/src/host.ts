/**
 * VmxHost: a simulated VMware host (the VMX side of the backdoor). It answers the simple backdoor
 * commands from settable facts, runs GuestMsg channels carrying RPCI and TCLO, keeps one clipboard
 * (legacy backdoor and copy/paste version 4) and the vmmouse, serves HGFS shared folders, injects
 * faults, and logs every call. Shaped after the protocol and the real peers (open-vm-tools, Linux,
 * QEMU), never after our own guest code; where VMware's behaviour is not known for sure the code
 * says UNCONFIRMED and names the source it follows.
 */
import { EventEmitter } from 'node:events';
import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_CMD_MESSAGE,
  BDOORHB_PORT,
  Cmd,
  COOKIE_FLAG,
  commandName,
  MAX_GUEST_MESSAGE,
  maskRegisters,
  type Registers,
  MessageStatus as S,
  MessageType as T,
  TCLO_SUCCESS,
  TcloCommand,
  UNGRABBED_POS,
  UNSUPPORTED,
} from '@vmw9/backdoor';
import {
  CP_TRANSPORT,
  CpFormat,
  CpOption,
  DND_IS_ACTIVE,
  DND_TRANSPORT,
  DNDCP_TCLO_APP,
  DNDCP_VERSION,
  HOST_CP_VERSION_QUERY,
  HOST_DND_VERSION_QUERY,
  textItem,
} from '@vmw9/dndcp';
import {
  HGFS_LARGE_PACKET_MAX,
  HGFS_RPC_COMMAND,
  HgfsServer,
  type HgfsServerOptions,
  HostShares,
} from '@vmw9/hgfs';
import { type Channel, ChannelTable } from './channels.js';
import { HostClipboard } from './copypaste/clipboard.js';
import { CopyPasteHost } from './copypaste/controller.js';
import { DndHost } from './copypaste/dnd.js';
import { LegacyClipboard } from './copypaste/legacy.js';
import { DEFAULT_FACTS, type HostFacts } from './facts.js';
import { type ArmedFault, Faults, type MessageStep } from './faults.js';
import {
  getFiles,
  guestPath,
  type HgfsTransferOutcome,
  putFiles,
  type TransferOptions,
} from './guest-hgfs/transfer.js';
import { GuestHgfs, type SetTimer } from './guest-hgfs/transport.js';
import { GuestLibHost, type GuestLibHostOptions } from './guestlib.js';
import { CallLog, type CallOp } from './log.js';
import { MouseDevice } from './mouse.js';
import { RpciHost } from './rpci.js';
import type { ShareSpec } from './shares.js';
import { TcloHost } from './tclo.js';
import { serveToolsOptions } from './tools-options.js';

export interface VmxHostOptions {
  facts?: Partial<HostFacts>;
  /** Offer the high-bandwidth port (status bit HB). Default true. */
  hb?: boolean;
  /** Concurrent channels (GUESTMSG_MAX_CHANNEL). Default 128. */
  maxChannels?: number;
  /** Largest guest→host message (GUESTMSG_MAX_IN_SIZE). Default 65536. */
  maxGuestMessage?: number;
  /** Idle time after which a channel may be recycled when the table is full. Default 10 minutes. */
  idleRecycleMs?: number;
  /** Queue reset on new TCLO channels, then ping, Capabilities_Register and options. Default true. */
  autoHandshake?: boolean;
  /**
   * Set_Option list sent after Capabilities_Register, over DEFAULT_TOOLS_OPTIONS: a name given here
   * replaces that default's value, other names follow the defaults in the order given.
   */
  options?: Array<[string, string]>;
  /**
   * Offer the legacy backdoor clipboard (commands 6–9). Default true; false plays a host with only
   * the RPC protocol (copy/paste version 4): the four commands are refused as unsupported.
   */
  legacyClipboard?: boolean;
  /** Copy/paste version 4: how long `copyPaste.request()` waits for the guest (default 30 s). */
  copyPasteRequestTimeoutMs?: number;
  /** Command numbers to answer as unsupported (eax = 0xFFFFFFFF), e.g. to play an older host. */
  unsupported?: number[];
  /** Grant cookie channels (default true). False plays an old host that refuses GUESTMSG_FLAG_COOKIE. */
  cookies?: boolean;
  /** Call-log capacity. */
  logLimit?: number;
  /** Shared folders (HGFS): the shares, `hgfs.packetSize.large` and the server's bounds. */
  hgfs?: HgfsHostOptions;
  /** VMGuestLib: on with ESX-like statistics by default; `{ enabled: false }` plays Workstation with the Guest API off. */
  guestlib?: GuestLibHostOptions;
  /** Drag and drop, and the host's client of the guest's HGFS server. */
  dnd?: DndHostSettings;
}

export interface DndHostSettings {
  /** How long the controller waits for each guest answer (default 10 s). */
  answerTimeoutMs?: number;
  /** How long one HGFS request to the guest waits (default 30 s). */
  hgfsRequestTimeoutMs?: number;
  /** Where `take` puts files when given no directory (default the system temp directory). */
  takeRoot?: string;
  /** Timers, injected by tests. */
  setTimer?: SetTimer;
}

export interface HgfsHostOptions extends Omit<HgfsServerOptions, 'now' | 'shares'> {
  /** Shares added at start (each directory must exist). */
  shares?: ShareSpec[];
}

/**
 * The guestinfo key vmhgfs-fuse asks for (RpcVMX_ConfigGetBool, lib/include/hgfs.h); a host that
 * keeps to legacy packets tells its guests FALSE here (docs/protocol/hgfs.md, "Server role").
 */
export const HGFS_LARGE_PACKETS_KEY = 'guestinfo.hgfs.packetSize.large';

/**
 * What a real host sends every new TCLO channel after Capabilities_Register: copy/paste and
 * drag-and-drop enabled (docs/protocol/dndcp.md §1; vmusr's dndcp plugin does nothing without them).
 */
export const DEFAULT_TOOLS_OPTIONS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  [CpOption.copyPaste, '1'],
  [CpOption.enableDnd, '1'],
]);

/** The defaults with `options` laid over them (a name given replaces its default's value). */
export function toolsOptions(
  options: ReadonlyArray<readonly [string, string]> = [],
): Array<[string, string]> {
  const given = new Map(options);
  const out: Array<[string, string]> = DEFAULT_TOOLS_OPTIONS.map(([k, v]) => [k, given.get(k) ?? v]);
  for (const [k, v] of options) if (!DEFAULT_TOOLS_OPTIONS.some(([d]) => d === k)) out.push([k, v]);
  return out;
}

export type CallResult =
  | { kind: 'done'; regs: Registers; data?: Buffer }
  | { kind: 'fault'; reason: string }
  | { kind: 'silent' };

/** `1 `: the RPC itself succeeded (what `f` and the DnD/CP transports answer, whatever the packet). */
const RPCI_OK = Buffer.from('1 ');

/**
 * The guest's answer to a TCLO `f ` carrying a large read: `OK ` + a reply packet of up to
 * HGFS_LARGE_PACKET_MAX bytes (hgfsPlugin.c's reply buffer; docs/protocol/hgfs.md, "The host as client of the guest's server").
 */
const TCLO_HGFS_REPLY_MAX = 'OK '.length + HGFS_LARGE_PACKET_MAX;

const STEP_OF: Record<number, MessageStep> = {
  [T.OPEN]: 'OPEN',
  [T.SENDSIZE]: 'SENDSIZE',
  [T.SENDPAYLOAD]: 'SENDPAYLOAD',
  [T.RECVSIZE]: 'RECVSIZE',
  [T.RECVPAYLOAD]: 'RECVPAYLOAD',
  [T.RECVSTATUS]: 'RECVSTATUS',
  [T.CLOSE]: 'CLOSE',
};

export class VmxHost {
  facts: HostFacts;
  readonly hb: boolean;
  readonly maxGuestMessage: number;
  readonly cookies: boolean;
  readonly rpci = new RpciHost();
  /** VMGuestLib's statistics and session (docs/protocol/guestlib.md §6). */
  readonly guestlib: GuestLibHost;
  readonly tclo: TcloHost;
  readonly faults = new Faults();
  readonly log: CallLog;
  readonly mouse = new MouseDevice();
  /** The shared-folders server behind RPCI `f ` (docs/protocol/hgfs.md, "Server role"). */
  readonly hgfs: HgfsServer<HostShares>;
  readonly channels: ChannelTable;
  readonly unsupported: Set<number>;
  /** The host's one clipboard, every format, shared by the legacy commands and copy/paste version 4. */
  readonly clipboard: HostClipboard;
  /** The legacy backdoor clipboard (commands 6–9) over `clipboard`'s text. */
  readonly legacy: LegacyClipboard;
  /** Copy/paste version 4: the controller on `copypaste.transport` (docs/protocol/dndcp.md, "Host side"). */
  readonly copyPaste: CopyPasteHost;
  /** Drag-and-drop version 4: the controller on `dnd.transport` (`drop`, `take`; docs/protocol/dndcp.md, "Host side"). */
  readonly dnd: DndHost;
  /** The host as client of the guest's HGFS server, over TCLO `f ` (docs/protocol/hgfs.md, "The host as client of the guest's server"). */
  readonly guestHgfs: GuestHgfs;
  /** Lines the console prints as they happen (progress and outcome of `drop`, `take`, `ft`): event `line`. */
  readonly notices = new EventEmitter();
  pointer = { x: 0, y: 0, grabbed: true };
  /** Host resets so far (reset(), or an injected reset). */
  resets = 0;
  /** This host's channels whose next RPCI reply is replaced by garbage (an armed `garbage` fault fired). */
  private readonly garbageChannels = new WeakSet<Channel>();

  constructor(opts: VmxHostOptions = {}) {
    this.facts = { ...DEFAULT_FACTS, ...opts.facts };
    this.hb = opts.hb ?? true;
    this.maxGuestMessage = opts.maxGuestMessage ?? MAX_GUEST_MESSAGE;
    this.cookies = opts.cookies ?? true;
    this.channels = new ChannelTable(opts.maxChannels ?? 128, opts.idleRecycleMs ?? 600_000);
    this.tclo = new TcloHost({
      autoHandshake: opts.autoHandshake ?? true,
      options: toolsOptions(opts.options),
    });
    this.unsupported = new Set(opts.unsupported ?? []);
    this.log = new CallLog(opts.logLimit);
    this.guestlib = new GuestLibHost(this.facts, opts.guestlib);
    this.guestlib.install(this.rpci);
    const { shares = [], ...hgfsOpts } = opts.hgfs ?? {};
    this.hgfs = new HgfsServer({ ...hgfsOpts, shares: new HostShares(), now: () => this.now() });
    for (const sh of shares) this.hgfs.shares.add(sh.name, sh.dir, { readOnly: sh.readOnly });
    this.setHgfsLargePackets(this.hgfs.largePackets);
    // RPCI "f " + an HGFS request: "1 " + the reply; a packet the server drops still gets "1 "
    // (the RPC itself succeeded; hgfsBd.c's probe sends an empty packet and needs "1").
    this.rpci.register('f', (args) => {
      const reply = this.hgfs.handle(args);
      return reply ? Buffer.concat([RPCI_OK, reply]) : RPCI_OK;
    });
    const now = () => this.now();
    this.clipboard = new HostClipboard(now);
    this.legacy = new LegacyClipboard(this.clipboard, now, opts.legacyClipboard ?? true);
    const toDnd = (bytes: Buffer) => this.tclo.queueCommand(bytes, DNDCP_TCLO_APP);
    this.copyPaste = new CopyPasteHost({
      clipboard: this.clipboard,
      sendTclo: toDnd,
      now,
      ...(opts.copyPasteRequestTimeoutMs !== undefined
        ? { requestTimeoutMs: opts.copyPasteRequestTimeoutMs }
        : {}),
    });
    const dndOpts = opts.dnd ?? {};
    this.guestHgfs = new GuestHgfs({
      tclo: this.tclo,
      rpci: this.rpci,
      // A session asks for what the host's own `hgfs.packetSize.large` allows.
      packetSize: () => this.hgfs.maxPacketSize,
      ...(dndOpts.hgfsRequestTimeoutMs !== undefined
        ? { requestTimeoutMs: dndOpts.hgfsRequestTimeoutMs }
        : {}),
      ...(dndOpts.setTimer ? { setTimer: dndOpts.setTimer } : {}),
    });
    this.dnd = new DndHost({
      sendTclo: toDnd,
      now,
      hgfs: this.guestHgfs,
      calls: () => this.log.total(),
      ...(dndOpts.answerTimeoutMs !== undefined ? { answerTimeoutMs: dndOpts.answerTimeoutMs } : {}),
      ...(dndOpts.setTimer ? { setTimer: dndOpts.setTimer } : {}),
      ...(dndOpts.takeRoot ? { takeRoot: dndOpts.takeRoot } : {}),
    });
    // A version 4 host (docs/protocol/dndcp.md §1): both versions 4, no drag in progress, and each
    // transport packet taken ("1 ", the RPC itself succeeded) and handed to its channel.
    serveToolsOptions(this);
    this.rpci.register(HOST_CP_VERSION_QUERY, () => `1 ${DNDCP_VERSION}`);
    this.rpci.register(HOST_DND_VERSION_QUERY, () => `1 ${DNDCP_VERSION}`);
    this.rpci.register(DND_IS_ACTIVE, () => '1 0');
    this.rpci.register(CP_TRANSPORT, (packet) => {
      this.copyPaste.receive(packet);
      return RPCI_OK;
    });
    this.rpci.register(DND_TRANSPORT, (packet) => {
      this.dnd.receive(packet);
      return RPCI_OK;
    });
    // The desktop tools gone or restarted: what they negotiated is gone with them, and so are the
    // packets still queued for them.
    this.tclo.on('closed', ({ app }: { app?: string }) => {
      if (app === DNDCP_TCLO_APP) this.forgetDnd('channel closed');
    });
    this.tclo.on('reply', (r: { command: string; reply: string; app?: string }) => {
      if (r.app !== DNDCP_TCLO_APP) return;
      if (r.command === TcloCommand.RESET) this.forgetDnd('channel reset');
      else if (r.command.startsWith(`${CP_TRANSPORT} `)) this.copyPaste.tcloReply(r.reply);
      else if (r.command.startsWith(`${DND_TRANSPORT} `)) this.dnd.tcloReply(r.reply);
      else {
        // Switched off (any value but 1, docs/protocol/dndcp.md §1): the guest drops its channel.
        const [word, name, value] = r.command.split(' ');
        if (word !== TcloCommand.SET_OPTION || value === '1' || !r.reply.startsWith(TCLO_SUCCESS)) return;
        if (name === CpOption.copyPaste) this.copyPaste.forget('switched off');
        if (name === CpOption.enableDnd) this.dnd.forget();
      }
    });
  }

  private forgetDnd(why: string): void {
    this.copyPaste.forget(why);
    this.dnd.forget();
    const ours = [Buffer.from(`${CP_TRANSPORT} `), Buffer.from(`${DND_TRANSPORT} `)];
    this.tclo.cancel(
      (m, app) => app === DNDCP_TCLO_APP && ours.some((w) => m.subarray(0, w.length).equals(w)),
    );
  }

  /**
   * Writes local files and folders into the guest directory `guestDir` (an absolute guest path,
   * or components under a share) through the guest's HGFS server: the console's `ft put`.
   */
  ftPut(
    sources: readonly string[],
    guestDir: string | readonly string[],
    o: TransferOptions = {},
  ): Promise<HgfsTransferOutcome> {
    const dest = typeof guestDir === 'string' ? guestPath(guestDir) : guestDir;
    return putFiles(this.guestHgfs, sources, dest, { calls: () => this.log.total(), ...o });
  }

  /** Reads guest files and folders (absolute guest paths, or components) into the local directory `dir`: `ft get`. */
  ftGet(
    paths: ReadonlyArray<string | readonly string[]>,
    dir: string,
    o: TransferOptions = {},
  ): Promise<HgfsTransferOutcome> {
    const items = paths.map((p) => (typeof p === 'string' ? guestPath(p) : p));
    return getFiles(this.guestHgfs, items, dir, { calls: () => this.log.total(), ...o });
  }

  /** Prints a line on the console as it happens (the CLI shows `notices`' `line` events). */
  notice(line: string): void {
    this.notices.emit('line', line);
  }

  /** What the guest last sent over the legacy backdoor clipboard, and when (host clock). */
  get guestClipboard(): { data: Buffer; at: number } | null {
    return this.legacy.guestSent;
  }

  /** Offers the legacy backdoor clipboard (false: commands 6–9 are refused as unsupported). */
  get legacyClipboard(): boolean {
    return this.legacy.enabled;
  }

  /**
   * The host's `hgfs.packetSize.large`. True: HGFS packets up to HGFS_LARGE_PACKET_MAX, and guest
   * messages that long are taken. False: an older host's limits (legacy packets, 64 KiB messages),
   * and guestinfo.hgfs.packetSize.large = FALSE so that tools keep to them.
   */
  setHgfsLargePackets(on: boolean): void {
    this.hgfs.largePackets = on;
    if (!on) this.rpci.setGuestinfo(HGFS_LARGE_PACKETS_KEY, 'FALSE');
    else if (this.rpci.getGuestinfo(HGFS_LARGE_PACKETS_KEY)?.toUpperCase() === 'FALSE')
      this.rpci.deleteGuestinfo(HGFS_LARGE_PACKETS_KEY);
  }

  /**
   * The longest guest→host message taken now: maxGuestMessage, or an `f ` request of a large HGFS
   * packet (and the guest's `OK ` + a large reply to the host's `f `) when the host allows those
   * (UNCONFIRMED whether VMware lifts the limit for other commands too).
   */
  guestMessageLimit(): number {
    return this.hgfs.largePackets
      ? Math.max(this.maxGuestMessage, HGFS_RPC_COMMAND.length + HGFS_LARGE_PACKET_MAX, TCLO_HGFS_REPLY_MAX)
      : this.maxGuestMessage;
  }

  /** The host clock (this process's clock moved by facts.timeOffsetMs). */
  now(): number {
    return Date.now() + this.facts.timeOffsetMs;
  }

  /**
   * Sets the host clipboard to text (what a paste in the guest will get): the legacy commands read
   * it, and a guest that negotiated copy/paste version 4 is sent it (now, or when it negotiates).
   */
  setHostClipboard(data: Buffer | string): void {
    const bytes = Buffer.from(data);
    this.copyPaste.setClipboard({
      items: bytes.length ? new Map([[CpFormat.TEXT, textItem(bytes)]]) : new Map(),
      changed: true,
    });
  }

  /** A host restart/restore: every channel is closed; tools must reopen and are sent `reset`. */
  reset(): void {
    this.resets++;
    this.hgfs.reset();
    for (const c of this.channels.all()) this.closeChannel(c.id);
  }

  /** Arms a one-shot fault (see faults.ts). */
  arm(f: ArmedFault): void {
    this.faults.arm(f);
  }

  // ---- the three backdoor entry points -------------------------------------------------------

  /** `in eax, dx` on 0x5658. */
  lowBandwidth(input: Registers, pid = 0): CallResult {
    const r = maskRegisters(input);
    const cmd = r.ecx & 0xffff;
    const sub = r.ecx >>> 16;
    const standing = this.standing('lb', r, cmd, sub, pid);
    if (standing) return standing;
    if (r.eax !== BDOOR_MAGIC || (r.edx & 0xffff) !== BDOOR_PORT) {
      // Not a backdoor call: an unclaimed port reads as all ones (QEMU answers the same).
      const out = { ...r, eax: UNSUPPORTED };
      this.log.add({
        pid,
        op: 'lb',
        cmd,
        sub,
        name: r.eax !== BDOOR_MAGIC ? 'NO-MAGIC' : 'WRONG-PORT',
        in: r,
        out,
        bytes: 0,
      });
      return { kind: 'done', regs: out };
    }
    if (cmd === Cmd.MESSAGE) return this.message(r, sub, pid);
    const out = this.unsupported.has(cmd) ? null : this.simple(cmd, r);
    const regs = out ? maskRegisters({ ...r, ...out }) : { ...r, eax: UNSUPPORTED };
    this.log.add({
      pid,
      op: 'lb',
      cmd,
      sub,
      name: commandName(cmd),
      in: r,
      out: regs,
      bytes: 0,
      ...(out ? {} : { fault: 'unsupported' }),
    });
    return { kind: 'done', regs };
  }

  /** `rep outsb` on 0x5659: a whole guest→host message payload. */
  hbOut(input: Registers, data: Buffer, pid = 0): CallResult {
    const r = maskRegisters(input);
    const standing = this.standing('hbout', r, Cmd.MESSAGE, 0, pid);
    if (standing) return standing;
    const done = (status: number, c?: Channel, fault?: string): CallResult =>
      this.hbAnswer('hbout', r, pid, status, data.length, undefined, c, fault);
    if (!this.isHbMessage(r)) return done(0);
    // HB OUT carries the cookies in edi (low) and ebp (high): rsi holds the buffer.
    const c = this.channels.find(r.edx >>> 16, r.ebp, r.edi);
    if (!c) return done(0);
    this.touch(c);
    const f = this.fault('HBOUT', c);
    if (f) return done(f.status, c, f.name);
    const s = c.sending;
    if (!s || data.length !== s.expected - s.got) return done(0, c, 'out-of-sequence');
    data.copy(s.buf, s.got);
    s.got += data.length;
    this.completeSend(c);
    return done(S.SUCCESS, c);
  }

  /** `rep insb` on 0x5659: the waiting host→guest message, `count` bytes of it. */
  hbIn(input: Registers, count: number, pid = 0): CallResult {
    const r = maskRegisters(input);
    const standing = this.standing('hbin', r, Cmd.MESSAGE, 0, pid);
    if (standing) return standing;
    const done = (status: number, data?: Buffer, c?: Channel, fault?: string): CallResult =>
      this.hbAnswer('hbin', r, pid, status, data?.length ?? 0, data, c, fault);
    if (!this.isHbMessage(r)) return done(0);
    // HB IN carries the cookies in esi (high) and ebp (low): rdi holds the buffer.
    const c = this.channels.find(r.edx >>> 16, r.esi, r.ebp);
    if (!c) return done(0);
    this.touch(c);
    const f = this.fault('HBIN', c);
    if (f) return done(f.status, undefined, c, f.name);
    if (c.readPos === undefined || !c.outgoing) return done(0, undefined, c, 'out-of-sequence');
    const data = c.outgoing.data.subarray(c.readPos, c.readPos + count);
    c.readPos += data.length;
    return done(S.SUCCESS, Buffer.from(data), c);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** An HB transfer this host takes: HB offered, the magic, port 0x5659, and the MESSAGE HB command. */
  private isHbMessage(r: Registers): boolean {
    return (
      this.hb &&
      r.eax === BDOOR_MAGIC &&
      (r.edx & 0xffff) === BDOORHB_PORT &&
      (r.ebx & 0xffff) === BDOORHB_CMD_MESSAGE
    );
  }

  /** An HB call's answer: the status in ebx.hi (the HB command stays in ebx.lo), logged. */
  private hbAnswer(
    op: 'hbout' | 'hbin',
    r: Registers,
    pid: number,
    status: number,
    bytes: number,
    data?: Buffer,
    c?: Channel,
    fault?: string,
  ): CallResult {
    const out = { ...r, ebx: ((status << 16) | (r.ebx & 0xffff)) >>> 0 };
    const name = op === 'hbout' ? 'HB.OUT' : 'HB.IN';
    this.log.add({
      pid,
      op,
      cmd: Cmd.MESSAGE,
      sub: 0,
      name,
      in: r,
      out,
      bytes,
      ...(c ? { channel: c.id } : {}),
      ...(fault ? { fault } : {}),
    });
    return data ? { kind: 'done', regs: out, data } : { kind: 'done', regs: out };
  }

  /** Standing conditions that pre-empt every call: a restricted backdoor, a silent host. */
  private standing(op: CallOp, r: Registers, cmd: number, sub: number, pid: number): CallResult | undefined {
    if (this.faults.silent) {
      this.log.add({ pid, op, cmd, sub, name: 'SILENT', in: r, out: r, bytes: 0, fault: 'silent' });
      return { kind: 'silent' };
    }
    if (this.faults.restricted) {
      this.log.add({ pid, op, cmd, sub, name: 'RESTRICTED', in: r, out: r, bytes: 0, fault: 'restricted' });
      return { kind: 'fault', reason: 'restricted' };
    }
    return undefined;
  }

  private touch(c: Channel): void {
    c.lastActivity = Date.now();
    c.calls++;
  }

  /** Fires an armed fault for this step, applying its effect; returns the status to answer. */
  private fault(step: MessageStep, c: Channel): { status: number; name: string } | undefined {
    const f = this.faults.take(step, c.kind);
    if (!f) return undefined;
    if (f.kind === 'cpt') {
      // A checkpoint: the partial guest message is gone; the waiting reply is kept but rewound.
      c.sending = undefined;
      c.readPos = undefined;
      return { status: S.CPT, name: 'cpt' };
    }
    if (f.kind === 'reset') {
      this.reset();
      return { status: 0, name: 'reset' };
    }
    this.garbageChannels.add(c);
    return undefined;
  }

  private closeChannel(id: number): void {
    const c = this.channels.close(id);
    if (c?.kind === 'TCLO') this.tclo.channelClosed(id);
  }

  private completeSend(c: Channel): void {
    const msg = c.sending!.buf;
    c.sending = undefined;
    if (c.kind === 'RPCI') {
      // RPCI is synchronous: the reply must be waiting when the guest asks RECVSIZE next.
      let reply = this.rpci.handle(msg);
      if (this.garbageChannels.delete(c))
        reply = Buffer.from('\u00ffgarbage reply: no 1/0 prefix\u0000', 'latin1');
      c.outgoing = { data: reply };
      c.readPos = undefined;
    } else if (c.kind === 'TCLO') {
      this.tclo.received(c.id, msg);
    }
  }

  private message(r: Registers, sub: number, pid: number): CallResult {
    const out: Registers = { ...r };
    let channel: number | undefined;
    let bytes = 0;
    let fault: string | undefined;
    const status = (s: number) => {
      out.ecx = (s << 16) >>> 0;
    };
    const step = STEP_OF[sub];
    if (sub === T.OPEN) {
      const cookie = (r.ebx & COOKIE_FLAG) !== 0;
      const protocol = (r.ebx & ~COOKIE_FLAG) >>> 0;
      // An old host without cookie support refuses the flag (message.c then retries without it).
      const c =
        cookie && !this.cookies
          ? undefined
          : this.channels.open(protocol, cookie, (old) => {
              if (old.kind === 'TCLO') this.tclo.channelClosed(old.id);
            });
      if (!c) status(0);
      else {
        channel = c.id;
        const f = this.fault('OPEN', c);
        if (f) {
          this.closeChannel(c.id);
          status(f.status);
          fault = f.name;
        } else {
          // Ken Kato's notes: eax = 0, ecx.lo and edx.lo cleared; guests read only ecx.hi, edx.hi, esi, edi.
          out.eax = 0;
          status(S.SUCCESS);
          out.edx = (c.id << 16) >>> 0;
          out.esi = c.cookieHigh;
          out.edi = c.cookieLow;
          if (c.kind === 'TCLO') this.tclo.channelOpened(c.id);
        }
      }
    } else {
      const c = step ? this.channels.find(r.edx >>> 16, r.esi, r.edi) : undefined;
      if (!c) status(0);
      else {
        channel = c.id;
        this.touch(c);
        const f = this.fault(step!, c);
        if (f) {
          status(f.status);
          fault = f.name;
        } else {
          [bytes, fault] = this.messageStep(c, sub, r, out, status);
        }
      }
    }
    this.log.add({
      pid,
      op: 'lb',
      cmd: Cmd.MESSAGE,
      sub,
      name: `MESSAGE.${step ?? sub}`,
      in: r,
      out,
      bytes,
      ...(channel !== undefined ? { channel } : {}),
      ...(fault ? { fault } : {}),
    });
    return { kind: 'done', regs: out };
  }

  /** One GuestMsg step on a valid channel; returns bytes moved and a fault note for the log. */
  private messageStep(
    c: Channel,
    sub: number,
    r: Registers,
    out: Registers,
    status: (s: number) => void,
  ): [number, string | undefined] {
    const hbBit = this.hb ? S.HB : 0;
    switch (sub) {
      case T.SENDSIZE: {
        const n = r.ebx;
        // UNCONFIRMED what VMware answers for an oversized message; status 0 is what guests treat as failure.
        if (n > this.guestMessageLimit()) {
          status(0);
          return [0, 'too-big'];
        }
        if (c.kind === 'RPCI') {
          c.outgoing = undefined;
          c.readPos = undefined;
        }
        c.sending = { expected: n, buf: Buffer.alloc(n), got: 0 };
        status(S.SUCCESS | hbBit);
        if (n === 0) this.completeSend(c);
        return [0, undefined];
      }
      case T.SENDPAYLOAD: {
        const s = c.sending;
        if (!s || s.got >= s.expected) {
          status(0);
          return [0, 'out-of-sequence'];
        }
        const k = Math.min(4, s.expected - s.got);
        const word = Buffer.alloc(4);
        word.writeUInt32LE(r.ebx, 0);
        word.copy(s.buf, s.got, 0, k);
        s.got += k;
        status(S.SUCCESS);
        if (s.got === s.expected) this.completeSend(c);
        return [k, undefined];
      }
      case T.RECVSIZE: {
        if (!c.outgoing && c.kind === 'TCLO') {
          const cmd = this.tclo.peek(c.id);
          if (cmd !== undefined) c.outgoing = { data: cmd, tclo: true };
        }
        if (!c.outgoing) {
          status(S.SUCCESS);
          return [0, undefined];
        }
        c.readPos = 0;
        status(S.SUCCESS | S.DORECV | hbBit);
        out.edx = (T.SENDSIZE << 16) >>> 0;
        out.ebx = c.outgoing.data.length;
        return [0, undefined];
      }
      case T.RECVPAYLOAD: {
        if (c.readPos === undefined || !c.outgoing) {
          status(0);
          return [0, 'out-of-sequence'];
        }
        if ((r.ebx & S.SUCCESS) === 0) {
          // The guest gives up on this message (message.c error path): drop it.
          this.dropOutgoing(c);
          status(S.SUCCESS);
          return [0, 'guest-abort'];
        }
        const word = Buffer.alloc(4);
        const k = c.outgoing.data.copy(word, 0, c.readPos, c.readPos + 4);
        c.readPos += 4;
        out.ebx = word.readUInt32LE(0);
        out.edx = (T.SENDPAYLOAD << 16) >>> 0;
        status(S.SUCCESS);
        return [k, undefined];
      }
      case T.RECVSTATUS: {
        if (c.readPos === undefined || !c.outgoing) {
          status(0);
          return [0, 'out-of-sequence'];
        }
        if (r.ebx & S.SUCCESS) {
          if (c.outgoing.tclo !== undefined) this.tclo.delivered(c.id);
          c.outgoing = undefined;
          c.readPos = undefined;
          status(S.SUCCESS);
          return [0, undefined];
        }
        // UNCONFIRMED whether VMware re-queues a message the guest failed to take; we drop it.
        this.dropOutgoing(c);
        status(S.SUCCESS);
        return [0, 'guest-abort'];
      }
      case T.CLOSE:
        this.closeChannel(c.id);
        status(S.SUCCESS);
        return [0, undefined];
      default:
        status(0);
        return [0, 'bad-subcommand'];
    }
  }

  /**
   * The guest gave up on the waiting message. An RPCI reply is gone (the guest will resend the
   * request); a TCLO command stays at the head of the queue and is offered again on the next poll.
   */
  private dropOutgoing(c: Channel): void {
    c.outgoing = undefined;
    c.readPos = undefined;
  }

  /** The simple commands; null = unsupported (eax = 0xFFFFFFFF, the rest untouched). */
  private simple(cmd: number, r: Registers): Partial<Registers> | null {
    const f = this.facts;
    switch (cmd) {
      case Cmd.GETVERSION:
        return { eax: f.version, ebx: BDOOR_MAGIC, ecx: f.productType };
      case Cmd.GETHWVERSION:
        return { eax: f.hwVersion, ebx: BDOOR_MAGIC };
      case Cmd.GETMHZ:
        return { eax: f.cpuMhz };
      case Cmd.GETMEMSIZE:
        // VMware answers MB (Ken Kato's vmtool.c; UNCONFIRMED in VMware's own source). QEMU answers bytes.
        return { eax: f.memoryMB };
      case Cmd.GETUUID: {
        const b = Buffer.from(f.biosUuid.replace(/-/g, ''), 'hex');
        return {
          eax: b.readUInt32LE(0),
          ebx: b.readUInt32LE(4),
          ecx: b.readUInt32LE(8),
          edx: b.readUInt32LE(12),
        };
      }
      case Cmd.GETSCREENSIZE:
        return { eax: ((f.screenWidth << 16) | (f.screenHeight & 0xffff)) >>> 0 };
      case Cmd.GETTIME: {
        const ms = this.now();
        return { eax: Math.floor(ms / 1000), ebx: (ms % 1000) * 1000, ecx: f.maxTimeLagMicros, edx: 0 };
      }
      case Cmd.GETTIMEFULL:
      case Cmd.GETTIMEFULL_WITH_LAG: {
        // Success leaves eax as the magic (timeSync.c); seconds in esi:edx.
        const ms = this.now();
        const secs = Math.floor(ms / 1000);
        const out: Partial<Registers> = {
          esi: Math.floor(secs / 2 ** 32),
          edx: secs >>> 0,
          ebx: (ms % 1000) * 1000,
          ecx: f.maxTimeLagMicros,
        };
        if (cmd === Cmd.GETTIMEFULL_WITH_LAG) out.edi = 0;
        return out;
      }
      case Cmd.STOPCATCHUP:
        return {};
      case Cmd.GETHZ:
        return { eax: f.tscHz % 2 ** 32, ebx: Math.floor(f.tscHz / 2 ** 32), ecx: f.apicHz };
      case Cmd.GET_VCPU_INFO:
        return { eax: f.vcpuInfo };
      case Cmd.GETBUILDNUM:
        return { eax: f.buildNumber };
      case Cmd.GETGUIOPTIONS:
        return { eax: f.guiOptions };
      case Cmd.SETGUIOPTIONS:
        f.guiOptions = r.ebx;
        return {};
      case Cmd.ISMOUSEABSOLUTE:
        return { eax: 1 };
      case Cmd.GETPTRLOCATION: {
        const { x, y } = this.pointer.grabbed ? this.pointer : { x: UNGRABBED_POS, y: UNGRABBED_POS };
        return { eax: (((x & 0xffff) << 16) | (y & 0xffff)) >>> 0 };
      }
      case Cmd.SETPTRLOCATION:
        this.pointer = { x: ((r.ebx >>> 16) << 16) >> 16, y: (r.ebx << 16) >> 16, grabbed: true };
        return {};
      case Cmd.GETSELLENGTH:
      case Cmd.GETNEXTPIECE:
      case Cmd.SETSELLENGTH:
      case Cmd.SETNEXTPIECE:
        return this.legacy.handle(cmd, r);
      case Cmd.ABSPOINTER_COMMAND:
        this.mouse.command(r.ebx);
        return {};
      case Cmd.ABSPOINTER_STATUS:
        return { eax: this.mouse.statusWord() };
      case Cmd.ABSPOINTER_DATA: {
        const words = this.mouse.data(r.ebx);
        if (!words) return {};
        const regs: Array<keyof Registers> = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi'];
        const out: Partial<Registers> = {};
        words.forEach((w, i) => {
          out[regs[i]!] = w;
        });
        return out;
      }
      default:
        return null;
    }
  }
}
