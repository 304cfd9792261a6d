export {
  assertClipboardFits,
  type CpClipboard,
  type CpFileList,
  clipboardSize,
  decodeClipboard,
  decodeFileList,
  emptyClipboard,
  encodeClipboard,
  encodeFileList,
  itemText,
  NOT_CHANGED_CLIPBOARD,
  textItem,
} from './clipboard.js';
export * from './constants.js';
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
