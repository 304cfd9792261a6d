export {
  assertClipboardFits,
  type CpClipboard,
  type CpFileList,
  type CpUriFileList,
  clipboardSize,
  decodeClipboard,
  decodeFileList,
  decodeUriFileList,
  emptyClipboard,
  encodeClipboard,
  encodeFileList,
  encodeUriFileList,
  fileUriOfPath,
  itemText,
  NOT_CHANGED_CLIPBOARD,
  textItem,
} from './clipboard.js';
export * from './constants.js';
export { cpNameOfPath, GUEST_ROOT_SHARE, pathOfCpName } from './cpname.js';
export { DND_DEFAULT_TIMEOUTS, DndGuest } from './dnd.js';
export type {
  DndDataFile,
  DndDropBegin,
  DndDropDone,
  DndDropFailed,
  DndDropStaged,
  DndEndCode,
  DndGuestEvents,
  DndGuestOptions,
  DndGuestStats,
  DndOfferCancelled,
  DndOfferEntered,
  DndOfferFile,
  DndOfferTaken,
  DndRpc,
  DndSetTimer,
  DndStaging,
  DndState,
  DndStatus,
  DndTimeouts,
} from './dnd-types.js';
export {
  DndCpEndpoint,
  type DndCpEndpointOptions,
  type DndCpEndpointStats,
  type ReceiveResult,
} from './endpoint.js';
export { DndCpDecodeError, DndCpEncodeError, DndCpError, DndCpLimitError, DndCpRpcError } from './errors.js';
export {
  CopyPasteGuest,
  type CopyPasteGuestEvents,
  type CopyPasteGuestOptions,
  type CopyPasteGuestStats,
  type CopyPasteRpc,
} from './guest.js';
export type { DndCpMessage, DndCpReceivedMessage } from './message.js';
export {
  type DndCpMessageHeader,
  type DndCpPacket,
  decodePacket,
  encodePacket,
  HeaderOffset,
  type PacketKind,
  packetKind,
  readHeader,
} from './packet.js';
export { type DndCpChannel, decodeTransport, encodeTransport, transportCommand } from './transport.js';
