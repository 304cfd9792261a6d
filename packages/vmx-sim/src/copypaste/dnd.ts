/**
 * The host's drag-and-drop controller, version 4 (docs/protocol/dndcp.md, "Host side", Drag and
 * drop). It answers the guest's PING, and plays the host's two drags:
 *
 * - `drop`: the user drags files from the host into the VM and drops them. SRC_DRAG_BEGIN with
 *   a FILELIST → the guest's SRC_DRAG_BEGIN_DONE; SRC_DROP → the guest's SRC_DROP_DONE naming
 *   its staging directory (a CPName); every folder and file written there through the guest's
 *   HGFS server (TCLO `f `); GET_FILES_DONE 0, or 1 when the files could not all be written.
 *   SRC_CANCEL when the guest does not answer in time or refuses.
 * - `take`: the pointer leaves the VM with a drag the guest may have going. QUERY_EXITING →
 *   DRAG_NOT_PENDING (nothing offered), or DEST_DRAG_ENTER with the guest's FILELIST → the host's
 *   DEST_DRAG_ENTER_REPLY, the files read through the guest's HGFS server, then DEST_DROP
 *   (DEST_CANCEL when that failed).
 *
 * Packets go out as TCLO `dnd.transport …` to `toolbox-dnd` and come in as RPCI of the same word;
 * fragmentation is @vmw9/dndcp's DndCpEndpoint. One drag at a time. A test can make the host
 * misbehave (DropFault): write outside the staging directory, more than it announced, stop
 * midway, or send malformed packets.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Cmd,
  type CpClipboard,
  CpFormat,
  cmdName,
  DND_CAPS,
  DNDCP_VERSION,
  DndCpEndpoint,
  type DndCpMessage,
  type DndCpReceivedMessage,
  decodeClipboard,
  decodeFileList,
  encodeClipboard,
  encodeFileList,
  encodePacket,
  encodeTransport,
  readHeader,
  Status,
} from '@vmw9/dndcp';
import { encodeCPName } from '@vmw9/hgfs';
import {
  type MalformedKind,
  type OutsideAttempt,
  type OutsideHow,
  sendMalformed,
  writeOutside,
} from '../guest-hgfs/hostile.js';
import { cpNameComponents, type HgfsTransferOutcome, run, shownGuestPath } from '../guest-hgfs/transfer.js';
import { type GuestHgfs, type GuestHgfsSession, realTimer, type SetTimer } from '../guest-hgfs/transport.js';
import {
  getTree,
  type LocalTree,
  putTree,
  scanLocal,
  type TreeProgress,
  type TreeResult,
} from '../guest-hgfs/tree.js';

export interface DndNegotiation {
  version: number;
  guestCaps: number;
  /** What the host answered: DND_CAPS and the guest's. */
  caps: number;
  at: number;
}

/** One drag-and-drop message, either way. */
export interface DndMessageRecord {
  dir: 'host→guest' | 'guest→host';
  cmd: number;
  name: string;
  sessionId: number;
  status: number;
  params: number[];
  binaryBytes: number;
}

/**
 * A host misbehaving on purpose during a drop (tests of a guest's defences, docs/protocol/dndcp.md,
 * "Host side", Hostile host):
 * - `outside`: after the files, one more file written outside the staging directory (`how`);
 * - `oversize`: `extraBytes` more written at the end of the last file than the FILELIST announced;
 * - `stop`: no request after `afterBytes` data bytes, and no GET_FILES_DONE or cancel either;
 * - `malformed-hgfs`: a malformed HGFS request (after CREATE_SESSION_V4) before the files, then
 *   the files as usual;
 * - `malformed-dnd`: after the files, a malformed packet (payloadSize ≠ length − 56) in place of
 *   GET_FILES_DONE, and nothing more.
 */
export type DropFault =
  | { kind: 'outside'; how: OutsideHow; name?: string; dir?: string[]; target?: string }
  | { kind: 'oversize'; extraBytes: number }
  | { kind: 'stop'; afterBytes: number }
  | { kind: 'malformed-hgfs'; packet?: MalformedKind }
  | { kind: 'malformed-dnd' };

