/**
 * The server role with the guest's policy (GuestShares): the `root` share confined to grants, the
 * statuses refused names get (docs/protocol/hgfs.md, "The guest's shares"), write limits, revoking,
 * the records observe() sees, and the TCLO `f` framing.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeRequest,
  fileName,
  type Grant,
  GuestShares,
  HGFS_LARGE_PACKET_MAX,
  HGFS_TCLO_NO_ARGUMENT,
  HgfsClient,
  HgfsCreateDirValid,
  HgfsFileType,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  type HgfsOpRecord,
  HgfsRenameHint,
  HgfsServer,
  HgfsStatus,
  HgfsStatusError,
  HgfsTcloArgumentError,
  hgfsTcloResult,
  type OpenRequest,
  ShareError,
  tcloHgfsReply,
} from '../../src/index.js';
import { direct, Guest } from './guest.js';

let base: string;
let staging: string;
let offer: string;
let outside: string;

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'hgfs-guest-')));
  staging = join(base, 'staging');
  offer = join(base, 'offer');
  outside = join(base, 'outside');
  for (const d of [staging, offer, join(offer, 'sub'), outside]) mkdirSync(d);
  writeFileSync(join(offer, 'a.txt'), 'offered');
  writeFileSync(join(offer, 'sub', 'b.txt'), 'below');
  writeFileSync(join(base, 'single.txt'), 'one file');
  writeFileSync(join(base, 'sibling.txt'), 'not offered');
  writeFileSync(join(outside, 'secret'), 'secret');
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

/** The HGFS name of a real guest path: the `root` share, then its components. */
const name = (real: string, ...more: string[]) => ['root', ...real.split('/').filter(Boolean), ...more];

