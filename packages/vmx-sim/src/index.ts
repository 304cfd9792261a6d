// The GuestMsg protocol facts live in @vmw9/backdoor; these names stay for existing callers.
export { COOKIE_FLAG, PROTOCOL_RPCI as PROTO_RPCI, PROTOCOL_TCLO as PROTO_TCLO } from '@vmw9/backdoor';
// The HGFS server moved to @vmw9/hgfs (its server role); these names stay exported here for
// existing callers.
export {
  checkShareName,
  HgfsFailure,
  type HgfsOpRecord,
  HgfsServer,
  type HgfsServerOptions,
  type HostShare,
  HostShares,
  isInside,
  type Location,
  MAX_SHARE_NAME_BYTES,
  PathRefused,
  type RefusalKind,
  resolveName,
  type Share,
  ShareError,
  type ShareTable,
  statusOf,
} from '@vmw9/hgfs';
// Dial strings have one home, ninep/dial; these stay exported here for existing callers.
export { type DialAddress, DialError, formatDial, parseDial } from 'ninep/dial';
export { SocketBackdoorPort } from './client.js';
export { CONSOLE_HELP, runConsoleCommand } from './console.js';
export {
  type ClipboardMove,
  type ClipboardMover,
  CONSOLE_FORMATS,
  HostClipboard,
  shortFormatName,
} from './copypaste/clipboard.js';
export {
  CopyPasteHost,
  type CopyPasteHostOptions,
  type CpGuestAnswer,
  type CpNegotiation,
  NotNegotiated,
} from './copypaste/controller.js';
export {
  DndBusy,
  DndHost,
  type DndHostOptions,
  type DndMessageRecord,
  type DndNegotiation,
  DndNotNegotiated,
  type DropFault,
  type DropOptions,
  type DropOutcome,
  type DropResult,
  fileListClipboard,
  type TakeOptions,
  type TakeOutcome,
  type TakeResult,
} from './copypaste/dnd.js';
export { describeDrop, describeTake, parseFault } from './copypaste/dnd-console.js';
export { LegacyClipboard } from './copypaste/legacy.js';
export { DEFAULT_FACTS, type HostFacts, parseFact } from './facts.js';
export { type ArmedFault, Faults, MESSAGE_STEPS, type MessageStep } from './faults.js';
export {
  MALFORMED_KINDS,
  type MalformedKind,
  malformedPacket,
  OUTSIDE_HOWS,
  type OutsideAttempt,
  type OutsideHow,
  type OutsideOptions,
  sendMalformed,
  writeOutside,
} from './guest-hgfs/hostile.js';
export {
  cpNameComponents,
  describeTransfer,
  getFiles,
  guestPath,
  type HgfsTransferOutcome,
  putFiles,
  shownGuestPath,
  type TransferOptions,
} from './guest-hgfs/transfer.js';
export {
  GuestHgfs,
  type GuestHgfsOptions,
  GuestHgfsSession,
  HGFS_SERVER_CAPABILITY,
  type HgfsRequestRecord,
  NoGuestHgfsServer,
  type OpenSessionOptions,
  realTimer,
  type SetTimer,
} from './guest-hgfs/transport.js';
export {
  type GetOptions,
  type GetResult,
  getTree,
  type LocalEntry,
  type LocalTree,
  type PutOptions,
  putTree,
  scanLocal,
  type TreeProgress,
  type TreeResult,
} from './guest-hgfs/tree.js';
export { defaultGuestLibStats, GuestLibHost, type GuestLibHostOptions, UNLIMITED } from './guestlib.js';
export {
  type CallResult,
  DEFAULT_TOOLS_OPTIONS,
  type DndHostSettings,
  HGFS_LARGE_PACKETS_KEY,
  type HgfsHostOptions,
  toolsOptions,
  VmxHost,
  type VmxHostOptions,
} from './host.js';
export { CallLog, type CallOp, type CallRecord, type LogMark } from './log.js';
export { MouseDevice, type MouseEvent } from './mouse.js';
export { GuestInfoType, RpciHost, type RpciRecord } from './rpci.js';
export { type ServeOptions, type SimServer, serveHost } from './server.js';
export { parseShareSpec, type ShareSpec } from './shares.js';
export { SimBackdoorPort, settle } from './sim-port.js';
export { TCLO_COMMAND_MAX, TcloHost, type TcloReply, TcloRequestFailed } from './tclo.js';
