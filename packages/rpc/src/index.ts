export {
  GUESTINFO_TYPES,
  GUESTLIB_DATA_VERSION,
  GUESTLIB_INFO_COMMAND,
  GUESTLIB_STAT_COMMAND,
  type GuestInfoTypeName,
  GuestLibStat,
  type GuestLibStatEntry,
  type GuestLibStatName,
  type GuestLibStats,
  type GuestLibStatType,
  type GuestLibValue,
  GuestLibWireError,
  guestInfoTypeName,
  guestLibStat,
  POWER_STATE_NAMES,
  POWER_STATES,
  type PowerStateEntry,
  type PowerStateName,
  parseGuestLibValue,
  powerState,
  // XDR, GuestRPC's binary encoding: defined in @vmw9/backdoor so the simulator can use it too,
  // but this is where users get it.
  XdrError,
  XdrReader,
  XdrTruncated,
  XdrWriter,
} from '@vmw9/backdoor';
export { GuestMsgChannel, type GuestRpcChannel, type GuestRpcProtocol } from './channel.js';
export {
  GUESTLIB_ERROR_TEXT,
  GuestLibClient,
  GuestLibError,
  type GuestLibErrorCode,
  type GuestLibInfo,
  type GuestLibSender,
  guestLibValue,
} from './guestlib.js';
export {
  HGFS_MAX_DIR_ENTRIES,
  HgfsTransport,
  type HgfsTransportOptions,
  hgfsPacketSize,
  hgfsSender,
} from './hgfs.js';
export {
  DEFAULT_POOL_CHANNELS,
  MAX_POOL_CHANNELS,
  PoolClosed,
  RpciPool,
  type RpciPoolOptions,
} from './pool.js';
export { parseReply, RpcFailed, RpcProtocolError, type RpcReply } from './reply.js';
export { RpciClient, type RpciOptions, type RpciPortOptions } from './rpci.js';
export {
  binaryTclo,
  pollDelay,
  type TcloHandler,
  TcloLoop,
  type TcloOptions,
  type TcloPortOptions,
  type TcloRequest,
  type TcloResult,
  type TcloState,
  type TcloStats,
} from './tclo.js';
export {
  escapeBytes,
  formatTraceRecord,
  type TraceOptions,
  type TraceRecord,
  type TraceSink,
  TracingChannel,
} from './trace.js';
export {
  checkGuestinfoKey,
  GuestInfo,
  guestinfoGet,
  guestinfoGetBytes,
  guestinfoSet,
  log,
  PowerState,
  type RpcSender,
  setCapability,
  setGuestInfo,
  setToolsVersion,
  stateChangeStatus,
  toolsVersion,
} from './typed.js';