function setup(opts: { maxBytes?: number; observe?: (r: HgfsOpRecord) => void } = {}) {
  const shares = new GuestShares();
  const server = new HgfsServer({ shares, ...(opts.observe ? { observe: opts.observe } : {}) });
  const write = shares.grantWrite(staging, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
  const read = shares.grantRead(offer);
  const file = shares.grantRead(join(base, 'single.txt'));
  const g = new Guest(direct(server));
  g.connect();
  return { shares, server, g, write, read, file };
}

function open(path: string[], mode: number, flags: number): OpenRequest {
  return {
    op: HgfsOp.OPEN_V3,
    mask: HgfsOpenValid.MODE | HgfsOpenValid.FLAGS,
    mode,
    flags,
    specialPerms: 0,
    ownerPerms: 0,
    groupPerms: 0,
    otherPerms: 0,
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
const F = HgfsOpenFlags;
const getattr = (g: Guest, path: string[]) =>
  g.status({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(path) });
const write = (g: Guest, file: number, data: string, offset = 0n) =>
  g.call({ op: HgfsOp.WRITE_V3, file, flags: 0, offset, data: Buffer.from(data) });
const read = (g: Guest, file: number) =>
  Buffer.from(g.ok({ op: HgfsOp.READ_V3, file, offset: 0n, requiredSize: 4096 }).data).toString();

describe('GuestShares: grants', () => {
  it('grantWrite takes an existing directory, grantRead a file or directory; each at its real path', () => {
    const shares = new GuestShares();
    symlinkSync(staging, join(base, 'via-link'));
    expect(shares.grantWrite(join(base, 'via-link')).path).toBe(staging);
    expect(shares.grantRead(join(base, 'single.txt'))).toMatchObject({ readOnly: true, bytesWritten: 0 });
    expect(() => shares.grantWrite(join(base, 'single.txt'))).toThrow(ShareError);
    expect(() => shares.grantWrite(join(base, 'missing'))).toThrow(/ENOENT/);
    expect(() => shares.grantRead(join(base, 'missing'))).toThrow(ShareError);
    expect(() => shares.grantWrite(staging, { maxBytes: -1 })).toThrow(ShareError);
    expect(() => shares.grantWrite(staging, { maxBytes: 1.5 })).toThrow(ShareError);
    expect(shares.grants().map((g) => g.path)).toEqual([staging, join(base, 'single.txt')]);
  });

  it('nothing is served before a grant; the virtual root lists `root` alone', () => {
    const server = new HgfsServer({ shares: new GuestShares() });
    const g = new Guest(direct(server));
    g.connect();
    expect(getattr(g, name(staging))).toBe('ACCESS_DENIED');
    expect(getattr(g, ['root'])).toBe('ACCESS_DENIED');
    expect(getattr(g, [])).toBe('SUCCESS');
    const search = g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName([]) }).search;
    const names: string[] = [];
    for (let i = 0; ; i++) {
      const r = g.ok({ op: HgfsOp.SEARCH_READ_V3, search, offset: i, flags: 0 });
      if (r.end) break;
      names.push(...r.entries.map((e) => e.name));
    }
    expect(names).toEqual(['.', '..', 'root']);
  });

  it('a write grant: create, write, read, list, rename and delete inside it; the directory itself stays', () => {
    const { g } = setup();
    expect(g.status({ op: HgfsOp.CREATE_DIR_V3, ...mkdirBody(name(staging, 'd')) })).toBe('SUCCESS');
    const f = g.ok(open(name(staging, 'd', 'x.txt'), W, F.OPEN_CREATE_EMPTY)).file;
    expect(write(g, f, 'dropped').status).toBe(HgfsStatus.SUCCESS);
    g.ok({ op: HgfsOp.CLOSE_V3, file: f });
    expect(readFileSync(join(staging, 'd', 'x.txt'), 'utf8')).toBe('dropped');
    const rename = (from: string[], to: string[]) =>
      g.status({ op: HgfsOp.RENAME_V3, hints: 0n, oldName: fileName(from), newName: fileName(to) });
    expect(rename(name(staging, 'd', 'x.txt'), name(staging, 'y.txt'))).toBe('SUCCESS');
    expect(
      g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(name(staging, 'y.txt')) }),
    ).toBe('SUCCESS');
    // The granted directory is the guest's: the host may neither remove nor move it.
    expect(g.status({ op: HgfsOp.DELETE_DIR_V3, hints: 0n, fileName: fileName(name(staging)) })).toBe(
      'ACCESS_DENIED',
    );
    expect(rename(name(staging), name(staging, 'moved'))).toBe('ACCESS_DENIED');
    expect(existsSync(staging)).toBe(true);
  });

  it('a read grant: its files read, nothing changed, created or deleted; a file grant is that file alone', () => {
    const { g } = setup();
    expect(read(g, g.ok(open(name(offer, 'sub', 'b.txt'), R, F.OPEN)).file)).toBe('below');
    expect(read(g, g.ok(open(name(base, 'single.txt'), R, F.OPEN)).file)).toBe('one file');
    expect(g.status(open(name(offer, 'a.txt'), W, F.OPEN))).toBe('ACCESS_DENIED');
    // As on a read-only host share: writing a missing file is NO_SUCH_FILE_OR_DIR, creating one ACCESS_DENIED.
    expect(g.status(open(name(offer, 'new.txt'), W, F.OPEN_CREATE))).toBe('NO_SUCH_FILE_OR_DIR');
    expect(g.status(open(name(offer, 'new.txt'), W, F.OPEN_CREATE_EMPTY))).toBe('ACCESS_DENIED');
    expect(existsSync(join(offer, 'new.txt'))).toBe(false);
    expect(g.status({ op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(name(offer, 'a.txt')) })).toBe(
      'ACCESS_DENIED',
    );
    expect(g.status({ op: HgfsOp.CREATE_DIR_V3, ...mkdirBody(name(offer, 'nd')) })).toBe('ACCESS_DENIED');
    expect(getattr(g, name(base, 'sibling.txt'))).toBe('ACCESS_DENIED');
    expect(readFileSync(join(offer, 'a.txt'), 'utf8')).toBe('offered');
  });

  it('a name under both a read and a write grant may be written (rights add up)', () => {
    const shares = new GuestShares();
    shares.grantRead(join(staging));
    const w = shares.grantWrite(staging);
    const g = new Guest(direct(new HgfsServer({ shares })));
    g.connect();
    const f = g.ok(open(name(staging, 'n.txt'), W, F.OPEN_CREATE)).file;
    expect(write(g, f, 'abc').status).toBe(HgfsStatus.SUCCESS);
    expect(w.bytesWritten).toBe(3);
  });
});

