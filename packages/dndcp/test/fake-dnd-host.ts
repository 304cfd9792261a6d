// A scripted drag-and-drop host for DndGuest: answers vmx.capability.dnd_version, takes the
// guest's dnd.transport RPCIs into a host-role endpoint, and sends TCLO packets to the guest
// (docs/protocol/dndcp.md §9, "Host side"). Also the fake clock and staging the guest is given.
import {
  Cmd,
  type CpClipboard,
  type CpFileList,
  CpFormat,
  type CpFormatId,
  DndCpEndpoint,
  type DndCpMessage,
  type DndCpReceivedMessage,
  DndGuest,
  type DndGuestEvents,
  type DndGuestOptions,
  type DndSetTimer,
  type DndStaging,
  decodeTransport,
  encodeClipboard,
  encodeFileList,
  HOST_DND_VERSION_QUERY,
  type ReceiveResult,
} from '../src/index.js';

/** Timers that fire only when advance() moves the clock past them. */
export class FakeClock {
  now = 1_000_000;
  #timers: { at: number; fire: () => void; live: boolean }[] = [];
  /** Every delay a timer was started with. */
  readonly started: number[] = [];

  readonly setTimer: DndSetTimer = (fire, ms) => {
    const t = { at: this.now + ms, fire, live: true };
    this.#timers.push(t);
    this.started.push(ms);
    return () => {
      t.live = false;
    };
  };

  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.now = due.at;
      due.live = false;
      due.fire();
    }
    this.now = end;
    this.#timers = this.#timers.filter((t) => t.live);
  }
}

/** Staging in memory: directories `/tmp/VMwareDnD/NNNNNN`, or a failure, or a hold until released. */
export class FakeStaging implements DndStaging {
  readonly created: string[] = [];
  readonly discarded: string[] = [];
  fail: Error | undefined;
  /** The next create() waits until release() is called. */
  hold = false;
  /** What create() answers instead of the usual directory. */
  path: string | undefined;
  #release: (() => void) | undefined;