export interface DropOptions {
  /** Where the drop happens (SRC_DROP p1, p2); default 0, 0. */
  x?: number;
  y?: number;
  /** The guest app whose HGFS server takes the files (default: the desktop tools', toolbox-dnd). */
  app?: string;
  /** Stop after SRC_DRAG_BEGIN_DONE with SRC_CANCEL (a drag the user abandons). */
  cancelAfterBegin?: boolean;
  fault?: DropFault;
  onProgress?(p: TreeProgress): void;
  /**
   * In place of writing the tree: the test's own requests to the guest's server once it has
   * staged the drop (between SRC_DROP_DONE and GET_FILES_DONE, in the session `s`). Its result
   * decides GET_FILES_DONE as the tree's would.
   */
  fileStage?(s: GuestHgfsSession, staging: readonly string[]): Promise<TreeResult>;
}

export type DropResult = 'done' | 'failed' | 'cancelled' | 'stopped';

/** What one drop did. */
export interface DropOutcome {
  result: DropResult;
  reason?: string;
  sessionId: number;
  /** What the FILELIST announced (absent for a drag of other formats). */
  announced?: { names: string[]; files: number; dirs: number; totalBytes: number };
  /** The guest's staging directory, from SRC_DROP_DONE. */
  staging?: { components: string[]; guestPath: string };
  /** The file stage. */
  transfer?: HgfsTransferOutcome;
  /** The fault's own steps (`outside`: the write attempt and what the guest answered). */
  outside?: OutsideAttempt;
  /** GET_FILES_DONE's status, when sent (0 success, 1 failure). */
  getFilesDone?: number;
  /** This drag's messages, both ways. */
  messages: DndMessageRecord[];
  /** Backdoor calls served from SRC_DRAG_BEGIN to the end. */
  backdoorCalls: number;
}

export interface TakeOptions {
  /** Where the pointer leaves (QUERY_EXITING p4, p5, and DEST_DROP p1, p2); default 0, 0. */
  x?: number;
  y?: number;
  app?: string;
  /** How long to wait for DRAG_NOT_PENDING or DEST_DRAG_ENTER (default: answerTimeoutMs). */
  queryTimeoutMs?: number;
  /** Answer DEST_DRAG_ENTER with DEST_CANCEL instead of reading the files. */
  cancel?: boolean;
  onProgress?(p: TreeProgress): void;
}

export type TakeResult = 'taken' | 'nothing-offered' | 'failed' | 'cancelled';

export interface TakeOutcome {
  result: TakeResult;
  reason?: string;
  sessionId: number;
  /** The guest's offer: top-level names and the guest paths of its FILELIST. */
  offered?: { names: string[]; paths: string[]; totalBytes: number };
  /** Formats the guest's DEST_DRAG_ENTER clipboard held. */
  formats?: number[];
  /** The local directory the files went into. */
  dir?: string;
  transfer?: HgfsTransferOutcome;
  messages: DndMessageRecord[];
  backdoorCalls: number;
}

export interface DndHostOptions {
  /** Queues TCLO bytes for the `toolbox-dnd` app. */
  sendTclo(bytes: Buffer): void;
  now(): number;
  hgfs: GuestHgfs;
  /** Backdoor calls served so far. */
  calls?: () => number;
  /** How long each guest answer is waited for (default 10 s). */
  answerTimeoutMs?: number;
  setTimer?: SetTimer;
  /** Where `take` puts files when given no directory (default the system temp directory). */
  takeRoot?: string;
}

/** No guest has negotiated drag-and-drop version 4. */
export class DndNotNegotiated extends Error {
  override name = 'DndNotNegotiated';
  constructor() {
    super('no guest has negotiated drag-and-drop version 4');
  }
}

/** A drag is already in progress (one at a time). */
export class DndBusy extends Error {
  override name = 'DndBusy';
  constructor(what: string) {
    super(`a drag is in progress (${what})`);
  }
}

/** The guest did not say what the host waited for. */
class DndAbort extends Error {
  override name = 'DndAbort';
}

interface Waiter {
  sessionId: number;
  cmds: readonly number[];
  resolve(m: DndCpReceivedMessage): void;
  reject(e: Error): void;
}

export class DndHost extends EventEmitter {
  readonly endpoint: DndCpEndpoint;
  negotiated: DndNegotiation | undefined;
  readonly stats = {
    /** PINGs answered. */
    pings: 0,
    drops: 0,
    takes: 0,
    /** Messages no drag was waiting for (UPDATE_FEEDBACK, a late answer, …). */
    unhandled: 0,
    /** Packets the endpoint found invalid. */
    invalid: 0,
    /** REPLY messages: the guest refusing a packet (`lastReply` has the last). */
    replies: 0,
    /** TCLO answers `ERROR …` to a drag-and-drop packet. */
    tcloErrors: 0,
  };
  lastReply: { cmd: number; status: number; sessionId: number } | undefined;
  /** What the drag in progress is, if any. */
  current: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private nextSession = 1;
  private waiters: Waiter[] = [];
  private log: DndMessageRecord[] | undefined;
  private readonly setTimer: SetTimer;
  private readonly timeoutMs: number;