function mkdirBody(path: string[]) {
  return {
    mask: HgfsCreateDirValid.FILE_NAME,
    specialPerms: 0,
    ownerPerms: 0,
    groupPerms: 0,
    otherPerms: 0,
    fileAttr: 0n,
    fileName: fileName(path),
  };
}

describe('GuestShares: refused names get the statuses open-vm-tools gives', () => {
  it('`..` and `.` components and names that are not UTF-8: INVALID_NAME, before anything is looked at', () => {
    const { g, server } = setup();
    const patched = (stand: string, real: Buffer) => {
      const packet = Buffer.from(
        encodeRequest(
          { op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(name(staging, stand, 'outside', 'secret')) },
          { framing: 'v4', requestId: 1, sessionId: g.sessionId! },
        ),
      );
      real.copy(packet, packet.indexOf(stand));
      return Buffer.from(server.handle(packet)!).readUInt32LE(24);
    };
    expect(patched('__', Buffer.from('..'))).toBe(HgfsStatus.INVALID_NAME);
    expect(patched('_', Buffer.from('.'))).toBe(HgfsStatus.INVALID_NAME);
    expect(patched('__', Buffer.from([0xc3, 0x28]))).toBe(HgfsStatus.INVALID_NAME);
    // A component holding '/' (an absolute name inside one component).
    expect(patched('__________', Buffer.from('/etc/passw'))).toBe(HgfsStatus.INVALID_NAME);
  });

  it('a share other than `root`: NO_SUCH_FILE_OR_DIR; `root` matches case-insensitively', () => {
    const { g } = setup();
    expect(getattr(g, ['home', ...name(staging).slice(1)])).toBe('NO_SUCH_FILE_OR_DIR');
    expect(getattr(g, ['ROOT', ...name(staging).slice(1)])).toBe('SUCCESS');
  });

  it('a name outside every grant: ACCESS_DENIED, whether or not it exists', () => {
    const { g } = setup();
    expect(getattr(g, name(outside, 'secret'))).toBe('ACCESS_DENIED');
    expect(getattr(g, name(outside, 'no-such-file'))).toBe('ACCESS_DENIED');
    expect(getattr(g, name(base))).toBe('ACCESS_DENIED');
    expect(getattr(g, ['root', 'etc', 'passwd'])).toBe('ACCESS_DENIED');
    expect(g.status(open(name(outside, 'new'), W, F.OPEN_CREATE))).toBe('ACCESS_DENIED');
    expect(existsSync(join(outside, 'new'))).toBe(false);
    expect(g.status({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(name(outside)) })).toBe('ACCESS_DENIED');
  });

  it('a symlink leading out of a grant: ACCESS_DENIED through it; as the last component, never followed', () => {
    symlinkSync(outside, join(staging, 'out-dir'));
    symlinkSync(join(outside, 'secret'), join(staging, 'out-file'));
    symlinkSync('../outside', join(offer, 'up'));
    const { g } = setup();
    expect(getattr(g, name(staging, 'out-dir', 'secret'))).toBe('ACCESS_DENIED');
    expect(g.status(open(name(staging, 'out-dir', 'made'), W, F.OPEN_CREATE))).toBe('ACCESS_DENIED');
    expect(g.status(open(name(offer, 'up', 'secret'), R, F.OPEN))).toBe('ACCESS_DENIED');
    // O_NOFOLLOW: ELOOP, which a host answers GENERIC_ERROR.
    expect(g.status(open(name(staging, 'out-file'), R, F.OPEN))).toBe('GENERIC_ERROR');
    expect(g.status(open(name(staging, 'out-file'), W, F.OPEN_EMPTY))).toBe('GENERIC_ERROR');
    expect(g.status({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(name(staging, 'out-dir')) })).toBe(
      'ACCESS_DENIED',
    );
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
    expect(readdirSync(outside)).toEqual(['secret']);
  });

  it('a rename between two grants: NOT_SAME_DEVICE (the data would leave its grant)', () => {
    const { g, shares } = setup();
    const other = join(base, 'other');
    mkdirSync(other);
    shares.grantWrite(other);
    writeFileSync(join(staging, 'f'), 'x');
    expect(
      g.status({
        op: HgfsOp.RENAME_V3,
        hints: HgfsRenameHint.NO_REPLACE_EXISTING,
        oldName: fileName(name(staging, 'f')),
        newName: fileName(name(other, 'f')),
      }),
    ).toBe('NOT_SAME_DEVICE');
    expect(existsSync(join(staging, 'f'))).toBe(true);
  });
});

