/**
 * ninep — 9P2000, 9P2000.u and 9P2000.L for Node: codec, server, client.
 */
export * from './attrs.js';
export * from './client.js';
export * from './cmdtab.js';
export {
  type Dirent,
  decode,
  decodeDirents,
  decodeStats,
  direntSize,
  encode,
  encodeDirent,
  encodeStat,
  readHeader,
  statSize,
} from './codec.js';
export { Connection, type ConnectionStats } from './connection.js';
export * from './constants.js';
export * from './dial.js';
export * from './errors.js';
export { ExclusiveUse, Fid } from './fid.js';
export { Framer, FrameTooLarge } from './framer.js';
export * from './helpers.js';
export * from './messages.js';
export type { ResolvedServerOptions, ServerObserver } from './options.js';
export * from './ramfs.js';
export type { ReplyBody, Request } from './request.js';
export * from './runtime.js';
export * from './server.js';
export type { Session } from './session.js';
export * from './tree.js';
export * from './wait.js';
