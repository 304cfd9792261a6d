import fc from 'fast-check';
import {
  componentProblem,
  type DirEntry,
  type FileNameV3,
  type HgfsAttrV2,
  HgfsFileNameFlags,
  HgfsOp,
  type HgfsReply,
  type HgfsRequest,
  type OpCapability,
} from '../src/index.js';

const utf8 = new TextEncoder();

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

// Mixes short ASCII (the common case), the escape characters, and any code point.
const nameChar = fc.oneof(
  fc.constantFrom('a', 'b', '.', '%', '!', ']', ' ', '-'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

/** A path component a peer may send: non-empty, no '/' or NUL, not '.' or '..', ≤ 255 bytes. */
export const component = fc
  .array(nameChar, { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(''))
  .filter((c) => componentProblem(c) === undefined && utf8.encode(c).length <= 255);

export const path = fc.array(component, { maxLength: 5 });

/** A directory-entry name: a component, or '.' / '..'. */
export const entryName = fc.oneof(component, fc.constantFrom('.', '..'));

/** A symlink target: anything without NUL ('/' included, doubled, leading, trailing). */
export const target = fc
  .array(fc.oneof(nameChar, fc.constant('/')), { maxLength: 20 })
  .map((cs) => cs.join(''))
  .filter((t) => !t.includes('\0'));

export const fileNameV3: fc.Arbitrary<FileNameV3> = fc.oneof(
  fc.record({
    path,
    flags: u32.map((f) => (f & ~HgfsFileNameFlags.USE_FILE_DESC) >>> 0),
    caseType: u32,
    fid: u32,
  }),
  fc.record({
    path: fc.constant<string[]>([]),
    flags: u32.map((f) => (f | HgfsFileNameFlags.USE_FILE_DESC) >>> 0),
    caseType: u32,
    fid: u32,
  }),
);

export const attr: fc.Arbitrary<HgfsAttrV2> = fc.record({
  mask: u64,
  type: u32,
  size: u64,
  creationTime: u64,
  accessTime: u64,
  writeTime: u64,
  attrChangeTime: u64,
  specialPerms: u8,
  ownerPerms: u8,
  groupPerms: u8,
  otherPerms: u8,
  flags: u64,
  allocationSize: u64,
  userId: u32,
  groupId: u32,
  hostFileId: u64,
  volumeId: u32,
  effectivePerms: u32,
});

const capability: fc.Arbitrary<OpCapability> = fc.record({ op: u32, flags: u32 });
const data = fc.uint8Array({ maxLength: 300 });

export const request: fc.Arbitrary<HgfsRequest> = fc.oneof(
  fc.record({
    op: fc.constant(HgfsOp.CREATE_SESSION_V4),
    maxPacketSize: u32,
    flags: u32,
    capabilities: fc.array(capability, { maxLength: 4 }),
  }),
  fc.record({ op: fc.constant(HgfsOp.DESTROY_SESSION_V4) }),
  fc.record({
    op: fc.constant(HgfsOp.OPEN_V3),
    mask: u64,
    mode: u32,
    flags: u32,
    specialPerms: u8,
    ownerPerms: u8,
    groupPerms: u8,
    otherPerms: u8,
    attr: u64,
    allocationSize: u64,
    desiredAccess: u32,
    shareAccess: u32,
    desiredLock: u32,
    fileName: fileNameV3,
  }),
  fc.record({ op: fc.constant(HgfsOp.READ_V3), file: u32, offset: u64, requiredSize: u32 }),
  fc.record({ op: fc.constant(HgfsOp.WRITE_V3), file: u32, flags: u8, offset: u64, data }),
  fc.record({ op: fc.constant(HgfsOp.CLOSE_V3), file: u32 }),
  fc.record({ op: fc.constant(HgfsOp.SEARCH_OPEN_V3), dirName: fileNameV3 }),
  fc.record({ op: fc.constant(HgfsOp.SEARCH_READ_V3), search: u32, offset: u32, flags: u32 }),
  fc.record({ op: fc.constant(HgfsOp.SEARCH_CLOSE_V3), search: u32 }),
  fc.record({ op: fc.constant(HgfsOp.GETATTR_V3), hints: u64, fileName: fileNameV3 }),
  fc.record({ op: fc.constant(HgfsOp.SETATTR_V3), hints: u64, attr, fileName: fileNameV3 }),
  fc.record({
    op: fc.constant(HgfsOp.CREATE_DIR_V3),
    mask: u64,
    specialPerms: u8,
    ownerPerms: u8,
    groupPerms: u8,
    otherPerms: u8,
    fileAttr: u64,
    fileName: fileNameV3,
  }),
  fc.record({
    op: fc.constantFrom(HgfsOp.DELETE_FILE_V3, HgfsOp.DELETE_DIR_V3),
    hints: u64,
    fileName: fileNameV3,
  }),
  fc.record({ op: fc.constant(HgfsOp.RENAME_V3), hints: u64, oldName: fileNameV3, newName: fileNameV3 }),
  fc.record({ op: fc.constant(HgfsOp.QUERY_VOLUME_INFO_V3), fileName: fileNameV3 }),
  fc.record({ op: fc.constant(HgfsOp.CREATE_SYMLINK_V3), symlinkName: fileNameV3, target }),
);

const dirEntry: fc.Arbitrary<DirEntry> = fc.record({ name: entryName, attr });

export const reply: fc.Arbitrary<HgfsReply> = fc.oneof(
  fc.record({
    op: fc.constant(HgfsOp.CREATE_SESSION_V4),
    sessionId: u64,
    maxPacketSize: u32,
    flags: u32,
    capabilities: fc.array(capability, { maxLength: 4 }),
  }),
  fc.record({ op: fc.constant(HgfsOp.OPEN_V3), file: u32, acquiredLock: u32, flags: u32 }),
  fc.record({ op: fc.constant(HgfsOp.READ_V3), data }),
  fc.record({ op: fc.constant(HgfsOp.WRITE_V3), actualSize: u32 }),
  fc.record({ op: fc.constant(HgfsOp.SEARCH_OPEN_V3), search: u32 }),
  fc
    .record({
      op: fc.constant(HgfsOp.SEARCH_READ_V3),
      entries: fc.array(dirEntry, { maxLength: 5 }),
      end: fc.boolean(),
    })
    .filter((r) => r.end || r.entries.length > 0),
  fc.record({ op: fc.constant(HgfsOp.GETATTR_V3), attr, symlinkTarget: target }),
  fc.record({ op: fc.constant(HgfsOp.QUERY_VOLUME_INFO_V3), freeBytes: u64, totalBytes: u64 }),
  fc.record({
    op: fc.constantFrom(
      HgfsOp.DESTROY_SESSION_V4,
      HgfsOp.CLOSE_V3,
      HgfsOp.SEARCH_CLOSE_V3,
      HgfsOp.SETATTR_V3,
      HgfsOp.CREATE_DIR_V3,
      HgfsOp.DELETE_FILE_V3,
      HgfsOp.DELETE_DIR_V3,
      HgfsOp.RENAME_V3,
      HgfsOp.CREATE_SYMLINK_V3,
    ),
  }),
);

/** Where a packet goes: framing, request id, and (V4) session. */
export const framing = fc.constantFrom('v4' as const, 'legacy' as const);

/** A valid packet, then broken: bytes flipped, u32s overwritten with large values, cut short, grown. */
export const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: u8 }),
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(u32, fc.constantFrom(0xffffffff, 0x7fffffff, 0x10000, 52, 53, 0)),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('grow' as const), at: fc.nat({ max: 64 }), value: u8 }),
);

export function mutate(
  packet: Uint8Array,
  ms: readonly { kind: string; at: number; value: number }[],
): Uint8Array {
  let p = Uint8Array.from(packet);
  for (const m of ms) {
    if (p.length === 0) break;
    const at = m.at % p.length;
    if (m.kind === 'flip') p[at] = m.value;
    else if (m.kind === 'u32' && at + 4 <= p.length) new DataView(p.buffer).setUint32(at, m.value, true);
    else if (m.kind === 'cut') p = p.subarray(0, at);
    else if (m.kind === 'grow') p = Uint8Array.from([...p, ...new Array<number>(m.at).fill(m.value)]);
  }
  return p;
}
