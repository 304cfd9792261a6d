// The guest's drag-and-drop engine: what vmtoolsd's dndcp plugin does for drag and drop over
// version 4, without a display (docs/protocol/dndcp.md §9, §10). A drag from the host ends as
// files written by the host over HGFS into a staging directory; a drag out of the guest is an
// offer of files that the host reads over HGFS. The transport is injected as for copy/paste.

import { EventEmitter } from 'node:events';
import {
  assertClipboardFits,
  type CpClipboard,
  type CpFileList,
  decodeClipboard,
  decodeFileList,
  encodeClipboard,
  encodeFileList,
  encodeUriFileList,
  fileUriOfPath,
  itemText,
} from './clipboard.js';
import {
  Cmd,
  CpFormat,
  type CpFormatId,
  type CpFormatName,
  cmdName,
  DND_CAPS,
  DNDCP_VERSION,
  DropEffect,
  formatName,
  HOST_DND_VERSION_QUERY,
  Status,
  statusName,
} from './constants.js';
import { cpNameOfPath } from './cpname.js';
import type {
  DndDataFile,
  DndEndCode,
  DndGuestEvents,
  DndGuestOptions,
  DndGuestStats,
  DndOfferFile,
  DndSetTimer,
  DndStaging,
  DndState,
  DndStatus,
  DndTimeouts,
} from './dnd-types.js';
import { DndCpEndpoint } from './endpoint.js';
import { DndCpDecodeError, DndCpEncodeError, DndCpError } from './errors.js';
import type { DndCpReceivedMessage } from './message.js';
import { negotiate, transportSender } from './negotiate.js';

/** The timeouts used when none are given (§10.3). */
export const DND_DEFAULT_TIMEOUTS: Readonly<Required<DndTimeouts>> = Object.freeze({
  dragBeginMs: 120_000,
  idleTransferMs: 60_000,
  offerMs: 120_000,
});

/** The files a drop without a file list becomes, by format (§10.1). */
const DATA_FILES: readonly { format: CpFormatId; name: string; text: boolean }[] = [
  { format: CpFormat.TEXT, name: 'dropped.txt', text: true },
  { format: CpFormat.RTF, name: 'dropped.rtf', text: true },
  { format: CpFormat.IMG_PNG, name: 'dropped.png', text: false },
];

/** A drag from the host into the guest. */
interface SrcDrag {
  kind: 'src';
  dropId: number;
  sessionId: number;
  startedAt: number;
  fileList: CpFileList | undefined;
  /** The data items, for a drop without a file list. */
  data: DndDataFile[];
  /** The last UPDATE_FEEDBACK sent. */
  feedback: number;
  dir?: string;
  cpName?: Buffer;
  bytes: number;
  filesDone: number;
}

interface Offer {
  offerId: number;
  paths: string[];
  totalBytes: number;
  clipboard: Buffer;
}

/** A drag of the guest's offer out to the host. */
interface DestDrag {
  kind: 'dest';
  offer: Offer;
  sessionId: number;
  startedAt: number;
  bytes: number;
}

type Drag = SrcDrag | DestDrag;

