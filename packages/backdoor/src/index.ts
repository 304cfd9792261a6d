export * from './call.js';
export * from './commands.js';
export * from './constants.js';
export * from './errors.js';
export { exclusive } from './exclusive.js';
export * from './guestlib.js';
export * from './guestrpc.js';
export { Lock } from './lock.js';
export * from './port.js';
export {
  GUESTINFO_TYPES,
  type GuestInfoTypeName,
  guestInfoTypeName,
  POWER_STATE_NAMES,
  POWER_STATES,
  type PowerStateEntry,
  type PowerStateName,
  powerState,
} from './tables.js';
export * from './vmmouse.js';
export { XdrError, XdrReader, XdrTruncated, XdrWriter } from './xdr.js';