describe('GuestShares: the write limit', () => {
  it('writes up to maxBytes succeed; one past it is NO_SPACE and writes nothing', () => {
    const { g, write: grant } = setup({ maxBytes: 10 });
    const f = g.ok(open(name(staging, 'q.bin'), W, F.OPEN_CREATE)).file;
    expect(write(g, f, '123456').status).toBe(HgfsStatus.SUCCESS);
    expect(write(g, f, 'abcde', 6n).status).toBe(HgfsStatus.NO_SPACE);
    expect(readFileSync(join(staging, 'q.bin'), 'utf8')).toBe('123456');
    expect(grant.bytesWritten).toBe(6);
    const vol = g.ok({ op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(name(staging)) });
    expect(vol.freeBytes).toBe(4n);
    expect(write(g, f, 'abcd', 6n).status).toBe(HgfsStatus.SUCCESS);
    expect(write(g, f, 'z', 10n).status).toBe(HgfsStatus.NO_SPACE);
    expect(readFileSync(join(staging, 'q.bin'), 'utf8')).toBe('123456abcd');
    expect(grant).toMatchObject({ bytesWritten: 10, maxBytes: 10 });
    // The limit is the grant's, whichever file: a second file gets no more.
    const f2 = g.ok(open(name(staging, 'r.bin'), W, F.OPEN_CREATE)).file;
    expect(write(g, f2, 'x').status).toBe(HgfsStatus.NO_SPACE);
    expect(statSync(join(staging, 'r.bin')).size).toBe(0);
  });

  it('without maxBytes every write is counted and none refused', () => {
    const { g, write: grant } = setup();
    const f = g.ok(open(name(staging, 'big.bin'), W, F.OPEN_CREATE)).file;
    const chunk = 'x'.repeat(60_000);
    for (let i = 0; i < 5; i++) expect(write(g, f, chunk, BigInt(i * chunk.length)).status).toBe(0);
    expect(grant.bytesWritten).toBe(300_000);
  });
});

describe('GuestShares: revoking', () => {
  it('closes the files and searches open under the grant; later names in it are refused; other grants go on', () => {
    const { g, server, shares, write: w, read: r } = setup();
    const inWrite = g.ok(open(name(staging, 'w.txt'), W, F.OPEN_CREATE)).file;
    const search = g.ok({ op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(name(staging)) }).search;
    const inRead = g.ok(open(name(offer, 'a.txt'), R, F.OPEN)).file;
    expect(server.state()).toMatchObject({ openFiles: 2, searches: 1 });
    w.revoke();
    w.revoke();
    expect(w.revoked).toBe(true);
    expect(write(g, inWrite, 'late').status).toBe(HgfsStatus.INVALID_HANDLE);
    expect(g.status({ op: HgfsOp.SEARCH_READ_V3, search, offset: 0, flags: 0 })).toBe('INVALID_HANDLE');
    expect(g.status(open(name(staging, 'w.txt'), W, F.OPEN))).toBe('ACCESS_DENIED');
    expect(read(g, inRead)).toBe('offered');
    expect(server.state()).toMatchObject({ openFiles: 1, searches: 0 });
    expect(shares.grants()).not.toContain(w);
    r.revoke();
    expect(g.status({ op: HgfsOp.READ_V3, file: inRead, offset: 0n, requiredSize: 1 })).toBe(
      'INVALID_HANDLE',
    );
    expect(readFileSync(join(staging, 'w.txt'), 'utf8')).toBe('');
  });
});

