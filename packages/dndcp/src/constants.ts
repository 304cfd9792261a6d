// The numbers and words of VMware's drag-and-drop/copy-paste protocol version 4, one home for each
// (docs/protocol/dndcp.md). Other packages import these instead of writing their own.

/** Size of the V4 message header (14 little-endian u32), docs/protocol/dndcp.md §3.1. */
export const DNDCP_HEADER_SIZE = 56;
/** Largest GuestRPC packet of the transport: header + payload, after the command word (§2.2). */
export const DNDCP_PACKET_MAX = 65436;
/** Largest payload in one packet: DNDCP_PACKET_MAX − DNDCP_HEADER_SIZE (§2.2). */
export const DNDCP_PAYLOAD_MAX = 65380;
/** Largest binary of one whole message, after reassembly (§2.2). */
export const DNDCP_BINARY_MAX = 4194304;
/**
 * The clipboard limit of version 3 and 4 (§5.3): every item, and the items' total, must stay
 * BELOW this many bytes; the largest accepted size is CP_ITEM_MAX − 1.
 */
export const CP_ITEM_MAX = 4194191;
/** The protocol version this package speaks (§1). */
export const DNDCP_VERSION = 4;

/** GuestRPC command word of the copy/paste channel, both RPCI and TCLO (§2.1). */
export const CP_TRANSPORT = 'copypaste.transport';
/** GuestRPC command word of the drag-and-drop channel, both RPCI and TCLO (§2.1). */
export const DND_TRANSPORT = 'dnd.transport';

/**
 * The TCLO application the transport commands travel to: vmtoolsd's user-session instance
 * (vmusr), which answers `reset` with `OK ATR toolbox-dnd` (§1). vmsvc (`toolbox`) has no dndcp.
 */
export const DNDCP_TCLO_APP = 'toolbox-dnd';

/** Capability names the guest sets as `tools.capability.NAME 4` (§1). */
export const CapabilityName = {
  guestCopyPasteVersion: 'copypaste_version',
  guestDndVersion: 'dnd_version',
} as const;
/**
 * The TCLO `Set_Option NAME VALUE` names that switch the features on (value "1") and off (§1);
 * vmtoolsd's dndcp plugin does nothing before them.
 */
export const CpOption = { copyPaste: 'copypaste', enableDnd: 'enableDnD' } as const;
/** RPCI the guest asks the host's copy/paste version with; a V4 host answers `1 4` (§1). */
export const HOST_CP_VERSION_QUERY = 'vmx.capability.copypaste_version';
/** RPCI the guest asks the host's drag-and-drop version with (§1). */
export const HOST_DND_VERSION_QUERY = 'vmx.capability.dnd_version';
/** RPCI the guest asks before a reset whether a drag is in progress; idle is `1 0` (§1). */
export const DND_IS_ACTIVE = 'dnd.is.active';

/** Commands (the header's `cmd`), §3.2. */
export const Cmd = {
  INVALID: 0,
  PING: 1,
  PING_REPLY: 2,
  REQUEST_NEXT: 3,
  /** Spelled DNDCP_CMP_REPLY upstream. */
  REPLY: 4,
  TEST_BIG_BINARY: 5,
  TEST_BIG_BINARY_REPLY: 6,
  DND_DEST_DRAG_ENTER: 1000,
  DND_DEST_DRAG_ENTER_REPLY: 1001,
  DND_DEST_SEND_CLIPBOARD: 1002,
  DND_DEST_DRAG_LEAVE: 1003,
  DND_DEST_DROP: 1004,
  DND_SRC_DRAG_BEGIN: 1005,
  DND_SRC_DRAG_BEGIN_DONE: 1006,
  DND_SRC_DROP: 1007,
  DND_SRC_DROP_DONE: 1008,
  DND_SRC_CANCEL: 1009,
  DND_PRIV_DRAG_ENTER: 1010,
  DND_PRIV_DRAG_LEAVE: 1011,
  DND_PRIV_DROP: 1012,
  DND_MOVE_MOUSE: 1013,
  DND_UPDATE_FEEDBACK: 1014,
  DND_REQUEST_FILES: 1015,
  DND_GET_FILES_DONE: 1016,
  DND_SEND_FILES_DONE: 1017,
  DND_QUERY_EXITING: 1018,
  DND_DRAG_NOT_PENDING: 1019,
  /**
   * Unity's detection window; deleted from open-vm-tools 13.1's header, whose DEST_CANCEL then
   * took this number (§9.1).
   */
  DND_UPDATE_UNITY_DET_WND: 1020,
  /** 1021 in every release to 13.0 (vmusr 12.2 included); the VMX's number is UNCONFIRMED (§9.1). */
  DND_DEST_CANCEL: 1021,
  CP_REQUEST_CLIPBOARD: 2000,
  CP_REQUEST_FILES: 2001,
  CP_RECV_CLIPBOARD: 2002,
  CP_SEND_CLIPBOARD: 2003,
  CP_GET_FILES_DONE: 2004,
  CP_SEND_FILES_DONE: 2005,
  FT_HGFS_REQUEST: 3000,
  FT_HGFS_REPLY: 3001,
  FT_UPDATE_PROGRESS: 3002,
  FT_PROGRESS_REPLY: 3003,
} as const;
export type CmdName = keyof typeof Cmd;

