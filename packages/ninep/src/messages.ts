/**
 * Every 9P2000 / 9P2000.u / 9P2000.L message as a typed object, and the wire layout the codec
 * follows for each (docs/protocol/9p.md §2). 8-byte fields are bigint so qid paths and
 * offsets round-trip exactly.
 */
import type { Dialect } from './constants.js';

export interface Qid {
  /** QT* bits: the high byte of the Plan 9 mode. */
  type: number;
  version: number;
  /** Server-wide identity of the file; Linux uses it as the inode number. */
  path: bigint;
}

/** A 9P2000 stat entry (Plan 9 `Dir`); the four .u fields are present in .u sessions. */
export interface Stat {
  type: number;
  dev: number;
  qid: Qid;
  mode: number;
  atime: number;
  mtime: number;
  length: bigint;
  name: string;
  uid: string;
  gid: string;
  muid: string;
  extension?: string;
  nUid?: number;
  nGid?: number;
  nMuid?: number;
}

/** The fields of each message, without `type` and `tag`. */
export interface MessageFields {
  Tversion: { msize: number; version: string };
  Rversion: { msize: number; version: string };
  Tauth: { afid: number; uname: string; aname: string; nUname?: number };
  Rauth: { aqid: Qid };
  Tattach: { fid: number; afid: number; uname: string; aname: string; nUname?: number };
  Rattach: { qid: Qid };
  Rerror: { ename: string; errno?: number };
  Tflush: { oldtag: number };
  Rflush: Record<never, never>;
  Twalk: { fid: number; newfid: number; wnames: string[] };
  Rwalk: { qids: Qid[] };
  Topen: { fid: number; mode: number };
  Ropen: { qid: Qid; iounit: number };
  Tcreate: { fid: number; name: string; perm: number; mode: number; extension?: string };
  Rcreate: { qid: Qid; iounit: number };
  Tread: { fid: number; offset: bigint; count: number };
  Rread: { data: Uint8Array };
  Twrite: { fid: number; offset: bigint; data: Uint8Array };
  Rwrite: { count: number };
  Tclunk: { fid: number };
  Rclunk: Record<never, never>;
  Tremove: { fid: number };
  Rremove: Record<never, never>;
  Tstat: { fid: number };
  Rstat: { stat: Stat };
  Twstat: { fid: number; stat: Stat };
  Rwstat: Record<never, never>;
  Topenfd: { fid: number; mode: number };
  Ropenfd: { qid: Qid; iounit: number; unixfd: number };
  // 9P2000.L
  Rlerror: { ecode: number };
  Tstatfs: { fid: number };
  Rstatfs: {
    fsType: number;
    bsize: number;
    blocks: bigint;
    bfree: bigint;
    bavail: bigint;
    files: bigint;
    ffree: bigint;
    fsid: bigint;
    namelen: number;
  };
  Tlopen: { fid: number; flags: number };
  Rlopen: { qid: Qid; iounit: number };
  Tlcreate: { fid: number; name: string; flags: number; mode: number; gid: number };
  Rlcreate: { qid: Qid; iounit: number };
  Tsymlink: { fid: number; name: string; symtgt: string; gid: number };
  Rsymlink: { qid: Qid };
  Tmknod: { dfid: number; name: string; mode: number; major: number; minor: number; gid: number };
  Rmknod: { qid: Qid };
  Trename: { fid: number; dfid: number; name: string };
  Rrename: Record<never, never>;
  Treadlink: { fid: number };
  Rreadlink: { target: string };
  Tgetattr: { fid: number; requestMask: bigint };
  Rgetattr: {
    valid: bigint;
    qid: Qid;
    mode: number;
    uid: number;
    gid: number;
    nlink: bigint;
    rdev: bigint;
    size: bigint;
    blksize: bigint;
    blocks: bigint;
    atimeSec: bigint;
    atimeNsec: bigint;
    mtimeSec: bigint;
    mtimeNsec: bigint;
    ctimeSec: bigint;
    ctimeNsec: bigint;
    btimeSec: bigint;
    btimeNsec: bigint;
    gen: bigint;
    dataVersion: bigint;
  };
  Tsetattr: {
    fid: number;
    valid: number;
    mode: number;
    uid: number;
    gid: number;
    size: bigint;
    atimeSec: bigint;
    atimeNsec: bigint;
    mtimeSec: bigint;
    mtimeNsec: bigint;
  };
  Rsetattr: Record<never, never>;
  Txattrwalk: { fid: number; newfid: number; name: string };
  Rxattrwalk: { size: bigint };
  Txattrcreate: { fid: number; name: string; attrSize: bigint; flags: number };
  Rxattrcreate: Record<never, never>;
  Treaddir: { fid: number; offset: bigint; count: number };
  Rreaddir: { data: Uint8Array };
  Tfsync: { fid: number; datasync: number };
  Rfsync: Record<never, never>;
  Tlock: {
    fid: number;
    lockType: number;
    flags: number;
    start: bigint;
    length: bigint;
    procId: number;
    clientId: string;
  };
  Rlock: { status: number };
  Tgetlock: {
    fid: number;
    lockType: number;
    start: bigint;
    length: bigint;
    procId: number;
    clientId: string;
  };
  Rgetlock: { lockType: number; start: bigint; length: bigint; procId: number; clientId: string };
  Tlink: { dfid: number; fid: number; name: string };
  Rlink: Record<never, never>;
  Tmkdir: { dfid: number; name: string; mode: number; gid: number };
  Rmkdir: { qid: Qid };
  Trenameat: { olddirfid: number; oldname: string; newdirfid: number; newname: string };
  Rrenameat: Record<never, never>;
  Tunlinkat: { dirfid: number; name: string; flags: number };
  Runlinkat: Record<never, never>;
}