const defaultSetTimer: DndSetTimer = (fire, ms) => {
  const t = setTimeout(fire, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

export class DndGuest extends EventEmitter<DndGuestEvents> {
  readonly #rpc: DndGuestOptions['rpc'];
  readonly #staging: DndStaging;
  readonly #timeouts: Required<DndTimeouts>;
  readonly #setTimer: DndSetTimer;
  readonly #now: () => number;
  readonly #caps: number;
  readonly #endpoint: DndCpEndpoint;
  #version = 0;
  #enabled = false;
  #hostCaps: number | undefined;
  #state: DndState = 'ready';
  #drag: Drag | undefined;
  #offer: Offer | undefined;
  #cancelTimer: (() => void) | undefined;
  #dropSeq = 0;
  #offerSeq = 0;
  readonly #pending = new Set<Promise<void>>();
  readonly #stats = {
    drops: 0,
    dropsDone: 0,
    dropsFailed: 0,
    offersEntered: 0,
    offersTaken: 0,
    offersCancelled: 0,
    notPending: 0,
    resets: 0,
    ignored: 0,
    errors: 0,
  };

  constructor(o: DndGuestOptions) {
    super();
    this.#rpc = o.rpc;
    this.#staging = o.staging;
    this.#timeouts = { ...DND_DEFAULT_TIMEOUTS, ...definedOnly(o.timeouts ?? {}) };
    for (const [k, v] of Object.entries(this.#timeouts))
      if (!(Number.isFinite(v) && v > 0))
        throw new RangeError(`timeouts.${k} must be a positive number of ms, not ${v}`);
    this.#setTimer = o.setTimer ?? defaultSetTimer;
    this.#now = o.now ?? Date.now;
    this.#caps = o.caps ?? DND_CAPS;
    this.#endpoint = new DndCpEndpoint({
      role: 'guest',
      channel: 'dnd',
      send: transportSender(o.rpc, 'dnd'),
    });
  }

  /** The host's drag-and-drop version from the last enable(): 4, 3 (not spoken here), or 0. */
  get version(): number {
    return this.#version;
  }

  /** The capabilities of the host's PING_REPLY; undefined until one came (vmusr then allows all). */
  get hostCaps(): number | undefined {
    return this.#hostCaps;
  }

  /** Version 4 negotiated and drag and drop enabled: handleTransport takes packets. */
  get active(): boolean {
    return this.#enabled && this.#version === DNDCP_VERSION;
  }

  get state(): DndState {
    return this.#state;
  }

  get stats(): DndGuestStats {
    return { ...this.#stats, ...this.#endpoint.stats };
  }

  status(): DndStatus {
    const s: DndStatus = { state: this.#state };
    const d = this.#drag;
    if (d?.kind === 'src') {
      s.dropId = d.dropId;
      s.elapsedMs = this.#now() - d.startedAt;
      if (d.fileList) {
        s.files = { done: d.filesDone, total: d.fileList.relNames.length };
        s.bytes = { done: d.bytes, total: Number(d.fileList.totalSize) };
      } else {
        const total = d.data.reduce((n, f) => n + f.data.length, 0);
        s.files = { done: 0, total: d.data.length };
        s.bytes = { done: 0, total };
      }
    }
    const offer = d?.kind === 'dest' ? d.offer : this.#offer;
    if (offer) {
      s.offerId = offer.offerId;
      s.files = { done: 0, total: offer.paths.length };
      s.bytes = { done: d?.kind === 'dest' ? d.bytes : 0, total: offer.totalBytes };
      if (d?.kind === 'dest') s.elapsedMs = this.#now() - d.startedAt;
    }
    return s;
  }

  /** The armed offer (or the one being dragged): its paths and total size. */
  currentOffer(): { offerId: number; paths: string[]; totalBytes: number } | undefined {
    const o = this.#drag?.kind === 'dest' ? this.#drag.offer : this.#offer;
    return o && { offerId: o.offerId, paths: [...o.paths], totalBytes: o.totalBytes };
  }

  /**
   * What the host's `Set_Option enableDnD 1` starts (§1, §10): asks vmx.capability.dnd_version
   * and, at 4, sends PING {4, 0, caps} on dnd.transport. Ends a drag in progress ('disabled'), as
   * vmusr resets on a version change. Returns the version (0 when the query failed). Never throws.
   */
  async enable(): Promise<number> {
    this.#endAny('disabled', 'drag and drop was negotiated again');
    this.#enabled = true;
    this.#hostCaps = undefined;
    this.#endpoint.reset();
    return negotiate({
      rpc: this.#rpc,
      query: HOST_DND_VERSION_QUERY,
      endpoint: this.#endpoint,
      caps: this.#caps,
      onVersion: (v) => {
        this.#version = v;
      },
      onError: (e) => this.#error(e),
    });
  }

  /** `Set_Option enableDnD 0`: a drag in progress ends ('disabled'); packets are no longer taken. */
  disable(): void {
    this.#enabled = false;
    this.#endAny('disabled', 'drag and drop was switched off');
    this.#endpoint.reset();
  }

  /**
   * Takes the bytes after `dnd.transport ` of one TCLO. Never throws: a bad packet (answered
   * REPLY INVALID_PACKET as vmtoolsd does, §4.1), a failed RPCI, a throwing listener are 'error'
   * events. An empty packet is an 'error' event too; vmtoolsd answers that TCLO
   * `ERROR invalid arg size` (§2.1), which is the caller's to do.
   */
  async handleTransport(packet: Uint8Array): Promise<void> {
    try {
      if (packet.length === 0) {
        this.#error(new DndCpDecodeError('packet', 'empty (vmtoolsd answers "invalid arg size")', 0));
        return;
      }
      if (!this.active) {
        this.#error(new DndCpError('drag and drop is not enabled at version 4: packet ignored'));
        return;
      }
      const r = await this.#endpoint.receive(packet);
      if (r.kind === 'invalid') this.#error(r.error);
      else if (r.kind === 'message') await this.#dispatch(r.message);
    } catch (e) {
      this.#error(e);
    }
  }

  /**
   * The HGFS server served a request under the current drop's staging directory, or read from
   * the offer's files: re-arms that state's timer and counts `bytes`. For a drop, `fileDone`
   * counts a written file closed; writing past the file list's total fails the drop ('over-size').
   * Outside a drop or a drag of the offer it does nothing.
   */
  transferActivity(bytes: number, opts: { fileDone?: boolean } = {}): void {
    const d = this.#drag;
    if (d?.kind === 'src' && this.#state === 'receiving') {
      d.bytes += bytes;
      if (opts.fileDone) d.filesDone++;
      const total = d.fileList?.totalSize ?? 0n;
      if (BigInt(d.bytes) > total) {
        this.#failDrop(
          d,
          'over-size',
          `the host wrote ${d.bytes} bytes, more than the ${total} its file list announced`,
        );
        return;
      }
      this.#arm(d, this.#timeouts.idleTransferMs, 'no HGFS activity and no GET_FILES_DONE');
    } else if (d?.kind === 'dest' && (this.#state === 'offering' || this.#state === 'priv-dragging')) {
      d.bytes += bytes;
      this.#arm(d, this.#timeouts.offerMs, 'no DEST_DROP or DEST_CANCEL');
    }
  }

  /**
   * Offers files and directories to drag out (§10.4): the next QUERY_EXITING enters a drag of them.
   * Replaces an earlier offer (a drag of it ends: 'replaced'). Returns the offer's id. Throws
   * DndCpEncodeError for an empty list, a path that is not absolute or names `/`, a bad size,
   * and DndCpLimitError when the list does not fit a clipboard.
   */
  offer(files: readonly DndOfferFile[], sizes: { totalBytes: number }): number {
    if (files.length === 0) throw new DndCpEncodeError('offer', 'no files');
    if (!Number.isSafeInteger(sizes.totalBytes) || sizes.totalBytes < 0)
      throw new DndCpEncodeError('offer.totalBytes', `${sizes.totalBytes} is not a byte count`);
    const paths = files.map((f) => f.path);
    const relNames = paths.map((p) => {
      const name = p
        .split('/')
        .filter((c) => c !== '')
        .at(-1);
      if (!p.startsWith('/') || name === undefined)
        throw new DndCpEncodeError('offer.path', `${JSON.stringify(p)} is not an absolute path below /`);
      return name;
    });
    const totalSize = BigInt(sizes.totalBytes);
    const clipboard: CpClipboard = {
      items: new Map<CpFormatId, Buffer>([
        [CpFormat.FILELIST, encodeFileList({ totalSize, relNames, fullPaths: paths.map(cpNameOfPath) })],
        [CpFormat.FILELIST_URI, encodeUriFileList({ totalSize, uris: paths.map(fileUriOfPath) })],
      ]),
      changed: true,
    };
    assertClipboardFits(clipboard);
    const offer: Offer = {
      offerId: ++this.#offerSeq,
      paths,
      totalBytes: sizes.totalBytes,
      clipboard: encodeClipboard(clipboard),
    };
    this.#dropOffer('replaced', `replaced by offer ${offer.offerId}`);
    this.#offer = offer;
    return offer.offerId;
  }

  /** Takes the offer back; a drag of it ends. 'offer-cancelled' ('local-cancel') when there was one. */
  withdraw(): void {
    this.#dropOffer('local-cancel', 'withdrawn');
  }

  /**
   * Ends the drag in progress, either way ('local-cancel'): a drop fails and its staging is
   * discarded, a drag of the offer is cancelled (the offer is used up). vmusr has no message for
   * this: the host learns it when its HGFS requests are refused. An armed offer stays.
   */
  cancel(reason = 'cancelled in the guest'): void {
    this.#endAny('local-cancel', reason);
  }

  /** Resolves when the staging directories of failed drops are discarded. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  // ---- messages ------------------------------------------------------------------------------

  async #dispatch(m: DndCpReceivedMessage): Promise<void> {
    switch (m.cmd) {
      case Cmd.PING_REPLY:
        this.#hostCaps = m.params[2] ?? 0;
        return;
      case Cmd.REPLY:
        if (m.status !== Status.SUCCESS)
          this.#error(
            new DndCpError(
              `the host answered ${statusName(m.status)} to a packet (reply to cmd ${m.params[0]})`,
            ),
          );
        else this.#stats.ignored++;
        return;
      case Cmd.DND_SRC_DRAG_BEGIN:
        return this.#onDragBegin(m);
      case Cmd.DND_MOVE_MOUSE:
        return this.#onMoveMouse();
      case Cmd.DND_SRC_DROP:
        return this.#onDrop(m);
      case Cmd.DND_SRC_CANCEL:
        return this.#onSrcCancel();
      case Cmd.DND_GET_FILES_DONE:
        return this.#onGetFilesDone(m);
      case Cmd.DND_QUERY_EXITING:
        return this.#onQueryExiting(m);
      case Cmd.DND_DEST_DRAG_ENTER_REPLY:
        // vmusr only logs it (§9.1).
        this.#stats.ignored++;
        return;
      case Cmd.DND_PRIV_DRAG_ENTER:
        return this.#onPriv(m, 'offering', 'priv-dragging');
      case Cmd.DND_PRIV_DRAG_LEAVE:
        return this.#onPriv(m, 'priv-dragging', 'offering');
      case Cmd.DND_PRIV_DROP:
        return this.#onDestEnd(m, 'priv-drop', 'the drag was dropped back in the guest (PRIV_DROP)');
      case Cmd.DND_DEST_DROP:
        return this.#onDestEnd(m, undefined, '');
      case Cmd.DND_DEST_CANCEL:
      // open-vm-tools 13.1's number for DEST_CANCEL; for older guests a Unity window update
      // (which, showing, also resets a drag in progress): a cancel under both readings (§9.1).
      case Cmd.DND_UPDATE_UNITY_DET_WND:
        return this.#onDestEnd(m, 'host-cancel', 'the host cancelled the drag (DEST_CANCEL)');
      default:
        this.#stats.ignored++;
    }
  }

  async #onDragBegin(m: DndCpReceivedMessage): Promise<void> {
    // vmtoolsd drops a SRC_DRAG_BEGIN without a valid clipboard before its state machine sees it.
    if (m.binary.length === 0) {
      this.#error(new DndCpDecodeError('binary', 'SRC_DRAG_BEGIN without a clipboard'));
      return;
    }
    const clip = decodeClipboard(m.binary); // throws: an 'error' event, nothing changes
    if (this.#state !== 'ready') return this.#reset(m);
    const filelist = clip.items.get(CpFormat.FILELIST);
    const fileList = filelist ? decodeFileList(filelist) : undefined;
    const data = fileList
      ? []
      : DATA_FILES.flatMap(({ format, name, text }) => {
          const item = clip.items.get(format);
          return item
            ? [{ name, format: formatName(format) as CpFormatName, data: text ? itemText(item) : item }]
            : [];
        });
    if (!fileList && data.length === 0) {
      // Nothing a headless guest can drop; vmusr, failing to set up a drag, stays READY silently.
      this.#error(
        new DndCpDecodeError(
          'clipboard',
          `SRC_DRAG_BEGIN with no files, text, RTF or PNG (${[...clip.items.keys()].map(formatName).join(', ') || 'empty'}): not taken`,
        ),
      );
      return;
    }
    const d: SrcDrag = {
      kind: 'src',
      dropId: ++this.#dropSeq,
      sessionId: m.sessionId,
      startedAt: this.#now(),
      fileList,
      data,
      feedback: DropEffect.NONE,
      bytes: 0,
      filesDone: 0,
    };
    this.#drag = d;
    this.#state = 'src-drag-pending';
    this.#stats.drops++;
    this.#arm(d, this.#timeouts.dragBeginMs, 'no SRC_DROP');
    const begin = {
      dropId: d.dropId,
      sessionId: d.sessionId,
      formats: [...clip.items.keys()].map((f) => formatName(f) as CpFormatName),
      ...(fileList ? { fileList } : {}),
    };
    this.#notify('drop-begin', begin);
    if (
      !(await this.#send(d, {
        cmd: Cmd.DND_SRC_DRAG_BEGIN_DONE,
        sessionId: d.sessionId,
        params: [DNDCP_VERSION, 0],
      }))
    )
      return;
    if (this.#drag !== d) return;
    this.#state = 'src-dragging';
    // vmusr's drag starts with the feedback "none" (the pointer is over no target yet).
    await this.#send(d, { cmd: Cmd.DND_UPDATE_FEEDBACK, sessionId: d.sessionId, params: [DropEffect.NONE] });
  }

  async #onMoveMouse(): Promise<void> {
    const d = this.#drag;
    // vmusr moves its pointer only while SRC_DRAGGING or PRIV_DRAGGING, and ignores it otherwise.
    if (d?.kind !== 'src' || this.#state !== 'src-dragging') {
      this.#stats.ignored++;
      return;
    }
    this.#arm(d, this.#timeouts.dragBeginMs, 'no SRC_DROP');
    // The whole guest is the drop target and takes a copy; vmusr sends a feedback only on a change.
    if (d.feedback === DropEffect.COPY) return;
    d.feedback = DropEffect.COPY;
    await this.#send(d, { cmd: Cmd.DND_UPDATE_FEEDBACK, sessionId: d.sessionId, params: [DropEffect.COPY] });
  }

  async #onDrop(m: DndCpReceivedMessage): Promise<void> {
    const d = this.#drag;
    if (d?.kind === 'src' && this.#state === 'staging') {
      this.#stats.ignored++;
      return;
    }
    if (d?.kind === 'src' && this.#state === 'receiving' && d.cpName) {
      // vmusr stays in SRC_DRAGGING after the drop and answers a second SRC_DROP the same way.
      await this.#send(d, { cmd: Cmd.DND_SRC_DROP_DONE, sessionId: m.sessionId, binary: d.cpName });
      return;
    }
    if (d?.kind !== 'src') {
      // No drag from the host: vmusr has no source object to hand it to.
      this.#stats.ignored++;
      return;
    }
    if (this.#state !== 'src-dragging') return this.#reset(m);
    this.#state = 'staging';
    this.#arm(d, this.#timeouts.idleTransferMs, 'the staging directory was not made');
    let dir: string;
    try {
      dir = await this.#staging.create(d.dropId);
    } catch (e) {
      if (this.#drag === d) this.#failDrop(d, 'staging', `no staging directory: ${errorText(e)}`);
      return;
    }
    if (this.#drag !== d) {
      // Ended (cancelled, timed out) while the directory was being made.
      await this.#discard(dir);
      return;
    }
    d.dir = dir;
    if (!d.fileList) {
      // Text, RTF, PNG: nothing more to wait for; vmusr sends nothing and is READY again.
      this.#finish();
      this.#stats.dropsDone++;
      this.#notify('drop-done', {
        dropId: d.dropId,
        dir,
        files: d.data.map((f) => f.name),
        bytes: d.data.reduce((n, f) => n + f.data.length, 0),
        data: d.data,
      });
      return;
    }
    let cpName: Buffer;
    try {
      cpName = cpNameOfPath(dir);
    } catch (e) {
      this.#failDrop(d, 'staging', `the staging directory ${JSON.stringify(dir)}: ${errorText(e)}`);
      return;
    }
    d.cpName = cpName;
    this.#state = 'receiving';
    this.#arm(d, this.#timeouts.idleTransferMs, 'no HGFS activity and no GET_FILES_DONE');
    // Before SRC_DROP_DONE: the receiver opens the directory to HGFS before the host can write.
    this.#notify('drop-staged', { dropId: d.dropId, dir, cpName: Buffer.from(cpName) });
    if (this.#drag !== d) return;
    await this.#send(d, { cmd: Cmd.DND_SRC_DROP_DONE, sessionId: m.sessionId, binary: cpName });
  }

  #onSrcCancel(): void {
    const d = this.#drag;
    if (d?.kind !== 'src') {
      this.#stats.ignored++;
      return;
    }
    this.#failDrop(d, 'host-cancel', 'the host cancelled the drag (SRC_CANCEL)');
  }

  async #onGetFilesDone(m: DndCpReceivedMessage): Promise<void> {
    const d = this.#drag;
    if (d?.kind !== 'src') {
      this.#stats.ignored++;
      return;
    }
    if (this.#state !== 'receiving') return this.#reset(m);
    if (m.status !== Status.SUCCESS) {
      this.#failDrop(
        d,
        'host-failed',
        `the host reports the transfer failed (GET_FILES_DONE ${statusName(m.status)})`,
      );
      return;
    }
    this.#finish();
    this.#stats.dropsDone++;
    this.#notify('drop-done', {
      dropId: d.dropId,
      dir: d.dir as string,
      files: [...(d.fileList as CpFileList).relNames],
      bytes: d.bytes,
    });
  }

  async #onQueryExiting(m: DndCpReceivedMessage): Promise<void> {
    if (this.#state !== 'ready') return this.#reset(m);
    const offer = this.#offer;
    if (!offer) {
      this.#stats.notPending++;
      await this.#endpoint
        .sendMessage({ cmd: Cmd.DND_DRAG_NOT_PENDING, sessionId: m.sessionId })
        .catch((e) => this.#error(e));
      return;
    }
    const d: DestDrag = { kind: 'dest', offer, sessionId: m.sessionId, startedAt: this.#now(), bytes: 0 };
    this.#drag = d;
    this.#state = 'query-exiting';
    this.#arm(d, this.#timeouts.offerMs, 'no DEST_DROP or DEST_CANCEL');
    const sent = await this.#send(d, {
      cmd: Cmd.DND_DEST_DRAG_ENTER,
      sessionId: m.sessionId,
      params: [DNDCP_VERSION, 0],
      binary: offer.clipboard,
    });
    if (!sent || this.#drag !== d) return;
    this.#state = 'offering';
    this.#stats.offersEntered++;
    this.#notify('offer-entered', { offerId: offer.offerId, sessionId: m.sessionId });
  }

  #onPriv(m: DndCpReceivedMessage, from: DndState, to: DndState): void {
    if (this.#drag?.kind !== 'dest') {
      this.#stats.ignored++;
      return;
    }
    if (this.#state !== from) {
      this.#reset(m);
      return;
    }
    this.#state = to;
  }

  #onDestEnd(m: DndCpReceivedMessage, code: DndEndCode | undefined, reason: string): void {
    const d = this.#drag;
    if (d?.kind !== 'dest') {
      this.#stats.ignored++;
      return;
    }
    if (this.#state === 'query-exiting') {
      // DEST_DRAG_ENTER is still going out: too early for an end of the drag.
      this.#reset(m);
      return;
    }
    if (code === undefined) {
      // DEST_DROP: the host took the files (it reads them over HGFS); vmusr treats it as a cancel
      // of its own drag, which is over.
      this.#finish();
      if (this.#offer === d.offer) this.#offer = undefined;
      this.#stats.offersTaken++;
      this.#notify('offer-taken', { offerId: d.offer.offerId });
      return;
    }
    this.#endDest(d, code, reason);
  }

  // ---- state changes -------------------------------------------------------------------------

  /** A message in a state it does not belong to: back to ready, ending the drag (vmusr's ResetDnD). */
  #reset(m: DndCpReceivedMessage): void {
    this.#stats.resets++;
    this.#endAny('protocol', `${cmdName(m.cmd)} in state ${this.#state}`);
  }

  #endAny(code: DndEndCode, reason: string): void {
    const d = this.#drag;
    if (d?.kind === 'src') this.#failDrop(d, code, reason);
    else if (d?.kind === 'dest') this.#endDest(d, code, reason);
    else this.#finish();
  }

  /** The drag ends; nothing else happens. */
  #finish(): void {
    this.#disarm();
    this.#drag = undefined;
    this.#state = 'ready';
  }

  #failDrop(d: SrcDrag, code: DndEndCode, reason: string): void {
    if (this.#drag !== d) return;
    this.#finish();
    this.#stats.dropsFailed++;
    // The receiver closes the directory to HGFS on this event, before it is removed.
    this.#notify('drop-failed', { dropId: d.dropId, ...(d.dir ? { dir: d.dir } : {}), code, reason });
    if (d.dir) void this.#discard(d.dir);
  }

  /** A drag of the offer ends untaken: the offer is used up. */
  #endDest(d: DestDrag, code: DndEndCode, reason: string): void {
    if (this.#drag !== d) return;
    this.#finish();
    if (this.#offer === d.offer) this.#offer = undefined;
    this.#stats.offersCancelled++;
    this.#notify('offer-cancelled', { offerId: d.offer.offerId, code, reason });
  }

  /** Takes the offer back: a drag of it ends, and 'offer-cancelled' tells it. */
  #dropOffer(code: DndEndCode, reason: string): void {
    const d = this.#drag;
    if (d?.kind === 'dest' && d.offer === this.#offer) {
      this.#endDest(d, code, reason);
      return;
    }
    const o = this.#offer;
    if (!o) return;
    this.#offer = undefined;
    this.#stats.offersCancelled++;
    this.#notify('offer-cancelled', { offerId: o.offerId, code, reason });
  }

  #arm(d: Drag, ms: number, what: string): void {
    this.#disarm();
    this.#cancelTimer = this.#setTimer(() => {
      this.#cancelTimer = undefined;
      if (this.#drag !== d) return;
      this.#endAny('timeout', `${what} for ${ms} ms in state ${this.#state}`);
    }, ms);
  }

  #disarm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Sends a message for drag `d`; a failure ends the drag ('rpc'), as vmusr resets. */
  async #send(d: Drag, m: Parameters<DndCpEndpoint['sendMessage']>[0]): Promise<boolean> {
    try {
      await this.#endpoint.sendMessage(m);
      return true;
    } catch (e) {
      this.#error(e);
      if (this.#drag === d) this.#endAny('rpc', `${cmdName(m.cmd)} could not be sent: ${errorText(e)}`);
      return false;
    }
  }

  #discard(dir: string): Promise<void> {
    const p = this.#staging
      .discard(dir)
      .catch((e) =>
        this.#error(new DndCpError(`staging directory ${dir} not discarded: ${errorText(e)}`, { cause: e })),
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
    return p;
  }

  #notify<K extends Exclude<keyof DndGuestEvents, 'error'>>(name: K, ...args: DndGuestEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: DndGuestEvents[K]) => boolean)(name, ...args);
    } catch (e) {
      this.#error(e);
    }
  }

  #error(e: unknown): void {
    this.#stats.errors++;
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', err);
    } catch {
      // A throwing 'error' listener is counted above and goes no further.
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