  async create(dropId: number): Promise<string> {
    if (this.hold) await new Promise<void>((r) => (this.#release = r));
    if (this.fail) throw this.fail;
    const dir = this.path ?? `/tmp/VMwareDnD/${String(dropId).padStart(6, '0')}`;
    this.created.push(dir);
    return dir;
  }

  release(): void {
    this.hold = false;
    this.#release?.();
    this.#release = undefined;
  }

  async discard(dir: string): Promise<void> {
    this.discarded.push(dir);
  }
}

export interface FakeDndHostOptions {
  /** The answer to vmx.capability.dnd_version: a reply text, 'fail', or 'throw'. */
  version?: string;
  guest?: Partial<DndGuestOptions>;
}

type Recorded = { [K in keyof DndGuestEvents]: [K, ...DndGuestEvents[K]] }[keyof DndGuestEvents];

export class FakeDndHost {
  readonly rpci: Buffer[] = [];
  readonly results: ReceiveResult[] = [];
  readonly endpoint: DndCpEndpoint;
  readonly guest: DndGuest;
  readonly clock = new FakeClock();
  readonly staging = new FakeStaging();
  /** Every event the guest emitted, in order. */
  readonly events: Recorded[] = [];
  /** Fail the next N dnd.transport RPCIs. */
  failTransport = 0;
  /** Runs inside the next dnd.transport RPCI (before it is answered), then is cleared. */
  duringRpci: ((m: DndCpReceivedMessage | undefined) => Promise<void> | void) | undefined;
  #tclo: Buffer[] = [];

  constructor(readonly opts: FakeDndHostOptions = {}) {
    this.endpoint = new DndCpEndpoint({ role: 'host', channel: 'dnd', send: (p) => void this.#tclo.push(p) });
    this.guest = new DndGuest({
      rpc: { send: (r) => this.#rpci(Buffer.from(r)) },
      staging: this.staging,
      setTimer: this.clock.setTimer,
      now: () => this.clock.now,
      ...opts.guest,
    });
    const record =
      <K extends keyof DndGuestEvents>(name: K) =>
      (...args: DndGuestEvents[K]): void =>
        void this.events.push([name, ...args] as unknown as Recorded);
    this.guest.on('drop-begin', record('drop-begin'));
    this.guest.on('drop-staged', record('drop-staged'));
    this.guest.on('drop-done', record('drop-done'));
    this.guest.on('drop-failed', record('drop-failed'));
    this.guest.on('offer-entered', record('offer-entered'));
    this.guest.on('offer-taken', record('offer-taken'));
    this.guest.on('offer-cancelled', record('offer-cancelled'));
    this.guest.on('error', record('error'));
  }

  async #rpci(req: Buffer): Promise<{ ok: boolean; reply: Buffer }> {
    this.rpci.push(req);
    if (req.toString('latin1') === HOST_DND_VERSION_QUERY) {
      const v = this.opts.version ?? '4';
      if (v === 'throw') throw new Error('channel closed');
      if (v === 'fail') return { ok: false, reply: Buffer.from('Unknown command') };
      return { ok: true, reply: Buffer.from(v) };
    }
    const t = decodeTransport(req);
    if (t?.channel !== 'dnd') return { ok: false, reply: Buffer.from('Unknown command') };
    if (this.failTransport > 0) {
      this.failTransport--;
      return { ok: false, reply: Buffer.from('busy') };
    }
    const r = await this.endpoint.receive(t.packet);
    this.results.push(r);
    const hook = this.duringRpci;
    this.duringRpci = undefined;
    await hook?.(r.kind === 'message' ? r.message : undefined);
    return { ok: true, reply: Buffer.alloc(0) };
  }

  async enable(): Promise<this> {
    await this.guest.enable();
    return this;
  }

  /** Sends a message to the guest and delivers every TCLO packet until both sides are quiet. */
  async send(m: DndCpMessage): Promise<void> {
    await this.endpoint.sendMessage(m);
    await this.pump();
  }

  /** Delivers raw packet bytes as one TCLO, then whatever follows. */
  async raw(packet: Uint8Array): Promise<void> {
    await this.guest.handleTransport(packet);
    await this.pump();
  }

  async pump(): Promise<void> {
    for (let p = this.#tclo.shift(); p; p = this.#tclo.shift()) await this.guest.handleTransport(p);
  }

  /** The complete messages the host received (PING left out), in order. */
  messages(): DndCpReceivedMessage[] {
    return this.results.flatMap((r) =>
      r.kind === 'message' && r.message.cmd !== Cmd.PING ? [r.message] : [],
    );
  }

  /** The messages received since the last call. */
  #seen = 0;
  fresh(): DndCpReceivedMessage[] {
    const all = this.messages();
    const out = all.slice(this.#seen);
    this.#seen = all.length;
    return out;
  }

  names(): string[] {
    return this.events.map((e) => e[0]);
  }

  // ---- the host's side of a drag -------------------------------------------------------------

  async dragBegin(sessionId: number, clipboard: CpClipboard): Promise<void> {
    await this.send({
      cmd: Cmd.DND_SRC_DRAG_BEGIN,
      sessionId,
      params: [4, 0],
      binary: encodeClipboard(clipboard),
    });
  }
  async moveMouse(sessionId: number, x = 10, y = 20): Promise<void> {
    await this.send({ cmd: Cmd.DND_MOVE_MOUSE, sessionId, params: [x, y] });
  }
  async drop(sessionId: number, x = 10, y = 20): Promise<void> {
    await this.send({ cmd: Cmd.DND_SRC_DROP, sessionId, params: [x, y] });
  }
  async getFilesDone(sessionId: number, status = 0): Promise<void> {
    await this.send({ cmd: Cmd.DND_GET_FILES_DONE, sessionId, status });
  }
  async srcCancel(sessionId: number): Promise<void> {
    await this.send({ cmd: Cmd.DND_SRC_CANCEL, sessionId });
  }
  async queryExiting(sessionId: number, caps = 0x0aab): Promise<void> {
    await this.send({ cmd: Cmd.DND_QUERY_EXITING, sessionId, params: [4, 0, caps, 100, 200] });
  }
  async cmd(cmd: number, sessionId: number, status = 0): Promise<void> {
    await this.send({ cmd, sessionId, status });
  }
}

/** A host clipboard holding a file list of top-level `names` and `totalSize` bytes. */
export function filesClipboard(names: string[], totalSize: number): CpClipboard {
  const fileList: CpFileList = {
    totalSize: BigInt(totalSize),
    relNames: names,
    // The host's own paths: opaque to the guest.
    fullPaths: names.map((n) => Buffer.from(`C:\\Users\\me\\${n}`, 'utf8')),
  };
  return {
    items: new Map<CpFormatId, Buffer>([[CpFormat.FILELIST, encodeFileList(fileList)]]),
    changed: true,
  };
}
