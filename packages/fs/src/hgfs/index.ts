/** The host's shared folders as the tree's hgfs/ (docs/protocol/tree.md §17). */
export type { Presentation } from './attrs.js';
export { ATTR_CACHE_ENTRIES, AttrCache } from './cache.js';
export { HgfsReplyError, hgfsToNinep } from './errors.js';
export {
  DEFAULT_ATTR_CACHE_MS,
  type HgfsBackend,
  HgfsDir,
  HgfsFile,
  HgfsRoot,
  HgfsSymlink,
  type HgfsTreeOptions,
} from './nodes.js';