  constructor(private readonly o: DndHostOptions) {
    super();
    this.setTimer = o.setTimer ?? realTimer;
    this.timeoutMs = o.answerTimeoutMs ?? 10_000;
    this.endpoint = new DndCpEndpoint({
      role: 'host',
      channel: 'dnd',
      send: (packet) => o.sendTclo(encodeTransport('dnd', packet)),
    });
  }

  get active(): boolean {
    return this.negotiated?.version === DNDCP_VERSION;
  }

  /** One packet from the guest (the bytes after `dnd.transport `), handled in arrival order. */
  receive(packet: Uint8Array): void {
    const copy = Buffer.from(packet);
    this.chain = this.chain
      .then(() => this.handle(copy))
      .catch(() => {
        this.stats.invalid++;
      });
  }

  settled(): Promise<void> {
    return this.chain;
  }

  /** The guest's drag-and-drop is gone (channel closed, reset, switched off): a drag in progress fails. */
  forget(): void {
    this.negotiated = undefined;
    this.endpoint.reset();
    this.failWaiters(
      new DndAbort('the guest’s drag-and-drop went away (channel closed, reset or switched off)'),
    );
  }

  /** The guest's TCLO answer to one of our packets: `ERROR …` fails the drag waiting. */
  tcloReply(reply: string): void {
    if (!reply.startsWith('ERROR')) return;
    this.stats.tcloErrors++;
    this.failWaiters(new DndAbort(`the guest refused a drag-and-drop packet: ${reply}`));
  }

  /** Sends one packet as it is (hostile-host tests; `dnd raw HEX` on the console). */
  sendPacket(packet: Uint8Array): void {
    this.o.sendTclo(encodeTransport('dnd', packet));
  }

  /**
   * The host drags `source` into the guest and drops it: local files and folders (a FILELIST,
   * the files written into the guest's staging directory), or a clipboard of other formats.
   * Resolves with the outcome, whatever the guest did. Throws at once (before anything is sent)
   * when no guest has negotiated (DndNotNegotiated), another drag is in progress (DndBusy), or a
   * local path cannot be read.
   */
  drop(source: readonly string[] | CpClipboard, opts: DropOptions = {}): Promise<DropOutcome> {
    if (!this.active) throw new DndNotNegotiated();
    if (this.current) throw new DndBusy(this.current);
    const tree = Array.isArray(source) ? scanLocal(source as readonly string[]) : undefined;
    const clipboard = tree ? fileListClipboard(tree) : (source as CpClipboard);
    return this.runDrop(clipboard, tree, opts);
  }

  private async runDrop(
    clipboard: CpClipboard,
    tree: LocalTree | undefined,
    opts: DropOptions,
  ): Promise<DropOutcome> {
    const sessionId = this.session();
    this.current = `drop ${sessionId}`;
    this.log = [];
    this.stats.drops++;
    const calls = this.o.calls ?? (() => 0);
    const c0 = calls();
    const out: DropOutcome = { result: 'failed', sessionId, messages: this.log, backdoorCalls: 0 };
    if (tree)
      out.announced = { names: tree.top, files: tree.files, dirs: tree.dirs, totalBytes: tree.totalBytes };
    try {
      await this.dropSteps(sessionId, clipboard, tree, opts, out);
    } catch (e) {
      out.result = 'failed';
      out.reason = (e as Error).message;
      // The guest said nothing in time, or refused: the drag is called off.
      await this.send({ cmd: Cmd.DND_SRC_CANCEL, sessionId }).catch(() => {});
    } finally {
      this.endWaits(sessionId);
      this.current = undefined;
      this.log = undefined;
      out.backdoorCalls = calls() - c0;
    }
    this.emit('drop', out);
    return out;
  }

