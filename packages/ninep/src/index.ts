/**
 * ninep — 9P2000, 9P2000.u and 9P2000.L for Node: codec, server, client.
 */
export * from './attrs.js';
export * from './client.js';
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
export { Connection, type ConnectionStats, type ReplyBody, type Request } from './connection.js';
export * from './constants.js';
export * from './dial.js';
export * from './errors.js';
export { Framer, FrameTooLarge } from './framer.js';
export * from './helpers.js';
export * from './messages.js';
export { Fid } from './operations.js';
export * from './ramfs.js';
export * from './server.js';
export * from './tree.js';
