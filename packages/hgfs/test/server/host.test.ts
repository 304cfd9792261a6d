/**
 * The server role with the host's share policy (HostShares): driven with requests built by
 * @vmw9/hgfs, checked against the real files it serves and against what a Linux host answers
 * (docs/protocol/hgfs.md, "Server role"). The RPCI framing and the simulator's console are
 * vmx-sim's own tests.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  emptyAttr,
  encodeRequest,
  fileHandle,
  fileName,
  HGFS_INVALID_SESSION_ID,
  HGFS_LARGE_IO_MAX,
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HGFS_MAX_SESSIONS,
  HgfsAttrFlags,
  HgfsAttrHint,
  type HgfsAttrV2,
  HgfsAttrValid,
  HgfsCreateDirValid,
  HgfsFileType,
  HgfsOp,
  HgfsOpCapFlags,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  HgfsPacketFlags,
  HgfsRenameHint,
  HgfsServer,
  type HgfsServerOptions,
  HgfsSessionFlags,
  HgfsStatus,
  HgfsWriteFlags,
  HostShares,
  ntTimeToUnixNs,
  type OpenRequest,
  unixNsToNtTime,
} from '../../src/index.js';
import { direct, Guest } from './guest.js';

let root: string;
let docs: string;
let pub: string;
let outside: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vmx-sim-hgfs-'));
  docs = join(root, 'docs');
  pub = join(root, 'pub');
  outside = join(root, 'outside');
  for (const d of [docs, pub, outside, join(docs, 'sub')]) mkdirSync(d);
  writeFileSync(join(docs, 'sub', 'a.txt'), 'hello');
  writeFileSync(join(pub, 'r.txt'), 'read me');
  writeFileSync(join(outside, 'secret'), 'secret');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const FIXED_NOW = Date.UTC(2030, 0, 2, 3, 4, 5);

function server(opts: Partial<HgfsServerOptions<HostShares>> = {}): HgfsServer<HostShares> {
  const s = new HgfsServer({ shares: new HostShares(), now: () => FIXED_NOW, ...opts });
  s.shares.add('docs', docs);
  s.shares.add('pub', pub, { readOnly: true });
  return s;
}

function guest(s = server(), framing: 'v4' | 'legacy' = 'v4'): Guest {
  const g = new Guest(direct(s), framing);
  if (framing === 'v4') g.connect();
  return g;
}

function open(path: string[], mode: number, flags: number, perms?: number): OpenRequest {
  const p = perms ?? 0;
  return {
    op: HgfsOp.OPEN_V3,
    mask:
      HgfsOpenValid.MODE |
      HgfsOpenValid.FLAGS |
      (perms === undefined
        ? 0n
        : HgfsOpenValid.OWNER_PERMS | HgfsOpenValid.GROUP_PERMS | HgfsOpenValid.OTHER_PERMS),
    mode,
    flags,
    specialPerms: 0,
    ownerPerms: (p >> 6) & 7,
    groupPerms: (p >> 3) & 7,
    otherPerms: p & 7,
    attr: 0n,
    allocationSize: 0n,
    desiredAccess: 0,
    shareAccess: 0,
    desiredLock: 0,
    fileName: fileName(path),
  };
}

const R = HgfsOpenMode.READ_ONLY;
const W = HgfsOpenMode.WRITE_ONLY;
const RW = HgfsOpenMode.READ_WRITE;
const F = HgfsOpenFlags;

function read(g: Guest, file: number, offset = 0n, size = 4096): string {
  return Buffer.from(g.ok({ op: HgfsOp.READ_V3, file, offset, requiredSize: size }).data).toString();
}
function write(g: Guest, file: number, data: string | Uint8Array, offset = 0n, flags = 0): number {
  return g.ok({ op: HgfsOp.WRITE_V3, file, flags, offset, data: Buffer.from(data) }).actualSize;
}
const close = (g: Guest, file: number) => g.ok({ op: HgfsOp.CLOSE_V3, file });
const getattr = (g: Guest, path: string[]) =>
  g.ok({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(path) });
const getattrStatus = (g: Guest, path: string[]) =>
  g.status({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(path) });

function list(g: Guest, path: string[]): { name: string; attr: HgfsAttrV2 }[] {
  const search = g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(path) }).search;
  const out: { name: string; attr: HgfsAttrV2 }[] = [];
  for (let i = 0; ; i++) {
    const r = g.ok({ op: HgfsOp.SEARCH_READ_V3, search, offset: i, flags: 0 });
    // A host answers one entry per SEARCH_READ_V3.
    expect(r.entries.length).toBeLessThanOrEqual(1);
    out.push(...r.entries);
    if (r.end) break;
    expect(i).toBeLessThan(10_000);
  }
  g.ok({ op: HgfsOp.SEARCH_CLOSE_V3, search });
  return out;
}

describe('HGFS host: sessions', () => {
  it('CREATE_SESSION_V4: a new id, the smaller packet size, MAXPACKETSIZE_VALID, the ops it serves', () => {
    const g = new Guest(direct(server()));
    const r = g.connect(100_000);
    expect(r.maxPacketSize).toBe(100_000);
    expect(r.flags).toBe(HgfsSessionFlags.MAXPACKETSIZE_VALID);
    expect(r.sessionId).not.toBe(0n);
    const caps = new Map(r.capabilities.map((c) => [c.op, c.flags]));
    expect(caps.size).toBe(HgfsOp.SET_EAS_V4 + 1);
    expect(caps.get(HgfsOp.OPEN_V3)).toBe(HgfsOpCapFlags.IS_SUPPORTED);
    expect(caps.get(HgfsOp.CREATE_SYMLINK_V3)).toBe(HgfsOpCapFlags.IS_SUPPORTED);
    expect(caps.get(HgfsOp.OPEN)).toBe(HgfsOpCapFlags.NOT_SUPPORTED);
    expect(caps.get(HgfsOp.READ_FAST_V4)).toBe(HgfsOpCapFlags.NOT_SUPPORTED);
    const big = new Guest(direct(server())).connect(HGFS_LARGE_PACKET_MAX * 2);
    expect(big.maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
    const legacy = new Guest(direct(server({ largePackets: false }))).connect();
    expect(legacy.maxPacketSize).toBe(HGFS_LEGACY_LARGE_PACKET_MAX);
  });

  it('an unknown session id is STALE_SESSION, a destroyed one too; DESTROY closes its files', () => {
    const s = server();
    const g = guest(s);
    const file = g.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    expect(s.state()).toMatchObject({ sessions: 1, openFiles: 1 });
    const id = g.sessionId!;
    expect(g.call({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(['docs']) }, id + 1n).status).toBe(
      HgfsStatus.STALE_SESSION,
    );
    g.ok({ op: HgfsOp.DESTROY_SESSION_V4 });
    expect(s.state()).toMatchObject({ sessions: 0, openFiles: 0 });
    expect(g.call({ op: HgfsOp.READ_V3, file, offset: 0n, requiredSize: 1 }).status).toBe(
      HgfsStatus.STALE_SESSION,
    );
    // A bad body under a stale session is still STALE_SESSION (the session is checked first).
    const bad = encodeRequest(
      { op: HgfsOp.CLOSE_V3, file: 1 },
      { framing: 'v4', requestId: 9, sessionId: id },
    );
    const reply = s.handle(bad.subarray(0, bad.length - 4))!;
    expect(Buffer.from(reply).readUInt32LE(24)).toBe(HgfsStatus.STALE_SESSION);
  });

  it(`at most ${HGFS_MAX_SESSIONS} sessions by default; one more is TOO_MANY_SESSIONS`, () => {
    const s = server();
    expect(s.maxSessions).toBe(HGFS_MAX_SESSIONS);
    const small = server({ maxSessions: 3 });
    for (let i = 0; i < 3; i++) new Guest(direct(small)).connect();
    const r = new Guest(direct(small)).call(
      { op: HgfsOp.CREATE_SESSION_V4, maxPacketSize: 1000, flags: 0, capabilities: [] },
      0n,
    );
    expect(r.status).toBe(HgfsStatus.TOO_MANY_SESSIONS);
    // Legacy-header requests need the default session, which is one of them.
    expect(
      new Guest(direct(small), 'legacy').status({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName([]) }),
    ).toBe('TOO_MANY_SESSIONS');
  });

  it('legacy-header requests share one default session, created on first use', () => {
    const s = server();
    const a = new Guest(direct(s), 'legacy');
    const b = new Guest(direct(s), 'legacy');
    const file = a.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    expect(read(b, file)).toBe('hello');
    expect(s.state().sessions).toBe(1);
    expect(s.maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
  });

  it('removing a share closes what the guest had open in it (INVALID_HANDLE after)', () => {
    const s = server();
    const g = guest(s);
    const f = g.ok(open(['pub', 'r.txt'], R, F.OPEN)).file;
    const search = g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['pub']) }).search;
    const other = g.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    s.shares.remove('pub');
    expect(g.status({ op: HgfsOp.READ_V3, file: f, offset: 0n, requiredSize: 1 })).toBe('INVALID_HANDLE');
    expect(g.status({ op: HgfsOp.SEARCH_READ_V3, search, offset: 0, flags: 0 })).toBe('INVALID_HANDLE');
    expect(read(g, other)).toBe('hello');
    expect(s.state()).toMatchObject({ openFiles: 1, searches: 0 });
  });

  it('a reset drops every session', () => {
    const s = server();
    const g = guest(s);
    s.reset();
    expect(g.status({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(['docs']) })).toBe(
      'STALE_SESSION',
    );
  });
});

describe('HGFS host: the RPCI command and packets a host drops or refuses', () => {
  it('the empty probe packet and a packet too short for a header are dropped: no reply', () => {
    const s = server();
    expect(s.handle(new Uint8Array(0))).toBeUndefined();
    expect(s.handle(Uint8Array.of(1, 0, 0))).toBeUndefined();
    expect(s.counts()['(dropped)']).toBe(2);
    expect(s.log().at(-1)).toMatchObject({
      op: '(dropped)',
      status: '(none)',
      requestBytes: 3,
      replyBytes: 0,
    });
  });

  it('a V4 header failing the checks made before its ids are read: STALE_SESSION, request id 0, no session', () => {
    const s = server();
    const g = guest(s);
    const good = () =>
      Buffer.from(
        encodeRequest(
          { op: HgfsOp.CLOSE_V3, file: 1 },
          { framing: 'v4', requestId: 9, sessionId: g.sessionId! },
        ),
      );
    const longer = good();
    longer.writeUInt32LE(longer.length + 4096, 8); // packetSize past the bytes received
    const inverted = good();
    inverted.writeUInt32LE(inverted.length + 1, 12); // headerSize past packetSize
    const version0 = good();
    version0.writeUInt8(0, 0);
    for (const bad of [good().subarray(0, 20), longer, inverted, version0]) {
      const reply = Buffer.from(s.handle(bad)!);
      expect(reply.length).toBe(52);
      expect({
        packetSize: reply.readUInt32LE(8),
        requestId: reply.readUInt32LE(16),
        op: reply.readUInt32LE(20),
        status: reply.readUInt32LE(24),
        flags: reply.readUInt32LE(28),
        information: reply.readUInt32LE(32),
        sessionId: reply.readBigUInt64LE(36),
      }).toEqual({
        packetSize: 52,
        requestId: 0,
        op: HgfsOp.NEW_HEADER,
        status: HgfsStatus.STALE_SESSION,
        flags: HgfsPacketFlags.REPLY,
        information: HgfsStatus.STALE_SESSION,
        sessionId: HGFS_INVALID_SESSION_ID,
      });
      expect(s.log().at(-1)).toMatchObject({
        op: '(bad header)',
        status: 'STALE_SESSION',
        requestBytes: bad.length,
        replyBytes: 52,
        malformed: true,
      });
    }
    // Checked once the ids are read: the session is valid, so PROTOCOL_ERROR, to the request.
    const small = good();
    small.writeUInt32LE(40, 12); // headerSize below 52 (ours only)
    const flags = good();
    flags.writeUInt8(2, 0);
    flags.writeUInt32LE(8, 28); // version 2: flags without REQUEST or REPLY
    for (const bad of [small, flags]) {
      const reply = Buffer.from(s.handle(bad)!);
      expect([reply.readUInt32LE(16), reply.readUInt32LE(24)]).toEqual([9, HgfsStatus.PROTOCOL_ERROR]);
    }
    // Under 8 bytes, or an unknown op at offset 4: dropped.
    const unknown = good();
    unknown.writeUInt32LE(0x80, 4);
    expect(s.handle(good().subarray(0, 7))).toBeUndefined();
    expect(s.handle(unknown)).toBeUndefined();
    expect(s.statuses()).toMatchObject({ STALE_SESSION: 4, PROTOCOL_ERROR: 2, '(none)': 2 });
    expect(s.log().at(-1)).toMatchObject({ op: '(dropped)', malformed: true });
  });

  it('operations it does not implement get PROTOCOL_ERROR (vmhgfs-fuse then tries an older version)', () => {
    const s = server();
    // GETATTR (V1, op 7) under the legacy header: id, op, then the V1 body.
    const v1 = Buffer.alloc(16);
    v1.writeUInt32LE(5, 0);
    v1.writeUInt32LE(HgfsOp.GETATTR, 4);
    const reply = Buffer.from(s.handle(v1)!);
    expect([reply.readUInt32LE(0), reply.readUInt32LE(4)]).toEqual([5, HgfsStatus.PROTOCOL_ERROR]);
    // A V4 op with the new header.
    const g = guest(s);
    const v4 = Buffer.from(
      encodeRequest(
        { op: HgfsOp.DESTROY_SESSION_V4 },
        { framing: 'v4', requestId: 7, sessionId: g.sessionId! },
      ),
    );
    v4.writeUInt32LE(HgfsOp.OPEN_V4, 20);
    expect(Buffer.from(s.handle(v4)!).readUInt32LE(24)).toBe(HgfsStatus.PROTOCOL_ERROR);
    // A body cut short.
    const cut = encodeRequest(
      { op: HgfsOp.READ_V3, file: 1, offset: 0n, requiredSize: 1 },
      { framing: 'legacy', requestId: 3 },
    );
    expect(Buffer.from(s.handle(cut.subarray(0, 12))!).readUInt32LE(4)).toBe(HgfsStatus.PROTOCOL_ERROR);
    expect(s.statuses().PROTOCOL_ERROR).toBe(3);
  });

  it('READ_V3 whose reply (header + 13 + data) would not fit the host packet: INVALID_NAME, before the handle', () => {
    const s = server();
    const g = guest(s);
    const file = g.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    const most = HGFS_LARGE_PACKET_MAX - 52 - 13;
    expect(read(g, file, 0n, most)).toBe('hello');
    // The reply is header + 13 + data, as a host's: a zero after the data (its payload byte).
    const raw = Buffer.from(
      s.handle(
        encodeRequest(
          { op: HgfsOp.READ_V3, file, offset: 0n, requiredSize: most },
          { framing: 'v4', requestId: 99, sessionId: g.sessionId! },
        ),
      )!,
    );
    expect([raw.length, raw.readUInt32LE(8), raw.readUInt32LE(52)]).toEqual([52 + 13 + 5, 52 + 13 + 5, 5]);
    expect(raw.subarray(64).toString('latin1')).toBe('hello\0');
    const over = { op: HgfsOp.READ_V3, file, offset: 0n, requiredSize: most + 1 } as const;
    expect(g.status(over)).toBe('INVALID_NAME');
    // The size is checked first: a bad handle asking too much is INVALID_NAME too.
    expect(g.status({ ...over, file: file + 1000 })).toBe('INVALID_NAME');
    expect(g.status({ ...over, file: file + 1000, requiredSize: most })).toBe('INVALID_HANDLE');
    // Legacy packets, legacy header (8 bytes).
    const legacy = new Guest(direct(server({ largePackets: false })), 'legacy');
    const f2 = legacy.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    const mostLegacy = HGFS_LEGACY_LARGE_PACKET_MAX - 8 - 13;
    expect(read(legacy, f2, 0n, mostLegacy)).toBe('hello');
    expect(legacy.status({ op: HgfsOp.READ_V3, file: f2, offset: 0n, requiredSize: mostLegacy + 1 })).toBe(
      'INVALID_NAME',
    );
  });
});

describe('HGFS host: files', () => {
  it('OPEN_V3 with each open flag does what a host does', () => {
    const g = guest();
    const p = ['docs', 'f.txt'];
    expect(g.status(open(p, R, F.OPEN))).toBe('NO_SUCH_FILE_OR_DIR');
    expect(g.status(open(p, RW, F.OPEN_EMPTY))).toBe('NO_SUCH_FILE_OR_DIR');
    const a = g.ok(open(p, RW, F.OPEN_CREATE, 0o640)).file;
    expect(statSync(join(docs, 'f.txt')).mode & 0o777).toBe(0o640);
    write(g, a, 'abcdef');
    close(g, a);
    expect(g.status(open(p, RW, F.OPEN_CREATE_SAFE))).toBe('FILE_EXISTS');
    const b = g.ok(open(p, RW, F.OPEN_CREATE)).file;
    expect(read(g, b)).toBe('abcdef');
    close(g, b);
    const c = g.ok(open(p, RW, F.OPEN_EMPTY)).file;
    expect(readFileSync(join(docs, 'f.txt'), 'utf8')).toBe('');
    close(g, c);
    writeFileSync(join(docs, 'f.txt'), 'xyz');
    const d = g.ok(open(p, W, F.OPEN_CREATE_EMPTY)).file;
    expect(readFileSync(join(docs, 'f.txt'), 'utf8')).toBe('');
    close(g, d);
    const e = g.ok(open(['docs', 'g.txt'], W, F.OPEN_CREATE_EMPTY)).file;
    close(g, e);
    const f = g.ok(open(['docs', 'h.txt'], W, F.OPEN_CREATE_SAFE)).file;
    close(g, f);
    expect(lstatSync(join(docs, 'g.txt')).isFile() && lstatSync(join(docs, 'h.txt')).isFile()).toBe(true);
  });

  it('OPEN_V3 refuses what a host refuses', () => {
    const g = guest();
    const req = open(['docs', 'sub', 'a.txt'], R, F.OPEN);
    expect(g.status({ ...req, mask: HgfsOpenValid.FLAGS })).toBe('PROTOCOL_ERROR');
    expect(g.status({ ...req, mask: HgfsOpenValid.MODE })).toBe('PROTOCOL_ERROR');
    expect(g.status({ ...req, flags: 5 })).toBe('PROTOCOL_ERROR');
    expect(g.status({ ...req, mode: 3 })).toBe('PROTOCOL_ERROR');
    expect(g.status(open([], R, F.OPEN))).toBe('INVALID_NAME');
    expect(g.status(open(['nosuch', 'x'], R, F.OPEN))).toBe('NO_SUCH_FILE_OR_DIR');
    // A new name beside the shares: creating it is refused, opening it is "no such file".
    expect(g.status(open(['newfile'], RW, F.OPEN_CREATE))).toBe('ACCESS_DENIED');
    expect(g.status(open(['newfile'], R, F.OPEN))).toBe('NO_SUCH_FILE_OR_DIR');
    expect(g.status(open(['docs', 'sub'], RW, F.OPEN))).toBe('FILE_EXISTS');
  });

  it('READ_V3 / WRITE_V3 at offsets, append, and the open mode is enforced (INVALID_HANDLE)', () => {
    const g = guest();
    const f = g.ok(open(['docs', 'w.txt'], RW, F.OPEN_CREATE)).file;
    expect(write(g, f, 'hello world')).toBe(11);
    expect(write(g, f, 'W', 6n)).toBe(1);
    expect(read(g, f, 0n)).toBe('hello World');
    expect(read(g, f, 6n, 3)).toBe('Wor');
    expect(read(g, f, 100n)).toBe('');
    // Append writes at the end whatever the offset says.
    expect(write(g, f, '!', 0n, HgfsWriteFlags.APPEND)).toBe(1);
    expect(readFileSync(join(docs, 'w.txt'), 'utf8')).toBe('hello World!');
    close(g, f);
    expect(g.status({ op: HgfsOp.CLOSE_V3, file: f })).toBe('INVALID_HANDLE');
    expect(g.status({ op: HgfsOp.READ_V3, file: f, offset: 0n, requiredSize: 1 })).toBe('INVALID_HANDLE');
    const ro = g.ok(open(['docs', 'w.txt'], R, F.OPEN)).file;
    expect(g.status({ op: HgfsOp.WRITE_V3, file: ro, flags: 0, offset: 0n, data: Buffer.from('x') })).toBe(
      'INVALID_HANDLE',
    );
    const wo = g.ok(open(['docs', 'w.txt'], W, F.OPEN)).file;
    expect(g.status({ op: HgfsOp.READ_V3, file: wo, offset: 0n, requiredSize: 1 })).toBe('INVALID_HANDLE');
  });

  it('handles are per session', () => {
    const s = server();
    const a = guest(s);
    const b = guest(s);
    const f = a.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    expect(b.status({ op: HgfsOp.READ_V3, file: f, offset: 0n, requiredSize: 1 })).toBe('INVALID_HANDLE');
  });

  it('big reads and writes at the large packet size', () => {
    const g = new Guest(direct(server()));
    expect(g.connect().maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
    const data = randomBytes(3 * HGFS_LARGE_IO_MAX + 1234);
    const f = g.ok(open(['docs', 'big.bin'], RW, F.OPEN_CREATE)).file;
    for (let at = 0; at < data.length; at += HGFS_LARGE_IO_MAX) {
      const chunk = data.subarray(at, at + HGFS_LARGE_IO_MAX);
      expect(write(g, f, chunk, BigInt(at))).toBe(chunk.length);
    }
    expect(readFileSync(join(docs, 'big.bin')).equals(data)).toBe(true);
    const back: Buffer[] = [];
    for (let at = 0; at < data.length; at += HGFS_LARGE_IO_MAX)
      back.push(
        Buffer.from(
          g.ok({ op: HgfsOp.READ_V3, file: f, offset: BigInt(at), requiredSize: HGFS_LARGE_IO_MAX }).data,
        ),
      );
    expect(Buffer.concat(back).equals(data)).toBe(true);
  });

  it('with descriptors evicted, a handle reopens its file by its current name (renames followed), and a replaced file is gone', () => {
    const s = server({ maxCachedFds: 1 });
    const g = guest(s);
    const a = g.ok(open(['docs', 'a1'], RW, F.OPEN_CREATE)).file;
    write(g, a, 'one');
    const b = g.ok(open(['docs', 'b1'], RW, F.OPEN_CREATE)).file;
    expect(s.state()).toMatchObject({ openFiles: 2, descriptors: 1 });
    g.ok({
      op: HgfsOp.RENAME_V3,
      hints: 0n,
      oldName: fileName(['docs', 'a1']),
      newName: fileName(['docs', 'a2']),
    });
    expect(read(g, a)).toBe('one');
    write(g, b, 'two');
    // Another file put in its place (made first, so it cannot reuse the inode).
    writeFileSync(join(docs, 'a3'), 'other');
    renameSync(join(docs, 'a3'), join(docs, 'a2'));
    expect(g.status({ op: HgfsOp.READ_V3, file: a, offset: 0n, requiredSize: 3 })).toBe(
      'NO_SUCH_FILE_OR_DIR',
    );
    expect(read(g, b)).toBe('two');
  });
});

describe('HGFS host: attributes', () => {
  it('GETATTR_V3 of a file: lstat values, NT times, creation time = write time, effective permissions', () => {
    const g = guest();
    const p = join(docs, 'sub', 'a.txt');
    chmodSync(p, 0o640);
    utimesSync(p, 1_700_000_000.5, 1_600_000_000.25);
    const a = getattr(g, ['docs', 'sub', 'a.txt']);
    const st = statSync(p, { bigint: true });
    expect(a.symlinkTarget).toBe('');
    expect(a.attr).toMatchObject({
      type: HgfsFileType.REGULAR,
      size: 5n,
      ownerPerms: 6,
      groupPerms: 4,
      otherPerms: 0,
      writeTime: unixNsToNtTime(st.mtimeNs),
      creationTime: unixNsToNtTime(st.mtimeNs),
      accessTime: unixNsToNtTime(st.atimeNs),
      hostFileId: st.ino,
      userId: Number(st.uid),
    });
    expect(ntTimeToUnixNs(a.attr.writeTime)).toBe(1_600_000_000_250_000_000n);
    expect(a.attr.mask & HgfsAttrValid.EFFECTIVE_PERMS).toBe(HgfsAttrValid.EFFECTIVE_PERMS);
    expect(a.attr.mask & HgfsAttrValid.FLAGS).toBe(0n);
    const dir = getattr(g, ['docs', 'sub']).attr;
    expect(dir.type).toBe(HgfsFileType.DIRECTORY);
  });

  it('dot-files are hidden; a read-only share never grants WRITE', () => {
    writeFileSync(join(docs, '.hidden'), '');
    const g = guest();
    const h = getattr(g, ['docs', '.hidden']).attr;
    expect(h.flags).toBe(HgfsAttrFlags.HIDDEN | HgfsAttrFlags.HIDDEN_FORCED);
    const rw = getattr(g, ['docs', 'sub', 'a.txt']).attr.effectivePerms;
    const ro = getattr(g, ['pub', 'r.txt']).attr.effectivePerms;
    expect(rw & 2).toBe(2);
    expect(ro & 2).toBe(0);
  });

  it('the virtual root is an r-x directory of size 4192 at the host time; a vanished share is GENERIC_ERROR', () => {
    const g = guest();
    const a = getattr(g, []).attr;
    expect(a).toMatchObject({
      type: HgfsFileType.DIRECTORY,
      size: 4192n,
      ownerPerms: 5,
      groupPerms: 5,
      otherPerms: 5,
    });
    expect(ntTimeToUnixNs(a.writeTime)).toBe(BigInt(FIXED_NOW) * 1_000_000n);
    expect(getattrStatus(g, ['nosuch'])).toBe('NO_SUCH_FILE_OR_DIR');
    rmSync(pub, { recursive: true });
    expect(getattrStatus(g, ['pub'])).toBe('GENERIC_ERROR');
  });

  it('GETATTR_V3 by handle', () => {
    const g = guest();
    const f = g.ok(open(['docs', 'sub', 'a.txt'], R, F.OPEN)).file;
    const a = g.ok({
      op: HgfsOp.GETATTR_V3,
      hints: HgfsAttrHint.USE_FILE_DESC,
      fileName: fileHandle(f),
    }).attr;
    expect(a.size).toBe(5n);
    expect(
      g.status({ op: HgfsOp.GETATTR_V3, hints: HgfsAttrHint.USE_FILE_DESC, fileName: fileHandle(f + 100) }),
    ).toBe('INVALID_HANDLE');
  });

  it('SETATTR_V3: size, permissions, ownership, times (the guest time with the hint, the host time without)', () => {
    const g = guest();
    const p = join(docs, 'sub', 'a.txt');
    const attr = (mask: bigint, a: Partial<HgfsAttrV2>): HgfsAttrV2 => ({ ...emptyAttr(), mask, ...a });
    const set = (mask: bigint, a: Partial<HgfsAttrV2>, hints = 0n) =>
      g.call({
        op: HgfsOp.SETATTR_V3,
        hints,
        attr: attr(mask, a),
        fileName: fileName(['docs', 'sub', 'a.txt']),
      }).status;
    expect(set(HgfsAttrValid.SIZE, { size: 2n })).toBe(HgfsStatus.SUCCESS);
    expect(readFileSync(p, 'utf8')).toBe('he');
    expect(set(HgfsAttrValid.SIZE, { size: 4n })).toBe(HgfsStatus.SUCCESS);
    expect(readFileSync(p)).toEqual(Buffer.from('he\0\0'));
    chmodSync(p, 0o4644);
    expect(set(HgfsAttrValid.OWNER_PERMS | HgfsAttrValid.OTHER_PERMS, { ownerPerms: 7, otherPerms: 1 })).toBe(
      HgfsStatus.SUCCESS,
    );
    // Classes not given keep theirs (the set-uid bit too).
    expect(statSync(p).mode & 0o7777).toBe(0o4741);
    const st = statSync(p, { bigint: true });
    expect(
      set(HgfsAttrValid.USERID | HgfsAttrValid.GROUPID, { userId: Number(st.uid), groupId: Number(st.gid) }),
    ).toBe(HgfsStatus.SUCCESS);
    const t = unixNsToNtTime(1_500_000_000_000_000_000n);
    expect(set(HgfsAttrValid.WRITE_TIME, { writeTime: t }, HgfsAttrHint.SET_WRITE_TIME)).toBe(
      HgfsStatus.SUCCESS,
    );
    const after = statSync(p, { bigint: true });
    expect(after.mtimeNs).toBe(1_500_000_000_000_000_000n);
    // The access time was not given: kept (utimes takes seconds as a double: to a microsecond or two).
    const drift = after.atimeNs - st.atimeNs;
    expect(drift < 0n ? -drift : drift).toBeLessThanOrEqual(2000n);
    expect(set(HgfsAttrValid.ACCESS_TIME, { accessTime: t })).toBe(HgfsStatus.SUCCESS);
    expect(statSync(p, { bigint: true }).atimeNs / 1_000_000n).toBe(BigInt(FIXED_NOW));
  });

  it('SETATTR_V3 by handle; by name on a symlink is INVALID_NAME; on a read-only share ACCESS_DENIED', () => {
    const g = guest();
    const f = g.ok(open(['docs', 'sub', 'a.txt'], RW, F.OPEN)).file;
    const attr = { ...emptyAttr(), mask: HgfsAttrValid.SIZE, size: 1n };
    g.ok({ op: HgfsOp.SETATTR_V3, hints: HgfsAttrHint.USE_FILE_DESC, attr, fileName: fileHandle(f) });
    expect(readFileSync(join(docs, 'sub', 'a.txt'), 'utf8')).toBe('h');
    symlinkSync('sub/a.txt', join(docs, 'link'));
    expect(g.status({ op: HgfsOp.SETATTR_V3, hints: 0n, attr, fileName: fileName(['docs', 'link']) })).toBe(
      'INVALID_NAME',
    );
    expect(g.status({ op: HgfsOp.SETATTR_V3, hints: 0n, attr, fileName: fileName(['pub', 'r.txt']) })).toBe(
      'ACCESS_DENIED',
    );
    expect(readFileSync(join(pub, 'r.txt'), 'utf8')).toBe('read me');
  });
});

describe('HGFS host: directories', () => {
  it('SEARCH_*_V3 lists `.` and `..` first, then the entries with their attributes, one per reply, then the end', () => {
    writeFileSync(join(docs, 'sub', 'b.txt'), 'bb');
    mkdirSync(join(docs, 'sub', 'c'));
    const g = guest();
    const entries = list(g, ['docs', 'sub']);
    expect(entries.slice(0, 2).map((e) => e.name)).toEqual(['.', '..']);
    expect(
      entries
        .slice(2)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['a.txt', 'b.txt', 'c']);
    const byName = new Map(entries.map((e) => [e.name, e.attr]));
    expect(byName.get('b.txt')!.size).toBe(2n);
    expect(byName.get('c')!.type).toBe(HgfsFileType.DIRECTORY);
    expect(byName.get('.')!.hostFileId).toBe(statSync(join(docs, 'sub'), { bigint: true }).ino);
    expect(g.status({ op: HgfsOp.SEARCH_READ_V3, search: 12345, offset: 0, flags: 0 })).toBe(
      'INVALID_HANDLE',
    );
    expect(g.status({ op: HgfsOp.SEARCH_CLOSE_V3, search: 12345 })).toBe('INVALID_HANDLE');
    expect(g.status({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['docs', 'sub', 'a.txt']) })).toBe(
      'NOT_DIRECTORY',
    );
    expect(g.status({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['docs', 'none']) })).toBe(
      'NO_SUCH_FILE_OR_DIR',
    );
  });

  it('the virtual root lists the shares, and lists them afresh when read again from the start', () => {
    const s = server();
    const g = guest(s);
    const search = g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName([]) }).search;
    const names: string[] = [];
    for (let i = 0; ; i++) {
      const r = g.ok({ op: HgfsOp.SEARCH_READ_V3, search, offset: i, flags: 0 });
      if (r.end) break;
      names.push(r.entries[0]!.name);
      if (r.entries[0]!.name === 'docs')
        expect(r.entries[0]!.attr.hostFileId).toBe(statSync(docs, { bigint: true }).ino);
      if (r.entries[0]!.name === '.') expect(r.entries[0]!.attr.size).toBe(4192n);
    }
    expect(names).toEqual(['.', '..', 'docs', 'pub']);
    s.shares.add('more', outside);
    const again = g.ok({ op: HgfsOp.SEARCH_READ_V3, search, offset: 0, flags: 0 });
    expect(again.entries[0]!.name).toBe('.');
    expect(g.ok({ op: HgfsOp.SEARCH_READ_V3, search, offset: 4, flags: 0 }).entries[0]!.name).toBe('more');
  });

  it('a session keeps its most recent searches (vmhgfs-fuse never closes them)', () => {
    const g = guest(server({ maxSearches: 2 }));
    const handles = [0, 1, 2].map(
      () => g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['docs']) }).search,
    );
    expect(g.status({ op: HgfsOp.SEARCH_READ_V3, search: handles[0]!, offset: 0, flags: 0 })).toBe(
      'INVALID_HANDLE',
    );
    expect(g.status({ op: HgfsOp.SEARCH_READ_V3, search: handles[2]!, offset: 0, flags: 0 })).toBe('SUCCESS');
  });

  it('CREATE_DIR_V3, DELETE_DIR_V3 and DELETE_FILE_V3', () => {
    const g = guest();
    const mk = (path: string[], perms?: number) =>
      g.status({
        op: HgfsOp.CREATE_DIR_V3,
        mask:
          HgfsCreateDirValid.FILE_NAME |
          (perms === undefined
            ? 0n
            : HgfsCreateDirValid.OWNER_PERMS |
              HgfsCreateDirValid.GROUP_PERMS |
              HgfsCreateDirValid.OTHER_PERMS),
        specialPerms: 0,
        ownerPerms: ((perms ?? 0) >> 6) & 7,
        groupPerms: ((perms ?? 0) >> 3) & 7,
        otherPerms: (perms ?? 0) & 7,
        fileAttr: 0n,
        fileName: fileName(path),
      });
    expect(mk(['docs', 'd'], 0o750)).toBe('SUCCESS');
    expect(statSync(join(docs, 'd')).mode & 0o777).toBe(0o750);
    expect(mk(['docs', 'd'])).toBe('FILE_EXISTS');
    expect(mk(['docs', 'none', 'd'])).toBe('NO_SUCH_FILE_OR_DIR');
    expect(mk(['docs'])).toBe('FILE_EXISTS');
    expect(mk(['newshare'])).toBe('ACCESS_DENIED');
    writeFileSync(join(docs, 'd', 'x'), '');
    const del = (op: 34 | 35, path: string[]) => g.status({ op, hints: 0n, fileName: fileName(path) });
    expect(del(HgfsOp.DELETE_DIR_V3, ['docs', 'd'])).toBe('DIR_NOT_EMPTY');
    expect(del(HgfsOp.DELETE_FILE_V3, ['docs', 'd'])).toBe('FILE_EXISTS');
    expect(del(HgfsOp.DELETE_FILE_V3, ['docs', 'd', 'x'])).toBe('SUCCESS');
    expect(del(HgfsOp.DELETE_FILE_V3, ['docs', 'd', 'x'])).toBe('NO_SUCH_FILE_OR_DIR');
    expect(del(HgfsOp.DELETE_DIR_V3, ['docs', 'd'])).toBe('SUCCESS');
    expect(del(HgfsOp.DELETE_DIR_V3, ['docs'])).toBe('ACCESS_DENIED');
    expect(lstatSync(docs).isDirectory()).toBe(true);
    const f = g.ok(open(['docs', 'gone'], RW, F.OPEN_CREATE)).file;
    expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 1n, fileName: fileHandle(f) })).toBe('SUCCESS');
    expect(() => lstatSync(join(docs, 'gone'))).toThrow();
  });

  it('RENAME_V3: files and directories, NO_REPLACE_EXISTING, never a share itself', () => {
    const g = guest();
    writeFileSync(join(docs, 'x'), 'x');
    writeFileSync(join(docs, 'y'), 'y');
    const mv = (from: string[], to: string[], hints = 0n) =>
      g.status({ op: HgfsOp.RENAME_V3, hints, oldName: fileName(from), newName: fileName(to) });
    expect(mv(['docs', 'x'], ['docs', 'y'], HgfsRenameHint.NO_REPLACE_EXISTING)).toBe('FILE_EXISTS');
    expect(mv(['docs', 'x'], ['docs', 'y'])).toBe('SUCCESS');
    expect(readFileSync(join(docs, 'y'), 'utf8')).toBe('x');
    expect(mv(['docs', 'sub'], ['docs', 'sub2'])).toBe('SUCCESS');
    expect(readFileSync(join(docs, 'sub2', 'a.txt'), 'utf8')).toBe('hello');
    expect(mv(['docs', 'nope'], ['docs', 'z'])).toBe('NO_SUCH_FILE_OR_DIR');
    expect(mv(['docs'], ['docs', 'z'])).toBe('ACCESS_DENIED');
    expect(mv(['docs', 'y'], ['pub'])).toBe('ACCESS_DENIED');
  });

  it('CREATE_SYMLINK_V3 stores the target exactly; GETATTR_V3 reports it and never follows it', () => {
    const g = guest();
    for (const [name, target] of [
      ['rel', 'sub/a.txt'],
      ['abs', '/etc/passwd'],
      ['up', '../outside/secret'],
      ['odd', 'a  b/ünï/./../x'],
    ] as const) {
      g.ok({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(['docs', name]), target });
      expect(readlinkSync(join(docs, name))).toBe(target);
      const a = getattr(g, ['docs', name]);
      expect(a.attr.type).toBe(HgfsFileType.SYMLINK);
      expect(a.symlinkTarget).toBe(target);
    }
    expect(
      g.status({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(['docs', 'rel']), target: 'x' }),
    ).toBe('FILE_EXISTS');
    // Opening a symlink is never a way through it (O_NOFOLLOW: ELOOP, a generic error).
    expect(g.status(open(['docs', 'rel'], R, F.OPEN))).toBe('GENERIC_ERROR');
    expect(g.status(open(['docs', 'abs'], R, F.OPEN))).toBe('GENERIC_ERROR');
  });

  it('QUERY_VOLUME_INFO_V3: the share’s file system; the root: the share with the least free space', () => {
    const g = guest();
    const v = g.ok({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(['docs']) });
    expect(v.totalBytes).toBeGreaterThan(0n);
    expect(v.freeBytes).toBeLessThanOrEqual(v.totalBytes);
    const r = g.ok({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName([]) });
    expect(r.totalBytes).toBeGreaterThan(0n);
    expect(g.status({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(['nosuch']) })).toBe(
      'NO_SUCH_FILE_OR_DIR',
    );
  });
});

describe('HGFS host: confinement', () => {
  it('a `.` or `..` component, or a name that is not UTF-8, is INVALID_NAME before any file is touched', () => {
    const s = server();
    const g = guest(s);
    // The codec will not encode such names: build the packet with a stand-in and patch the bytes.
    const patched = (stand: string, real: Buffer) => {
      const packet = Buffer.from(
        encodeRequest(
          { op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(['docs', stand, 'outside', 'secret']) },
          { framing: 'v4', requestId: 1, sessionId: g.sessionId! },
        ),
      );
      real.copy(packet, packet.indexOf(stand));
      return Buffer.from(s.handle(packet)!).readUInt32LE(24);
    };
    expect(patched('__', Buffer.from('..'))).toBe(HgfsStatus.INVALID_NAME);
    expect(patched('_', Buffer.from('.'))).toBe(HgfsStatus.INVALID_NAME);
    expect(patched('__', Buffer.from([0xc3, 0x28]))).toBe(HgfsStatus.INVALID_NAME);
    expect(s.statuses()).toEqual({ SUCCESS: 1, INVALID_NAME: 3 });
  });

  it('a symlinked directory inside the share is followed; one pointing out is ACCESS_DENIED for every operation', () => {
    symlinkSync('sub', join(docs, 'inside'));
    symlinkSync('../outside', join(docs, 'escape'));
    symlinkSync(outside, join(docs, 'escape-abs'));
    const g = guest();
    expect(read(g, g.ok(open(['docs', 'inside', 'a.txt'], R, F.OPEN)).file)).toBe('hello');
    expect(getattr(g, ['docs', 'inside', 'a.txt']).attr.size).toBe(5n);
    mkdirSync(join(docs, 'sub', 'deeper'));
    expect(list(g, ['docs', 'inside', 'deeper']).map((e) => e.name)).toEqual(['.', '..']);
    for (const via of ['escape', 'escape-abs']) {
      const p = ['docs', via, 'secret'];
      expect(g.status(open(p, R, F.OPEN))).toBe('ACCESS_DENIED');
      expect(g.status(open(['docs', via, 'new'], RW, F.OPEN_CREATE))).toBe('ACCESS_DENIED');
      expect(getattrStatus(g, p)).toBe('ACCESS_DENIED');
      expect(g.status({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['docs', via, 'x']) })).toBe(
        'ACCESS_DENIED',
      );
      expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(p) })).toBe('ACCESS_DENIED');
      expect(
        g.status({
          op: HgfsOp.RENAME_V3,
          hints: 0n,
          oldName: fileName(p),
          newName: fileName(['docs', 'got']),
        }),
      ).toBe('ACCESS_DENIED');
      expect(
        g.status({
          op: HgfsOp.RENAME_V3,
          hints: 0n,
          oldName: fileName(['docs', 'sub', 'a.txt']),
          newName: fileName(p),
        }),
      ).toBe('ACCESS_DENIED');
      expect(
        g.status({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(['docs', via, 'l']), target: 'x' }),
      ).toBe('ACCESS_DENIED');
      expect(g.status({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(['docs', via]) })).toBe(
        'ACCESS_DENIED',
      );
      // The link itself is in the share: its target is reported, not followed.
      expect(getattr(g, ['docs', via]).attr.type).toBe(HgfsFileType.SYMLINK);
      // Listing the link (the last component) is refused, as O_DIRECTORY | O_NOFOLLOW is.
      expect(g.status({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(['docs', via]) })).toBe('GENERIC_ERROR');
    }
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
    expect(lstatSync(join(docs, 'sub', 'a.txt')).isFile()).toBe(true);
  });

  it('a symlink pointing out as the last component is never followed: open, create, mkdir, setattr, delete, rename', () => {
    symlinkSync(join(outside, 'secret'), join(docs, 'out'));
    symlinkSync(outside, join(docs, 'outdir'));
    symlinkSync(join(outside, 'made'), join(docs, 'dangling'));
    const g = guest();
    expect(g.status(open(['docs', 'out'], R, F.OPEN))).not.toBe('SUCCESS');
    expect(g.status(open(['docs', 'out'], W, F.OPEN_EMPTY))).not.toBe('SUCCESS');
    expect(g.status(open(['docs', 'out'], RW, F.OPEN_CREATE))).not.toBe('SUCCESS');
    expect(g.status(open(['docs', 'dangling'], RW, F.OPEN_CREATE))).not.toBe('SUCCESS');
    expect(g.status(open(['docs', 'dangling'], RW, F.OPEN_CREATE_EMPTY))).not.toBe('SUCCESS');
    const mkdir = (path: string[]) =>
      g.status({
        op: HgfsOp.CREATE_DIR_V3,
        mask: HgfsCreateDirValid.FILE_NAME,
        specialPerms: 0,
        ownerPerms: 7,
        groupPerms: 5,
        otherPerms: 5,
        fileAttr: 0n,
        fileName: fileName(path),
      });
    expect(mkdir(['docs', 'dangling'])).not.toBe('SUCCESS');
    const size0 = { ...emptyAttr(), mask: HgfsAttrValid.SIZE, size: 0n };
    expect(
      g.status({ op: HgfsOp.SETATTR_V3, hints: 0n, attr: size0, fileName: fileName(['docs', 'out']) }),
    ).not.toBe('SUCCESS');
    expect(
      g.status({ op: HgfsOp.DELETE_DIR_V3, hints: 0n, fileName: fileName(['docs', 'outdir']) }),
    ).not.toBe('SUCCESS');
    expect(
      g.status({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(['docs', 'outdir']), target: 'x' }),
    ).toBe('FILE_EXISTS');
    // Rename onto the link replaces the link; delete removes the link: the target stays.
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: 0n,
        oldName: fileName(['docs', 'sub', 'a.txt']),
        newName: fileName(['docs', 'out']),
      }),
    ).toBe('SUCCESS');
    expect(readFileSync(join(docs, 'out'), 'utf8')).toBe('hello');
    expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(['docs', 'dangling']) })).toBe(
      'SUCCESS',
    );
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
    expect(lstatSync(outside).isDirectory()).toBe(true);
    expect(() => lstatSync(join(outside, 'made'))).toThrow();
  });

  it('a share root opened as a handle can be neither removed nor renamed nor replaced by that handle', () => {
    mkdirSync(join(docs, 'empty'));
    const s = server();
    s.shares.add('bare', outside);
    rmSync(join(outside, 'secret'));
    const g = guest(s);
    const h = g.ok(open(['bare'], R, F.OPEN)).file;
    expect(g.status({ op: HgfsOp.DELETE_DIR_V3, hints: 1n, fileName: fileHandle(h) })).toBe('ACCESS_DENIED');
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: HgfsRenameHint.USE_SRCFILE_DESC,
        oldName: fileHandle(h),
        newName: fileName(['docs', 'moved']),
      }),
    ).toBe('ACCESS_DENIED');
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: HgfsRenameHint.USE_TARGETFILE_DESC,
        oldName: fileName(['docs', 'empty']),
        newName: fileHandle(h),
      }),
    ).toBe('ACCESS_DENIED');
    expect(lstatSync(outside).isDirectory()).toBe(true);
    expect(lstatSync(join(docs, 'empty')).isDirectory()).toBe(true);
  });

  it('a share named by a symlink is confined to where it pointed when added', () => {
    symlinkSync(docs, join(root, 'docs-link'));
    const s = new HgfsServer({ shares: new HostShares() });
    s.shares.add('l', join(root, 'docs-link'));
    const g = guest(s);
    expect(read(g, g.ok(open(['l', 'sub', 'a.txt'], R, F.OPEN)).file)).toBe('hello');
  });
});

describe('HGFS host: a read-only share', () => {
  it('answers every change as a Linux host does', () => {
    const g = guest();
    const ro = (path: string[]) => path;
    expect(read(g, g.ok(open(['pub', 'r.txt'], R, F.OPEN)).file)).toBe('read me');
    expect(g.status(open(['pub', 'r.txt'], R, F.OPEN_CREATE))).toBe('SUCCESS');
    expect(g.status(open(['pub', 'r.txt'], RW, F.OPEN))).toBe('ACCESS_DENIED');
    expect(g.status(open(['pub', 'new'], W, F.OPEN))).toBe('NO_SUCH_FILE_OR_DIR');
    expect(g.status(open(['pub', 'new'], R, F.OPEN_CREATE))).toBe('ACCESS_DENIED');
    for (const flags of [F.OPEN_EMPTY, F.OPEN_CREATE_SAFE, F.OPEN_CREATE_EMPTY])
      expect(g.status(open(['pub', 'r.txt'], R, flags))).toBe('ACCESS_DENIED');
    const mkdir = (path: string[]) =>
      g.status({
        op: HgfsOp.CREATE_DIR_V3,
        mask: 0n,
        specialPerms: 0,
        ownerPerms: 0,
        groupPerms: 0,
        otherPerms: 0,
        fileAttr: 0n,
        fileName: fileName(path),
      });
    expect(mkdir(ro(['pub', 'r.txt']))).toBe('FILE_EXISTS');
    expect(mkdir(ro(['pub', 'd']))).toBe('ACCESS_DENIED');
    expect(
      g.status({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(['pub', 'l']), target: 'r.txt' }),
    ).toBe('ACCESS_DENIED');
    expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(['pub', 'r.txt']) })).toBe(
      'ACCESS_DENIED',
    );
    expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(['pub', 'none']) })).toBe(
      'NO_SUCH_FILE_OR_DIR',
    );
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: 0n,
        oldName: fileName(['pub', 'r.txt']),
        newName: fileName(['pub', 's']),
      }),
    ).toBe('ACCESS_DENIED');
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: 0n,
        oldName: fileName(['docs', 'sub', 'a.txt']),
        newName: fileName(['pub', 's']),
      }),
    ).toBe('ACCESS_DENIED');
    expect(readFileSync(join(pub, 'r.txt'), 'utf8')).toBe('read me');
    expect(
      list(g, ['pub'])
        .map((e) => e.name)
        .sort(),
    ).toEqual(['.', '..', 'r.txt']);
  });
});
