// The GuestMsg protocol facts live in @vmw9/backdoor; these names stay for existing callers.
export { COOKIE_FLAG, PROTOCOL_RPCI as PROTO_RPCI, PROTOCOL_TCLO as PROTO_TCLO } from '@vmw9/backdoor';
// Dial strings have one home, ninep/dial; these stay exported here for existing callers.
export { type DialAddress, DialError, formatDial, parseDial } from 'ninep/dial';
export { SocketBackdoorPort } from './client.js';
export { CONSOLE_HELP, runConsoleCommand } from './console.js';
export { DEFAULT_FACTS, type HostFacts, parseFact } from './facts.js';
export { type ArmedFault, Faults, MESSAGE_STEPS, type MessageStep } from './faults.js';
export { type CallResult, VmxHost, type VmxHostOptions } from './host.js';
export { CallLog, type CallOp, type CallRecord, type LogMark } from './log.js';
export { MouseDevice, type MouseEvent } from './mouse.js';
export { GuestInfoType, RpciHost, type RpciRecord } from './rpci.js';
export { type ServeOptions, type SimServer, serveHost } from './server.js';
export { SimBackdoorPort, settle } from './sim-port.js';
export { TcloHost, type TcloReply } from './tclo.js';