export type MessageName = keyof MessageFields;
export type Message<N extends MessageName = MessageName> = {
  [K in N]: { type: K; tag: number } & MessageFields[K];
}[N];
export type TMessage = Message<Extract<MessageName, `T${string}`>>;
export type RMessage = Message<Extract<MessageName, `R${string}`>>;

/** Field kinds on the wire. `data` is count[4] + bytes; `stat` is n[2] + one stat entry. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 's' | 'qid' | 'wnames' | 'qids' | 'data' | 'stat';
/** `u`: only in 9P2000.u; `uL`: in 9P2000.u and 9P2000.L. */
export type FieldDialects = 'u' | 'uL';
export type FieldSpec = readonly [name: string, kind: FieldKind, only?: FieldDialects];

export interface Layout {
  name: MessageName;
  id: number;
  fields: readonly FieldSpec[];
  /** Message exists only in 9P2000.L sessions. */
  lOnly?: boolean;
}

const Q = (n: string): FieldSpec => [n, 'qid'];
const u8 = (n: string): FieldSpec => [n, 'u8'];
const u16 = (n: string): FieldSpec => [n, 'u16'];
const u32 = (n: string): FieldSpec => [n, 'u32'];
const u64 = (n: string): FieldSpec => [n, 'u64'];
const s = (n: string): FieldSpec => [n, 's'];

const classic: [MessageName, number, FieldSpec[]][] = [
  ['Topenfd', 98, [u32('fid'), u8('mode')]],
  ['Ropenfd', 99, [Q('qid'), u32('iounit'), u32('unixfd')]],
  ['Tversion', 100, [u32('msize'), s('version')]],
  ['Rversion', 101, [u32('msize'), s('version')]],
  ['Tauth', 102, [u32('afid'), s('uname'), s('aname'), ['nUname', 'u32', 'uL']]],
  ['Rauth', 103, [Q('aqid')]],
  ['Tattach', 104, [u32('fid'), u32('afid'), s('uname'), s('aname'), ['nUname', 'u32', 'uL']]],
  ['Rattach', 105, [Q('qid')]],
  ['Rerror', 107, [s('ename'), ['errno', 'u32', 'u']]],
  ['Tflush', 108, [u16('oldtag')]],
  ['Rflush', 109, []],
  ['Twalk', 110, [u32('fid'), u32('newfid'), ['wnames', 'wnames']]],
  ['Rwalk', 111, [['qids', 'qids']]],
  ['Topen', 112, [u32('fid'), u8('mode')]],
  ['Ropen', 113, [Q('qid'), u32('iounit')]],
  ['Tcreate', 114, [u32('fid'), s('name'), u32('perm'), u8('mode'), ['extension', 's', 'u']]],
  ['Rcreate', 115, [Q('qid'), u32('iounit')]],
  ['Tread', 116, [u32('fid'), u64('offset'), u32('count')]],
  ['Rread', 117, [['data', 'data']]],
  ['Twrite', 118, [u32('fid'), u64('offset'), ['data', 'data']]],
  ['Rwrite', 119, [u32('count')]],
  ['Tclunk', 120, [u32('fid')]],
  ['Rclunk', 121, []],
  ['Tremove', 122, [u32('fid')]],
  ['Rremove', 123, []],
  ['Tstat', 124, [u32('fid')]],
  ['Rstat', 125, [['stat', 'stat']]],
  ['Twstat', 126, [u32('fid'), ['stat', 'stat']]],
  ['Rwstat', 127, []],
];