/** Message statuses (the header's `status`), §3.3. */
export const Status = {
  SUCCESS: 0,
  ERROR: 1,
  CANCEL: 2,
  BUSY: 3,
  ACCEPTED: 4,
  INVALID_PACKET: 5,
  INVALID_SESSION_ID: 6,
  INVALID_FORMAT: 7,
} as const;
export type StatusName = keyof typeof Status;

/** Capability bits, exchanged in PING (p3) and PING_REPLY (p3), §3.3. */
export const Cap = {
  VALID: 0x1,
  DND: 0x2,
  CP: 0x4,
  PLAIN_TEXT_DND: 0x8,
  PLAIN_TEXT_CP: 0x10,
  RTF_DND: 0x20,
  RTF_CP: 0x40,
  IMAGE_DND: 0x80,
  IMAGE_CP: 0x100,
  FILE_DND: 0x200,
  FILE_CP: 0x400,
  FILE_CONTENT_DND: 0x800,
  FILE_CONTENT_CP: 0x1000,
  ACTIVE_CP: 0x2000,
  GUEST_PROGRESS: 0x4000,
  BIG_BUFFER: 0x8000,
} as const;
/** VALID | CP | every copy/paste format: what vmusr pings the copy/paste channel with (§3.3). */
export const CP_CAPS = 0x1555;
/** VALID | DND | every drag-and-drop format: what vmusr pings the drag-and-drop channel with (§3.3). */
export const DND_CAPS = 0x0aab;

/**
 * DND_DROPEFFECT: p1 of UPDATE_FEEDBACK, what a drop would do where the pointer is (§9.1). One bit
 * each; UNKNOWN is bit 31.
 */
export const DropEffect = { NONE: 0, COPY: 0x1, MOVE: 0x2, LINK: 0x4, UNKNOWN: 0x80000000 } as const;

/** The header's `type` (§3.1.1; note the swap quirk there). */
export const MsgType = { INVALID: 0, DND: 1, CP: 2, FT: 3 } as const;
/** The header's `src` (§3.1.1). */
export const MsgSrc = { INVALID: 0, HOST: 1, CONTROLLER: 2, GUEST: 3 } as const;

/** Clipboard formats (§5.1). MAX is no format: it is the count written first in a clipboard. */
export const CpFormat = {
  TEXT: 1,
  FILELIST: 2,
  RTF: 3,
  FILELIST_URI: 4,
  FILECONTENTS: 5,
  IMG_PNG: 6,
  FILEATTRIBUTES: 7,
  BIFF12: 8,
  ART_GVML: 9,
  HTML: 10,
  MAX: 11,
} as const;
export type CpFormatId = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export type CpFormatName = Exclude<keyof typeof CpFormat, 'MAX'>;

/** Is `f` a clipboard format that can hold an item (1..10)? */
export function isCpFormatId(f: number): f is CpFormatId {
  return Number.isInteger(f) && f >= CpFormat.TEXT && f < CpFormat.MAX;
}

function reverse(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const CMD_NAMES = reverse(Cmd);
const STATUS_NAMES = reverse(Status);
const FORMAT_NAMES = reverse(CpFormat);

/** 'CP_RECV_CLIPBOARD', or 'cmd 1234' when unknown. */
export function cmdName(cmd: number): string {
  return CMD_NAMES.get(cmd) ?? `cmd ${cmd}`;
}
/** 'INVALID_PACKET', or 'status 99' when unknown. */
export function statusName(s: number): string {
  return STATUS_NAMES.get(s) ?? `status ${s}`;
}
/** 'TEXT', 'IMG_PNG', …, or 'format 42' when unknown. */
export function formatName(f: number): string {
  return (f !== CpFormat.MAX && FORMAT_NAMES.get(f)) || `format ${f}`;
}
/** The names of the bits set in `caps`, e.g. ['VALID', 'CP', 'PLAIN_TEXT_CP'], and 'bit N' for unknown ones. */
export function capNames(caps: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const v = 2 ** bit;
    if (Math.floor(caps / v) % 2 === 1) {
      const name = Object.entries(Cap).find(([, x]) => x === v)?.[0];
      out.push(name ?? `bit ${bit}`);
    }
  }
  return out;
}
