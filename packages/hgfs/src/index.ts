export {
  decodeAttrV2,
  emptyAttr,
  encodeAttrV2,
  type HgfsAttrV2,
  type HgfsPerms,
  modeFromAttr,
  permsFromMode,
} from './attr.js';
export {
  type HgfsAttr,
  HgfsClient,
  type HgfsClientOptions,
  type HgfsSend,
  type OpenOptions,
  type PathOrHandle,
  type RequestOptions,
  type SetAttrChanges,
} from './client.js';
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
export { decodeFileNameV3, encodeFileNameV3 } from './filename.js';
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
export {
  type DecodedReply,
  type DecodedRequest,
  decodeReply,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  encodeRequest,
  type ReplyExpectation,
  type RequestTarget,
} from './packets.js';
export { packetFromRpciReply, rpciRequest } from './rpci.js';
export * from './time.js';
