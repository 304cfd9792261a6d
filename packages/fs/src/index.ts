export * as format from './format.js';
export {
  eventLine,
  type HostEvent,
  HostEventHub,
  type HostEventListener,
  type HostEventSource,
} from './host-events.js';
export { type ServedTree, type ServeOptions, serveVmwareTree } from './serve.js';
export { type Clipboard, type FsServices, LegacyClipboard, type PowerRequest } from './services.js';
export { Counters, STAT_FIELDS } from './stats.js';
export {
  buildVmwareTree,
  DuplicateFileError,
  FS_VERSION,
  type TreeOptions,
  type VmwareTree,
} from './tree.js';