describe('HgfsServer.observe', () => {
  it('sees every request with its status, the real path it resolved to, and the data bytes moved', () => {
    const seen: HgfsOpRecord[] = [];
    const { g, server } = setup({ observe: (r) => seen.push(r) });
    const f = g.ok(open(name(staging, 'o.txt'), W, F.OPEN_CREATE)).file;
    write(g, f, 'twelve bytes');
    g.ok({ op: HgfsOp.CLOSE_V3, file: f });
    const rf = g.ok(open(name(offer, 'a.txt'), R, F.OPEN)).file;
    read(g, rf);
    getattr(g, name(outside, 'secret'));
    server.handle(new Uint8Array(3));
    expect(seen.map((r) => [r.op, r.status, r.realPath, r.bytes])).toEqual([
      ['CREATE_SESSION_V4', 'SUCCESS', undefined, undefined],
      ['OPEN_V3', 'SUCCESS', join(staging, 'o.txt'), undefined],
      ['WRITE_V3', 'SUCCESS', join(staging, 'o.txt'), 12],
      ['CLOSE_V3', 'SUCCESS', join(staging, 'o.txt'), undefined],
      ['OPEN_V3', 'SUCCESS', join(offer, 'a.txt'), undefined],
      ['READ_V3', 'SUCCESS', join(offer, 'a.txt'), 7],
      ['GETATTR_V3', 'ACCESS_DENIED', undefined, undefined],
      ['(dropped)', '(none)', undefined, undefined],
    ]);
    expect(seen).toEqual(server.log());
  });

  it('tells the policy refusing a name (refusal) from a packet that did not decode (malformed)', () => {
    const { g, server } = setup({ maxBytes: 4 });
    const last = () => server.log().at(-1)!;
    const marks = () => ({ status: last().status, refusal: last().refusal, malformed: last().malformed });
    // Refused by the policy: outside every grant, another share, a new name beside `root`.
    getattr(g, name(outside, 'secret'));
    expect(marks()).toEqual({ status: 'ACCESS_DENIED', refusal: 'escape', malformed: undefined });
    expect(last().path).toBe(name(outside, 'secret').join('/'));
    getattr(g, ['other', 'x']);
    expect(marks()).toEqual({ status: 'NO_SUCH_FILE_OR_DIR', refusal: 'no-share', malformed: undefined });
    g.status(open(['new'], W, F.OPEN_CREATE));
    expect(marks()).toEqual({ status: 'ACCESS_DENIED', refusal: 'no-share', malformed: undefined });
    // Ordinary failures inside a grant: neither.
    writeFileSync(join(staging, 'here'), '');
    g.status(open(name(staging, 'here'), W, F.OPEN_CREATE_SAFE));
    expect(marks()).toEqual({ status: 'FILE_EXISTS', refusal: undefined, malformed: undefined });
    const f = g.ok(open(name(staging, 'n.txt'), W, F.OPEN_CREATE)).file;
    write(g, f, 'too much');
    expect(marks()).toEqual({ status: 'NO_SPACE', refusal: undefined, malformed: undefined });
    g.status({ op: HgfsOp.READ_V3, file: f + 99, offset: 0n, requiredSize: 1 });
    expect(marks()).toEqual({ status: 'INVALID_HANDLE', refusal: undefined, malformed: undefined });
    // An operation we do not implement, a stale session: not malformed.
    const v4op = Buffer.from(
      encodeRequest(
        { op: HgfsOp.DESTROY_SESSION_V4 },
        { framing: 'v4', requestId: 5, sessionId: g.sessionId! },
      ),
    );
    v4op.writeUInt32LE(HgfsOp.OPEN_V4, 20);
    server.handle(v4op);
    expect(marks()).toEqual({ status: 'PROTOCOL_ERROR', refusal: undefined, malformed: undefined });
    g.call({ op: HgfsOp.CLOSE_V3, file: f }, g.sessionId! + 1n);
    expect(marks()).toEqual({ status: 'STALE_SESSION', refusal: undefined, malformed: undefined });
    // Did not decode: a name the codec refuses (a `..` component), a body cut short, a bad
    // header, a dropped packet.
    const dots = Buffer.from(
      encodeRequest(
        { op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(name(staging, '__', 'x')) },
        { framing: 'v4', requestId: 4, sessionId: g.sessionId! },
      ),
    );
    dots.write('..', dots.indexOf('__'));
    server.handle(dots);
    expect(marks()).toEqual({ status: 'INVALID_NAME', refusal: undefined, malformed: true });
    const close = encodeRequest({ op: HgfsOp.CLOSE_V3, file: f }, { framing: 'legacy', requestId: 6 });
    server.handle(close.subarray(0, 12));
    expect(marks()).toEqual({ status: 'PROTOCOL_ERROR', refusal: undefined, malformed: true });
    const bad = Buffer.from(
      encodeRequest(
        { op: HgfsOp.CLOSE_V3, file: f },
        { framing: 'v4', requestId: 7, sessionId: g.sessionId! },
      ),
    );
    server.handle(bad.subarray(0, 20));
    expect(marks()).toEqual({ status: 'STALE_SESSION', refusal: undefined, malformed: true });
    server.handle(new Uint8Array(3));
    expect(marks()).toEqual({ status: '(none)', refusal: undefined, malformed: true });
  });

  it('a refused write has its path but no bytes; an observer that throws does not stop the reply', () => {
    const seen: HgfsOpRecord[] = [];
    let calls = 0;
    const { g, server } = setup({
      maxBytes: 1,
      observe: (r) => {
        calls++;
        if (r.op === 'WRITE_V3') throw new Error('observer bug');
        seen.push(r);
      },
    });
    const f = g.ok(open(name(staging, 'n.txt'), W, F.OPEN_CREATE)).file;
    expect(write(g, f, 'too much').status).toBe(HgfsStatus.NO_SPACE);
    expect(server.log().at(-1)).toMatchObject({
      op: 'WRITE_V3',
      status: 'NO_SPACE',
      realPath: join(staging, 'n.txt'),
    });
    expect(server.log().at(-1)!.bytes).toBeUndefined();
    expect(calls).toBe(3);
    expect(server.state().observerFailures).toBe(1);
  });
});