const dotL: [MessageName, number, FieldSpec[]][] = [
  ['Rlerror', 7, [u32('ecode')]],
  ['Tstatfs', 8, [u32('fid')]],
  [
    'Rstatfs',
    9,
    [
      u32('fsType'),
      u32('bsize'),
      u64('blocks'),
      u64('bfree'),
      u64('bavail'),
      u64('files'),
      u64('ffree'),
      u64('fsid'),
      u32('namelen'),
    ],
  ],
  ['Tlopen', 12, [u32('fid'), u32('flags')]],
  ['Rlopen', 13, [Q('qid'), u32('iounit')]],
  ['Tlcreate', 14, [u32('fid'), s('name'), u32('flags'), u32('mode'), u32('gid')]],
  ['Rlcreate', 15, [Q('qid'), u32('iounit')]],
  ['Tsymlink', 16, [u32('fid'), s('name'), s('symtgt'), u32('gid')]],
  ['Rsymlink', 17, [Q('qid')]],
  ['Tmknod', 18, [u32('dfid'), s('name'), u32('mode'), u32('major'), u32('minor'), u32('gid')]],
  ['Rmknod', 19, [Q('qid')]],
  ['Trename', 20, [u32('fid'), u32('dfid'), s('name')]],
  ['Rrename', 21, []],
  ['Treadlink', 22, [u32('fid')]],
  ['Rreadlink', 23, [s('target')]],
  ['Tgetattr', 24, [u32('fid'), u64('requestMask')]],
  [
    'Rgetattr',
    25,
    [
      u64('valid'),
      Q('qid'),
      u32('mode'),
      u32('uid'),
      u32('gid'),
      u64('nlink'),
      u64('rdev'),
      u64('size'),
      u64('blksize'),
      u64('blocks'),
      u64('atimeSec'),
      u64('atimeNsec'),
      u64('mtimeSec'),
      u64('mtimeNsec'),
      u64('ctimeSec'),
      u64('ctimeNsec'),
      u64('btimeSec'),
      u64('btimeNsec'),
      u64('gen'),
      u64('dataVersion'),
    ],
  ],
  [
    'Tsetattr',
    26,
    [
      u32('fid'),
      u32('valid'),
      u32('mode'),
      u32('uid'),
      u32('gid'),
      u64('size'),
      u64('atimeSec'),
      u64('atimeNsec'),
      u64('mtimeSec'),
      u64('mtimeNsec'),
    ],
  ],
  ['Rsetattr', 27, []],
  ['Txattrwalk', 30, [u32('fid'), u32('newfid'), s('name')]],
  ['Rxattrwalk', 31, [u64('size')]],
  ['Txattrcreate', 32, [u32('fid'), s('name'), u64('attrSize'), u32('flags')]],
  ['Rxattrcreate', 33, []],
  ['Treaddir', 40, [u32('fid'), u64('offset'), u32('count')]],
  ['Rreaddir', 41, [['data', 'data']]],
  ['Tfsync', 50, [u32('fid'), u32('datasync')]],
  ['Rfsync', 51, []],
  [
    'Tlock',
    52,
    [u32('fid'), u8('lockType'), u32('flags'), u64('start'), u64('length'), u32('procId'), s('clientId')],
  ],
  ['Rlock', 53, [u8('status')]],
  ['Tgetlock', 54, [u32('fid'), u8('lockType'), u64('start'), u64('length'), u32('procId'), s('clientId')]],
  ['Rgetlock', 55, [u8('lockType'), u64('start'), u64('length'), u32('procId'), s('clientId')]],
  ['Tlink', 70, [u32('dfid'), u32('fid'), s('name')]],
  ['Rlink', 71, []],
  ['Tmkdir', 72, [u32('dfid'), s('name'), u32('mode'), u32('gid')]],
  ['Rmkdir', 73, [Q('qid')]],
  ['Trenameat', 74, [u32('olddirfid'), s('oldname'), u32('newdirfid'), s('newname')]],
  ['Rrenameat', 75, []],
  ['Tunlinkat', 76, [u32('dirfid'), s('name'), u32('flags')]],
  ['Runlinkat', 77, []],
];

export const LAYOUTS: ReadonlyMap<MessageName, Layout> = new Map([
  ...classic.map(([name, id, fields]) => [name, { name, id, fields }] as const),
  ...dotL.map(([name, id, fields]) => [name, { name, id, fields, lOnly: true }] as const),
]);
export const LAYOUT_BY_ID: ReadonlyMap<number, Layout> = new Map([...LAYOUTS.values()].map((l) => [l.id, l]));

/** Whether a field is on the wire in this dialect. */
export function fieldPresent(only: FieldDialects | undefined, dialect: Dialect): boolean {
  if (!only) return true;
  if (only === 'u') return dialect === '9P2000.u';
  return dialect !== '9P2000';
}

/** Whether a message type may be sent in this dialect. */
export function messageAllowed(layout: Layout, dialect: Dialect): boolean {
  return !layout.lOnly || dialect === '9P2000.L';
}
