export {
  GUESTINFO_TYPES,
  type GuestInfoTypeName,
  guestInfoTypeName,
  POWER_STATE_NAMES,
  POWER_STATES,
  type PowerStateEntry,
  type PowerStateName,
  powerState,
} from '@vmw9/backdoor';
export { parseReply, RpcFailed, RpcProtocolError, type RpcReply } from './reply.js';
export { RpciClient, type RpciOptions } from './rpci.js';
export { pollDelay, type TcloHandler, TcloLoop, type TcloOptions, type TcloStats } from './tclo.js';
export {
  checkGuestinfoKey,
  GuestInfo,
  guestinfoGet,
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