describe('TCLO `f` framing', () => {
  const create = encodeRequest(
    { op: HgfsOp.CREATE_SESSION_V4, maxPacketSize: HGFS_LARGE_PACKET_MAX, flags: 0, capabilities: [] },
    { framing: 'v4', requestId: 1, sessionId: 0n },
  );
  const message = (packet: Uint8Array) => Buffer.concat([Buffer.from('f '), packet]);

  it('`f` + space + packet is answered `OK ` + the reply packet, byte for byte as handle() gives it', () => {
    const server = new HgfsServer({ shares: new GuestShares() });
    const reply = tcloHgfsReply(server, message(create));
    expect(reply.subarray(0, 3).toString()).toBe('OK ');
    expect(reply.readUInt32LE(3 + 24)).toBe(HgfsStatus.SUCCESS);
    expect(Buffer.from(hgfsTcloResult(server, message(create))).readUInt32LE(24)).toBe(HgfsStatus.SUCCESS);
    expect(server.state().sessions).toBe(2);
  });

  it('`f` alone: ERROR 1 argument required; `f ` (an empty packet) is dropped: `OK ` alone', () => {
    const server = new HgfsServer({ shares: new GuestShares() });
    expect(tcloHgfsReply(server, Buffer.from('f')).toString()).toBe('ERROR 1 argument required');
    expect(HGFS_TCLO_NO_ARGUMENT).toBe('1 argument required');
    expect(() => hgfsTcloResult(server, Buffer.from('f'))).toThrow(HgfsTcloArgumentError);
    expect(tcloHgfsReply(server, Buffer.from('f ')).toString()).toBe('OK ');
    expect(hgfsTcloResult(server, Buffer.from('f ')).length).toBe(0);
    expect(server.counts()).toEqual({ '(dropped)': 2 });
  });
});

