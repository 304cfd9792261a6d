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
  type NameProblem,
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
  UNREAD_V4_HEADER,
} from './packets.js';
export { packetFromRpciReply, rpciRequest } from './rpci.js';
export { attrFromStats, attrOfPath, VIRTUAL_DIR_SIZE, virtualDirAttr } from './server/attrs.js';
export { type Grant, GUEST_ROOT_SHARE, GuestShares } from './server/guest.js';
export { isInside, MAX_HOST_PATH, PathRefused, type RefusalKind, resolveName } from './server/paths.js';
export type { Location, ResolveOptions, Share, ShareTable, WriteAccount } from './server/policy.js';
export { type HgfsOpRecord, HgfsServer, type HgfsServerOptions } from './server/server.js';
export {
  checkShareName,
  type HostShare,
  HostShares,
  MAX_SHARE_NAME_BYTES,
  ShareError,
} from './server/shares.js';
export { errnoError, HgfsFailure, statusOf } from './server/status.js';
export {
  HGFS_TCLO_COMMAND,
  HGFS_TCLO_NO_ARGUMENT,
  HgfsTcloArgumentError,
  hgfsTcloResult,
  tcloHgfsReply,
} from './server/tclo.js';
export * from './time.js';
