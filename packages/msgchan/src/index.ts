export {
  type ChannelOptions,
  type ChannelStats,
  MAX_GUEST_MESSAGE,
  MessageChannel,
  PROTOCOL_RPCI,
  PROTOCOL_TCLO,
} from './channel.js';
export { ChannelClosed, MessageError, MessageTooLarge, type Step, statusNames } from './errors.js';