describe('HgfsClient ↔ HgfsServer with GuestShares, in process', () => {
  /** A tree: directories and files with contents of several packet sizes. */
  const tree: Record<string, string | Buffer> = {
    'top.txt': 'top',
    'empty.bin': Buffer.alloc(0),
    'dir/one.bin': Buffer.alloc(70_000, 1),
    'dir/deeper/two.bin': Buffer.from(Array.from({ length: 600_000 }, (_, i) => (i * 7) & 0xff)),
    'dir/deeper/ünïcode name.txt': 'names as UTF-8',
  };

  it('the host writes a tree into a write grant, then reads it back through a read grant of it', async () => {
    const shares = new GuestShares();
    const server = new HgfsServer({ shares });
    const writeGrant: Grant = shares.grantWrite(staging, { maxBytes: 1_000_000 });
    const client = new HgfsClient({
      send: async (p) => {
        const r = tcloHgfsReply(server, Buffer.concat([Buffer.from('f '), p]));
        return r.subarray(3);
      },
      maxPacketSize: HGFS_LARGE_PACKET_MAX,
    });
    await client.connect();
    const dirs = new Set<string>();
    for (const rel of Object.keys(tree)) {
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) await client.mkdir(name(staging, ...d.split('/')));
        dirs.add(d);
      }
      await client.writeFile(name(staging, ...parts), Buffer.from(tree[rel]!));
    }
    const total = Object.values(tree).reduce((n, v) => n + Buffer.byteLength(v), 0);
    expect(writeGrant.bytesWritten).toBe(total);
    for (const [rel, data] of Object.entries(tree))
      expect(readFileSync(join(staging, rel)).equals(Buffer.from(data))).toBe(true);

    // Guest → host: the drop is over, the same tree is offered read-only.
    writeGrant.revoke();
    shares.grantRead(staging);
    const back: Record<string, Buffer> = {};
    const walk = async (rel: string[]) => {
      for (const e of await client.listDir(name(staging, ...rel))) {
        const here = [...rel, e.name];
        if (e.attr.type === HgfsFileType.DIRECTORY) await walk(here);
        else back[here.join('/')] = Buffer.from(await client.readFile(name(staging, ...here)));
      }
    };
    await walk([]);
    expect(Object.keys(back).sort()).toEqual(Object.keys(tree).sort());
    for (const [rel, data] of Object.entries(tree)) expect(back[rel]!.equals(Buffer.from(data))).toBe(true);
    await expect(client.writeFile(name(staging, 'late.txt'), Buffer.from('no'))).rejects.toMatchObject({
      status: HgfsStatus.ACCESS_DENIED,
    });
    await expect(client.readFile(name(outside, 'secret'))).rejects.toBeInstanceOf(HgfsStatusError);
    await client.destroySession();
    expect(server.state()).toMatchObject({ sessions: 0, openFiles: 0 });
  });

  it('a tree over the limit: the write that would pass it fails NO_SPACE, and what is on disk stays under it', async () => {
    const shares = new GuestShares();
    const server = new HgfsServer({ shares });
    const grant = shares.grantWrite(staging, { maxBytes: 100_000 });
    const client = new HgfsClient({
      send: async (p) => server.handle(p)!,
      maxPacketSize: HGFS_LARGE_PACKET_MAX,
    });
    await client.connect();
    await client.writeFile(name(staging, 'a.bin'), Buffer.alloc(60_000, 2));
    await expect(client.writeFile(name(staging, 'b.bin'), Buffer.alloc(60_000, 3))).rejects.toMatchObject({
      status: HgfsStatus.NO_SPACE,
    });
    const onDisk = readdirSync(staging).reduce((n, f) => n + statSync(join(staging, f)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(100_000);
    expect(grant.bytesWritten).toBe(onDisk);
  });
});
