// The protocol numbers and the size limit live in @vmw9/backdoor; they stay exported here for callers.
export { MAX_GUEST_MESSAGE, PROTOCOL_RPCI, PROTOCOL_TCLO } from '@vmw9/backdoor';
export { type ChannelOptions, type ChannelStats, MessageChannel } from './channel.js';
export { ChannelClosed, MessageError, MessageTooLarge, type Step, statusNames } from './errors.js';
