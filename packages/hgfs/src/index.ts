export * from './attr.js';
export * from './constants.js';
export {
  HgfsDecodeError,
  HgfsEncodeError,
  HgfsError,
  HgfsNameError,
  HgfsStatusError,
  HgfsTransportError,
  type ReplyAddress,
} from './errors.js';
export { escapeName, unescapeName } from './escape.js';
export {
  classifyPacket,
  decodeHeader,
  encodeHeader,
  encodeLegacyReplyHeader,
  encodeLegacyRequestHeader,
  type Framing,
  type HgfsHeader,
  type PacketKind,
} from './header.js';
export * from './messages.js';
export {
  componentProblem,
  decodeCPName,
  decodeCPNameLite,
  encodeCPName,
  encodeCPNameLite,
  encodeEntryName,
} from './names.js';
export * from './time.js';