  private async dropSteps(
    sessionId: number,
    clipboard: CpClipboard,
    tree: LocalTree | undefined,
    opts: DropOptions,
    out: DropOutcome,
  ): Promise<void> {
    const [x, y] = [opts.x ?? 0, opts.y ?? 0];
    const begun = this.expect(sessionId, [Cmd.DND_SRC_DRAG_BEGIN_DONE], 'SRC_DRAG_BEGIN_DONE');
    // p1, p2 = version 4.0, as the guest's own SRC_DRAG_BEGIN_DONE has them (UNCONFIRMED for a VMX).
    await this.send({
      cmd: Cmd.DND_SRC_DRAG_BEGIN,
      sessionId,
      params: [DNDCP_VERSION, 0],
      binary: encodeClipboard(clipboard),
    });
    await begun;
    if (opts.cancelAfterBegin) {
      await this.send({ cmd: Cmd.DND_SRC_CANCEL, sessionId });
      out.result = 'cancelled';
      return;
    }
    const dropped = tree ? this.expect(sessionId, [Cmd.DND_SRC_DROP_DONE], 'SRC_DROP_DONE') : undefined;
    await this.send({ cmd: Cmd.DND_SRC_DROP, sessionId, params: [x, y] });
    if (!tree || !dropped) {
      // Text, RTF, an image: the drop ends the drag (the guest sends nothing more).
      out.result = 'done';
      return;
    }
    const done = await dropped;
    const staging = cpNameComponents(done.binary);
    if (staging.length === 0) throw new DndAbort('SRC_DROP_DONE named no staging directory');
    out.staging = { components: staging, guestPath: shownGuestPath(staging) };
    this.emit('staged', { sessionId, ...out.staging });
    const fault = opts.fault;
    let s: GuestHgfsSession;
    try {
      s = this.o.hgfs.open({ ...(opts.app ? { app: opts.app } : {}) });
    } catch (e) {
      // The guest has staged the drop and waits for GET_FILES_DONE: failed (it cleans up then).
      return this.filesDone(sessionId, out, (e as Error).message);
    }
    out.transfer = await run('put', s, { calls: this.o.calls ?? (() => 0) }, async () => {
      try {
        if (fault?.kind === 'malformed-hgfs') await sendMalformed(s, fault.packet ?? 'size');
      } catch {
        // What the guest made of it is in the request's record.
      }
      const r = opts.fileStage
        ? await opts
            .fileStage(s, staging)
            .catch((e: Error): TreeResult => ({ result: 'failed', files: 0, dirs: 0, bytes: 0, error: e }))
        : await putTree(s, tree, staging, {
            ...(fault?.kind === 'stop' ? { stopAfterBytes: fault.afterBytes } : {}),
            ...(fault?.kind === 'oversize' ? { extraBytes: fault.extraBytes } : {}),
            onProgress: (p) => {
              opts.onProgress?.(p);
              this.emit('progress', { sessionId, ...p, totalBytes: tree.totalBytes, totalFiles: tree.files });
            },
          });
      if (fault?.kind === 'outside' && r.result === 'done') {
        try {
          out.outside = await writeOutside(s, staging, fault.how, {
            ...(fault.name ? { name: fault.name } : {}),
            ...(fault.dir ? { dir: fault.dir } : {}),
            ...(fault.target ? { target: fault.target } : {}),
          });
        } catch (e) {
          return { ...r, result: 'failed' as const, error: e as Error, skipped: tree.skipped };
        }
      }
      return { ...r, skipped: tree.skipped };
    });
    if (out.transfer.result === 'stopped') {
      out.result = 'stopped';
      out.reason = `stopped on purpose after ${out.transfer.bytes} bytes`;
      return;
    }
    if (fault?.kind === 'malformed-dnd') {
      const bad = encodePacket(
        {
          cmd: Cmd.DND_GET_FILES_DONE,
          type: 1,
          src: 1,
          sessionId,
          status: 0,
          params: [0, 0, 0, 0, 0, 0],
          binarySize: 8,
          payloadOffset: 0,
        },
        Buffer.alloc(8),
      );
      bad.writeUInt32LE(7, 52);
      this.record('host→guest', { ...readHeader(bad), binary: bad.subarray(56) });
      this.sendPacket(bad);
      out.result = 'stopped';
      out.reason = 'a malformed packet in place of GET_FILES_DONE, then nothing';
      return;
    }
    if (out.transfer.result !== 'done') return this.filesDone(sessionId, out, out.transfer.error ?? 'failed');
    if (out.outside?.escaped)
      return this.filesDone(sessionId, out, 'a file was written outside the staging directory');
    return this.filesDone(sessionId, out);
  }

