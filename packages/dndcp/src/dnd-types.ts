// The public shapes of the guest's drag-and-drop engine (docs/protocol/dndcp.md §10): what it is
// given, what it reports.

import type { CpFileList } from './clipboard.js';
import type { CpFormatName } from './constants.js';
import type { DndCpEndpointStats } from './endpoint.js';
import type { CopyPasteRpc } from './negotiate.js';

/** The RPCI sender: the same as copy/paste's. */
export type DndRpc = CopyPasteRpc;

/** Where dropped files go. The engine asks for one directory per drop, and removes failed ones. */
export interface DndStaging {
  /** A new, empty staging directory for one drop; its absolute real path. */
  create(dropId: number): Promise<string>;
  /** Remove a drop's staging directory and all in it (failed/cancelled drop). */
  discard(dir: string): Promise<void>;
}

/** One thing the guest offers to drag out: a file or a directory. */
export interface DndOfferFile {
  /** Absolute guest path. */
  path: string;
}

/**
 * How long the engine waits in each waiting state before it gives up (milliseconds; §10.3).
 * vmusr has none of these: a host that stops talking leaves it in the state for ever.
 */
export interface DndTimeouts {
  /** SRC_DRAG_BEGIN taken, no SRC_DROP (re-armed by each MOVE_MOUSE). */
  dragBeginMs?: number;
  /** SRC_DROP_DONE sent, no HGFS activity under the staging dir and no GET_FILES_DONE. */
  idleTransferMs?: number;
  /** DEST_DRAG_ENTER sent, no DEST_DROP, DEST_CANCEL or PRIV_DROP (re-armed by HGFS activity). */
  offerMs?: number;
}

/** Starts a one-shot timer; the result cancels it. */
export type DndSetTimer = (fire: () => void, ms: number) => () => void;

export interface DndGuestOptions {
  rpc: DndRpc;
  staging: DndStaging;
  timeouts?: DndTimeouts;
  /** Default: setTimeout, unref'd (a pending timer does not keep the process alive). */
  setTimer?: DndSetTimer;
  /** Clock for the durations in status(); default Date.now. */
  now?: () => number;
  /** Capabilities offered in PING (default DND_CAPS, what vmusr offers on this channel). */
  caps?: number;
}

/**
 * Where the engine is (§10.2): vmusr's states (`offering` is its DEST_DRAGGING), plus two a
 * headless guest needs: `staging` (the staging directory is being made) and `receiving`
 * (SRC_DROP_DONE sent, the host writes; vmusr stays in SRC_DRAGGING).
 */
export type DndState =
  | 'ready'
  | 'src-drag-pending'
  | 'src-dragging'
  | 'staging'
  | 'receiving'
  | 'query-exiting'
  | 'offering'
  | 'priv-dragging';

export interface DndStatus {
  state: DndState;
  /** The host→guest drop in progress. */
  dropId?: number;
  /** The offer armed or being dragged. */
  offerId?: number;
  /**
   * A drop: done = files the host closed after writing (as transferActivity reported them),
   * total = top-level items of its file list (a directory counts one). An offer: done 0, total
   * its top-level items.
   */
  files?: { done: number; total: number };
  /** A drop: bytes written, of the file list's total. An offer: bytes read, of its total. */
  bytes?: { done: number; total: number };
  /** Milliseconds since the drag began. */
  elapsedMs?: number;
}

/** Why a drop failed or an offer's drag ended without being taken. */
export type DndEndCode =
  /** SRC_CANCEL, or DEST_CANCEL. */
  | 'host-cancel'
  /** GET_FILES_DONE with a status other than SUCCESS. */
  | 'host-failed'
  /** A message in a state it does not belong to: vmusr resets, and so do we. */
  | 'protocol'
  | 'timeout'
  /** The host wrote more than its file list announced. */
  | 'over-size'
  /** DndStaging.create failed, or gave a path that is not absolute. */
  | 'staging'
  /** A message to the host could not be sent. */
  | 'rpc'
  /** cancel() or withdraw() in the guest. */
  | 'local-cancel'
  /** disable(), or enable() again. */
  | 'disabled'
  /** A drag of the offer was dropped back in the guest (PRIV_DROP). */
  | 'priv-drop'
  /** offer() again replaced it. */
  | 'replaced';

/** A data item of a drop without files, as the file it becomes in the staging directory. */
export interface DndDataFile {
  /** `dropped.txt`, `dropped.rtf`, `dropped.png`. */
  name: string;
  format: CpFormatName;
  /** The item's bytes (text and RTF without their trailing NUL). */
  data: Buffer;
}

export interface DndDropBegin {
  dropId: number;
  sessionId: number;
  /** Present for a drop of files. */
  fileList?: CpFileList;
  /** The formats of the host's clipboard, in format order. */
  formats: CpFormatName[];
}
export interface DndDropStaged {
  dropId: number;
  dir: string;
  /** What SRC_DROP_DONE carries: the staging directory's `root` CPName. */
  cpName: Buffer;
}
export interface DndDropDone {
  dropId: number;
  dir: string;
  /** Top-level names: the file list's, or the data files'. */
  files: string[];
  /** Bytes the host wrote (files), or the data files' total. */
  bytes: number;
  /**
   * A drop without files: the data items. They are NOT written yet: the receiver writes each to
   * `dir`/name before it announces the drop.
   */
  data?: DndDataFile[];
}
export interface DndDropFailed {
  dropId: number;
  /** The staging directory, when one was made; it is being discarded. */
  dir?: string;
  code: DndEndCode;
  reason: string;
}
export interface DndOfferEntered {
  offerId: number;
  sessionId: number;
}
export interface DndOfferTaken {
  offerId: number;
}
export interface DndOfferCancelled {
  offerId: number;
  code: DndEndCode;
  reason: string;
}

export interface DndGuestEvents {
  /** SRC_DRAG_BEGIN accepted (SRC_DRAG_BEGIN_DONE is being sent). */
  'drop-begin': [DndDropBegin];
  /** The staging directory is made; SRC_DROP_DONE is being sent: HGFS writes may start. */
  'drop-staged': [DndDropStaged];
  /** GET_FILES_DONE success, or a drop of data. */
  'drop-done': [DndDropDone];
  /** The drop ended without files: staging (if any) is being discarded. */
  'drop-failed': [DndDropFailed];
  /** DEST_DRAG_ENTER sent: the host may read the offered files. */
  'offer-entered': [DndOfferEntered];
  /** DEST_DROP: the host took the drag. */
  'offer-taken': [DndOfferTaken];
  /** The offer is gone without being taken (a drag of it cancelled, or it was withdrawn). */
  'offer-cancelled': [DndOfferCancelled];
  /** A bad packet, a failed RPCI, a throwing listener: counted, emitted when someone listens. */
  error: [error: Error];
}

export interface DndGuestStats extends DndCpEndpointStats {
  drops: number;
  dropsDone: number;
  dropsFailed: number;
  offersEntered: number;
  offersTaken: number;
  offersCancelled: number;
  /** QUERY_EXITING answered DRAG_NOT_PENDING. */
  notPending: number;
  /** Resets for a message in the wrong state. */
  resets: number;
  /** Messages with no effect in the state they came in (and unknown commands). */
  ignored: number;
  errors: number;
}
