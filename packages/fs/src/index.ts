export {
  type AgentStatus,
  AgentStatusError,
  formatAgentStatus,
  parseAgentStatus,
  type TcloChannelStatus,
} from './agent-status.js';
export {
  BALLOON_MODULE_DIR,
  BALLOON_STATS_PATH,
  type BalloonReading,
  type BalloonStats,
  BalloonStatsError,
  framesToMB,
  parseBalloonStats,
  readBalloon,
} from './balloon.js';
export {
  CLIP_FORMATS,
  type Clipboard,
  type ClipboardNotice,
  type ClipboardProtocol,
  type ClipFormat,
  CopyPasteClipboard,
  LegacyClipboard,
  SwitchingClipboard,
} from './clipboard.js';
export {
  DndCtlFile,
  DndDir,
  DndOfferFile,
  type DndTreeEvent,
  type DndTreeOffer,
  type DndTreeSettings,
  type DndTreeSource,
  type DndTreeStatus,
  dndEventLine,
  dndStatusLine,
  OFFER_MAX_BYTES,
  parseDndEventLine,
  parseDndStatusLine,
  plan9Quote,
  plan9Unquote,
} from './dnd.js';
export * as format from './format.js';
export {
  ATTR_CACHE_ENTRIES,
  AttrCache,
  DEFAULT_ATTR_CACHE_MS,
  type HgfsBackend,
  HgfsDir,
  HgfsFile,
  HgfsReplyError,
  HgfsRoot,
  HgfsSymlink,
  type HgfsTreeOptions,
  hgfsToNinep,
  type Presentation,
} from './hgfs/index.js';
export {
  eventLine,
  type HostEvent,
  HostEventHub,
  type HostEventListener,
  type HostEventSource,
} from './host-events.js';
export {
  balloonText,
  type GuestLibRow,
  guestLibLines,
  guestLibRows,
  guestLibValueText,
  MemDir,
  type MemSources,
  MemWatch,
  type SetTimer,
} from './mem.js';
export { type ServedTree, type ServeOptions, serveVmwareTree, TREE_MSIZE } from './serve.js';
export type { FsServices, PowerRequest } from './services.js';
export {
  defaultTreeSocket,
  type FoundSocket,
  findAgentSocket,
  SYSTEM_AGENT_SOCKET,
  vmw9RuntimeDir,
} from './socket.js';
export { Counters, parseStats, STAT_FIELDS, type StatField } from './stats.js';
export { TextFile } from './text.js';
export {
  buildVmwareTree,
  DuplicateFileError,
  FS_VERSION,
  type TreeOptions,
  type VmwareTree,
} from './tree.js';