  /** GET_FILES_DONE: 0 when there is no failure to report, else 1 (the guest then deletes what it staged). */
  private async filesDone(sessionId: number, out: DropOutcome, failure?: string): Promise<void> {
    out.getFilesDone = failure === undefined ? Status.SUCCESS : Status.ERROR;
    out.result = failure === undefined ? 'done' : 'failed';
    if (failure !== undefined) out.reason = failure;
    await this.send({ cmd: Cmd.DND_GET_FILES_DONE, sessionId, status: out.getFilesDone });
  }

  /**
   * The pointer leaves the VM (QUERY_EXITING): when the guest has a drag going (DEST_DRAG_ENTER
   * with a FILELIST), its files are read into `dir` (made if missing; default a new directory under the take root)
   * and the drop completed with DEST_DROP. Resolves with the outcome; throws at once as drop() does.
   */
  take(dir?: string, opts: TakeOptions = {}): Promise<TakeOutcome> {
    if (!this.active) throw new DndNotNegotiated();
    if (this.current) throw new DndBusy(this.current);
    // Made now (as mkdir -p): a directory that cannot be made is refused before the guest is asked.
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
    return this.runTake(dir, opts);
  }

  private async runTake(dir: string | undefined, opts: TakeOptions): Promise<TakeOutcome> {
    const sessionId = this.session();
    this.current = `take ${sessionId}`;
    this.log = [];
    this.stats.takes++;
    const calls = this.o.calls ?? (() => 0);
    const c0 = calls();
    const out: TakeOutcome = { result: 'failed', sessionId, messages: this.log, backdoorCalls: 0 };
    try {
      await this.takeSteps(sessionId, dir, opts, out);
    } catch (e) {
      out.result = 'failed';
      out.reason = (e as Error).message;
      await this.send({ cmd: Cmd.DND_DEST_CANCEL, sessionId }).catch(() => {});
    } finally {
      this.endWaits(sessionId);
      this.current = undefined;
      this.log = undefined;
      out.backdoorCalls = calls() - c0;
    }
    this.emit('take', out);
    return out;
  }

  private async takeSteps(
    sessionId: number,
    dir: string | undefined,
    opts: TakeOptions,
    out: TakeOutcome,
  ): Promise<void> {
    const [x, y] = [opts.x ?? 0, opts.y ?? 0];
    const answer = this.expect(
      sessionId,
      [Cmd.DND_DRAG_NOT_PENDING, Cmd.DND_DEST_DRAG_ENTER],
      'DRAG_NOT_PENDING or DEST_DRAG_ENTER',
      opts.queryTimeoutMs,
    );
    // The query-exiting union (docs/protocol/dndcp.md §3.1): version 4.0, the host's caps, x, y.
    await this.send({
      cmd: Cmd.DND_QUERY_EXITING,
      sessionId,
      params: [DNDCP_VERSION, 0, this.negotiated?.caps ?? DND_CAPS, x, y],
    });
    const m = await answer;
    if (m.cmd === Cmd.DND_DRAG_NOT_PENDING) {
      out.result = 'nothing-offered';
      return;
    }
    const clipboard = decodeClipboard(m.binary);
    out.formats = [...clipboard.items.keys()];
    const list = clipboard.items.get(CpFormat.FILELIST);
    await this.send({ cmd: Cmd.DND_DEST_DRAG_ENTER_REPLY, sessionId, status: Status.SUCCESS });
    if (!list) throw new DndAbort(`the guest offered no files (formats ${out.formats.join(', ') || 'none'})`);
    const fl = decodeFileList(list);
    const paths = fl.fullPaths.map((p) => cpNameComponents(p));
    out.offered = { names: fl.relNames, paths: paths.map(shownGuestPath), totalBytes: Number(fl.totalSize) };
    if (opts.cancel) {
      await this.send({ cmd: Cmd.DND_DEST_CANCEL, sessionId });
      out.result = 'cancelled';
      return;
    }
    const into = dir ?? mkdtempSync(join(this.o.takeRoot ?? tmpdir(), 'vmx-sim-take-'));
    out.dir = into;
    const s = this.o.hgfs.open({ ...(opts.app ? { app: opts.app } : {}) });
    out.transfer = await run('get', s, { calls: this.o.calls ?? (() => 0) }, () =>
      getTree(s, paths, into, {
        onProgress: (p) => {
          opts.onProgress?.(p);
          this.emit('progress', { sessionId, ...p, totalBytes: Number(fl.totalSize) });
        },
      }),
    );
    if (out.transfer.result !== 'done')
      throw new DndAbort(out.transfer.error ?? 'the files could not be read');
    await this.send({ cmd: Cmd.DND_DEST_DROP, sessionId, params: [x, y] });
    out.result = 'taken';
  }

