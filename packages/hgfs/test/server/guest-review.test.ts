/**
 * Review of issue 16: what a hostile host can do inside a write grant that the grant's limit and
 * its "the granted directory is not the host's to change" rule must cover (docs/protocol/hgfs.md,
 * "The guest's shares").
 */
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  emptyAttr,
  fileHandle,
  fileName,
  GuestShares,
  HgfsAttrHint,
  HgfsAttrValid,
  HgfsCreateDirValid,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  HgfsServer,
  HgfsStatus,
  type OpenRequest,
} from '../../src/index.js';
import { direct, Guest } from './guest.js';

let base: string;
let staging: string;

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'hgfs-review-')));
  staging = join(base, 'staging');
  mkdirSync(staging, { mode: 0o700 });
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const name = (real: string, ...more: string[]) => ['root', ...real.split('/').filter(Boolean), ...more];

function setup(maxBytes?: number) {
  const shares = new GuestShares();
  const server = new HgfsServer({ shares });
  const grant = shares.grantWrite(staging, maxBytes === undefined ? {} : { maxBytes });
  const g = new Guest(direct(server));
  g.connect();
  return { g, grant, server };
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

function chmodAttr(perms: number) {
  const attr = emptyAttr();
  attr.mask = HgfsAttrValid.OWNER_PERMS | HgfsAttrValid.GROUP_PERMS | HgfsAttrValid.OTHER_PERMS;
  attr.ownerPerms = (perms >> 6) & 7;
  attr.groupPerms = (perms >> 3) & 7;
  attr.otherPerms = perms & 7;
  return attr;
}

function sizeAttr(size: bigint) {
  const attr = emptyAttr();
  attr.mask = HgfsAttrValid.SIZE;
  attr.size = size;
  return attr;
}

describe('the granted directory itself', () => {
  it('SETATTR by name cannot change its mode (as delete and rename of it are refused)', () => {
    const { g } = setup();
    const r = g.call({
      op: HgfsOp.SETATTR_V3,
      hints: 0n,
      attr: chmodAttr(0o777),
      fileName: fileName(name(staging)),
    });
    expect(r.status).toBe(HgfsStatus.ACCESS_DENIED);
    expect(statSync(staging).mode & 0o777).toBe(0o700);
  });

  it('SETATTR by a handle opened on it cannot change its mode either', () => {
    const { g } = setup();
    const h = g.ok(open(name(staging), HgfsOpenMode.READ_ONLY, HgfsOpenFlags.OPEN)).file;
    const r = g.call({
      op: HgfsOp.SETATTR_V3,
      hints: HgfsAttrHint.USE_FILE_DESC,
      attr: chmodAttr(0o777),
      fileName: fileHandle(h),
    });
    expect(r.status).toBe(HgfsStatus.ACCESS_DENIED);
    expect(statSync(staging).mode & 0o777).toBe(0o700);
  });
});

describe('the write limit and file sizes', () => {
  it('SETATTR size cannot grow a file past the limit', () => {
    const { g } = setup(10);
    g.ok(open(name(staging, 'f'), HgfsOpenMode.WRITE_ONLY, HgfsOpenFlags.OPEN_CREATE)).file;
    const r = g.call({
      op: HgfsOp.SETATTR_V3,
      hints: 0n,
      attr: sizeAttr(1n << 40n),
      fileName: fileName(name(staging, 'f')),
    });
    expect(r.status).toBe(HgfsStatus.NO_SPACE);
    expect(statSync(join(staging, 'f')).size).toBe(0);
  });

  it('a WRITE_V3 far past the end of a file counts the hole it makes', () => {
    const { g, grant } = setup(10);
    const f = g.ok(open(name(staging, 'f'), HgfsOpenMode.WRITE_ONLY, HgfsOpenFlags.OPEN_CREATE)).file;
    const r = g.call({ op: HgfsOp.WRITE_V3, file: f, flags: 0, offset: 1n << 40n, data: Buffer.from('x') });
    expect(r.status).toBe(HgfsStatus.NO_SPACE);
    expect(statSync(join(staging, 'f')).size).toBe(0);
    expect(grant.bytesWritten).toBe(0);
  });
});

describe('what the host may set on files it makes in a write grant', () => {
  it('no setuid, setgid or sticky bit: not at OPEN_V3, CREATE_DIR_V3 nor SETATTR_V3', () => {
    const { g } = setup();
    const req = open(name(staging, 'tool'), HgfsOpenMode.WRITE_ONLY, HgfsOpenFlags.OPEN_CREATE);
    req.mask |= HgfsOpenValid.SPECIAL_PERMS | HgfsOpenValid.OWNER_PERMS;
    req.specialPerms = 6;
    req.ownerPerms = 7;
    g.ok(req);
    expect(statSync(join(staging, 'tool')).mode & 0o7000).toBe(0);
    g.ok({
      op: HgfsOp.CREATE_DIR_V3,
      mask: HgfsCreateDirValid.SPECIAL_PERMS | HgfsCreateDirValid.OWNER_PERMS,
      specialPerms: 7,
      ownerPerms: 7,
      groupPerms: 0,
      otherPerms: 0,
      fileAttr: 0n,
      fileName: fileName(name(staging, 'd')),
    });
    expect(statSync(join(staging, 'd')).mode & 0o7000).toBe(0);
    const attr = chmodAttr(0o755);
    attr.mask |= HgfsAttrValid.SPECIAL_PERMS;
    attr.specialPerms = 6;
    g.call({ op: HgfsOp.SETATTR_V3, hints: 0n, attr, fileName: fileName(name(staging, 'tool')) });
    expect(statSync(join(staging, 'tool')).mode & 0o7000).toBe(0);
  });

  it('no owner but the guest user the server runs as: SETATTR_V3 ids are refused', () => {
    const { g } = setup();
    g.ok(open(name(staging, 'f'), HgfsOpenMode.WRITE_ONLY, HgfsOpenFlags.OPEN_CREATE));
    const owner = statSync(join(staging, 'f')).uid;
    const attr = emptyAttr();
    attr.mask = HgfsAttrValid.USERID | HgfsAttrValid.GROUPID;
    attr.userId = owner + 4242;
    attr.groupId = owner + 4242;
    const r = g.call({ op: HgfsOp.SETATTR_V3, hints: 0n, attr, fileName: fileName(name(staging, 'f')) });
    expect(r.status).not.toBe(HgfsStatus.SUCCESS);
    expect(statSync(join(staging, 'f')).uid).toBe(owner);
  });
});

describe('symlinks a host makes in a write grant', () => {
  const link = (g: Guest, at: string, target: string) =>
    g.call({ op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(name(staging, at)), target }).status;

  it('none leading out of it: no absolute target, no `..` (a link moved deeper would then lead out)', () => {
    const { g, server } = setup();
    mkdirSync(join(staging, 'sub'));
    expect(link(g, 'abs', '/etc/passwd')).not.toBe(HgfsStatus.SUCCESS);
    expect(link(g, 'up', '../outside')).not.toBe(HgfsStatus.SUCCESS);
    expect(link(g, 'updown', 'sub/../../outside')).not.toBe(HgfsStatus.SUCCESS);
    for (const n of ['abs', 'up', 'updown']) expect(existsSync(join(staging, n))).toBe(false);
    // Recorded as a name refused for leading out, as a path outside the grant is.
    expect(
      server
        .log()
        .filter((r) => r.op === 'CREATE_SYMLINK_V3')
        .map((r) => r.refusal),
    ).toEqual(['escape', 'escape', 'escape']);
  });

  it('one leading down, inside the drop, is made as given', () => {
    const { g } = setup();
    mkdirSync(join(staging, 'sub'));
    expect(link(g, 'down', 'sub/file')).toBe(HgfsStatus.SUCCESS);
    expect(readlinkSync(join(staging, 'down'))).toBe('sub/file');
  });
});