  private session(): number {
    const id = this.nextSession;
    // Non-zero and incrementing, as on the copy/paste channel (docs/protocol/dndcp.md, "Host side").
    this.nextSession = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  private async send(m: DndCpMessage): Promise<void> {
    this.record('host→guest', {
      cmd: m.cmd,
      sessionId: m.sessionId,
      status: m.status ?? 0,
      params: [...(m.params ?? []), 0, 0, 0, 0, 0, 0].slice(0, 6),
      binary: Buffer.from(m.binary ?? []),
    });
    await this.endpoint.sendMessage(m);
  }

  private record(
    dir: DndMessageRecord['dir'],
    m: { cmd: number; sessionId: number; status: number; params: number[]; binary: Buffer },
  ): void {
    this.log?.push({
      dir,
      cmd: m.cmd,
      name: cmdName(m.cmd),
      sessionId: m.sessionId,
      status: m.status,
      params: m.params,
      binaryBytes: m.binary.length,
    });
  }

  /** Resolves with the next message of one of `cmds` in `sessionId`; rejects after the timeout. */
  private expect(
    sessionId: number,
    cmds: readonly number[],
    what: string,
    timeoutMs = this.timeoutMs,
  ): Promise<DndCpReceivedMessage> {
    const p = new Promise<DndCpReceivedMessage>((resolve, reject) => {
      const w: Waiter = {
        sessionId,
        cmds,
        resolve: (m) => {
          cancel();
          resolve(m);
        },
        reject: (e) => {
          cancel();
          reject(e);
        },
      };
      const cancel = this.setTimer(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new DndAbort(`the guest did not send ${what} (session ${sessionId}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
    // Awaited by the drag's steps, which may end before they get to it: never an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  /** A drag has ended: whatever it still waited for is given up (timers cancelled). */
  private endWaits(sessionId: number): void {
    const mine = this.waiters.filter((w) => w.sessionId === sessionId);
    this.waiters = this.waiters.filter((w) => w.sessionId !== sessionId);
    for (const w of mine) w.reject(new DndAbort(`drag ${sessionId} ended`));
  }

  private failWaiters(e: Error): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(e);
  }

  private async handle(packet: Buffer): Promise<void> {
    const r = await this.endpoint.receive(packet);
    if (r.kind === 'invalid') this.stats.invalid++;
    if (r.kind !== 'message') return;
    const m = r.message;
    this.record('guest→host', m);
    this.emit('message', m);
    if (m.cmd === Cmd.PING) return this.ping(m);
    if (m.cmd === Cmd.REPLY) {
      this.stats.replies++;
      this.lastReply = { cmd: m.params[0] ?? 0, status: m.status, sessionId: m.sessionId };
      if (m.status !== Status.SUCCESS)
        this.failWaiters(
          new DndAbort(`the guest refused a packet: REPLY status ${m.status} to command ${m.params[0]}`),
        );
      return;
    }
    const w = this.waiters.find((x) => x.sessionId === m.sessionId && x.cmds.includes(m.cmd));
    if (!w) {
      this.stats.unhandled++;
      return;
    }
    this.waiters = this.waiters.filter((x) => x !== w);
    w.resolve(m);
  }

  private async ping(m: DndCpReceivedMessage): Promise<void> {
    const [version = 0, , guestCaps = 0] = m.params;
    const caps = (DND_CAPS & guestCaps) >>> 0;
    await this.endpoint.sendMessage({ cmd: Cmd.PING_REPLY, sessionId: 0, params: [DNDCP_VERSION, 0, caps] });
    this.stats.pings++;
    this.negotiated = { version, guestCaps, caps, at: this.o.now() };
    this.emit('negotiated', this.negotiated);
  }
}

/**
 * The clipboard of a host drag of local files: a FILELIST with the top-level names, the total
 * size of every file under them, and each item's host path as a CPName under `root`, as a POSIX
 * host names its own files (docs/protocol/dndcp.md §5.4; the guest keeps the host's paths opaque).
 */
export function fileListClipboard(tree: LocalTree): CpClipboard {
  const fullPaths = tree.paths.map((p) =>
    Buffer.from(encodeCPName(['root', ...p.split('/').filter((c) => c !== '')], 'fullPaths')),
  );
  const item = encodeFileList({ totalSize: BigInt(tree.totalBytes), relNames: tree.top, fullPaths });
  return { items: new Map([[CpFormat.FILELIST, item]]), changed: true };
}
