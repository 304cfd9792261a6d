/**
 * The simulator's shared folders: @vmw9/hgfs's server with the host policy behind the RPCI `f `
 * command, its packet-size setting and the guestinfo key, a reset, and the console. What the
 * server answers is @vmw9/hgfs's own tests (packages/hgfs/test/server/).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeRequest,
  fileName,
  HGFS_LARGE_IO_MAX,
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  type OpenRequest,
} from '@vmw9/hgfs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runConsoleCommand, SimBackdoorPort, VmxHost } from '../src/index.js';
import { rpc } from './guest-msg.js';
import { Guest, viaRpci } from './hgfs-guest.js';

let root: string;
let docs: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vmx-sim-hgfs-'));
  docs = join(root, 'docs');
  mkdirSync(join(docs, 'sub'), { recursive: true });
  writeFileSync(join(docs, 'sub', 'a.txt'), 'hello');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

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

const RW = HgfsOpenMode.READ_WRITE;
const F = HgfsOpenFlags;
const getattrStatus = (g: Guest, path: string[]) =>
  g.status({ op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(path) });

describe('HGFS host: the RPCI command', () => {
  it('the probe `f ` gets `1 ` and nothing else; a packet too short for a header too', () => {
    const host = new VmxHost();
    expect(host.rpci.handle(Buffer.from('f ')).toString('latin1')).toBe('1 ');
    expect(host.rpci.handle(Buffer.from('f \u0001\u0000\u0000')).toString('latin1')).toBe('1 ');
    expect(host.hgfs.counts()['(dropped)']).toBe(2);
  });

  it('keeps the packet byte for byte: a request ending in a zero byte is not cut (RPCI text would be)', () => {
    const host = new VmxHost({ hgfs: { shares: [{ name: 'docs', dir: docs, readOnly: false }] } });
    const packet = encodeRequest(
      { op: HgfsOp.CREATE_SESSION_V4, maxPacketSize: 4096, flags: 0, capabilities: [] },
      { framing: 'v4', requestId: 1, sessionId: 0n },
    );
    expect(packet[packet.length - 1]).toBe(0);
    const g = new Guest(viaRpci(host));
    expect(g.connect().maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
    expect(host.rpci.history.at(-1)!.request.length).toBe(2 + packet.length);
  });

  it('big reads and writes at the large packet size, through the RPCI command', () => {
    const host = new VmxHost({ hgfs: { shares: [{ name: 'docs', dir: docs, readOnly: false }] } });
    const g = new Guest(viaRpci(host));
    expect(g.connect().maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
    const data = randomBytes(3 * HGFS_LARGE_IO_MAX + 1234);
    const f = g.ok(open(['docs', 'big.bin'], RW, F.OPEN_CREATE)).file;
    for (let at = 0; at < data.length; at += HGFS_LARGE_IO_MAX) {
      const chunk = data.subarray(at, at + HGFS_LARGE_IO_MAX);
      expect(
        g.ok({ op: HgfsOp.WRITE_V3, file: f, flags: 0, offset: BigInt(at), data: chunk }).actualSize,
      ).toBe(chunk.length);
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

  it('a host reset drops every session', () => {
    const host = new VmxHost({ hgfs: { shares: [{ name: 'docs', dir: docs, readOnly: false }] } });
    const g = new Guest(viaRpci(host));
    g.connect();
    host.reset();
    expect(getattrStatus(g, ['docs'])).toBe('STALE_SESSION');
  });
});

describe('HGFS host: packet sizes over GuestMsg, the guestinfo key, the console', () => {
  it('a large-packet host takes an `f ` message of 2 + 522240 bytes; a legacy one refuses it and tells tools FALSE', async () => {
    const host = new VmxHost({ hgfs: { shares: [{ name: 'docs', dir: docs, readOnly: false }] } });
    const port = new SimBackdoorPort(host);
    expect(await rpc(port, 'info-get guestinfo.hgfs.packetSize.large')).toMatch(/^0 /);
    const data = Buffer.alloc(HGFS_LARGE_PACKET_MAX - 52 - 25, 7);
    const g = new Guest(viaRpci(host));
    g.connect();
    const file = g.ok(open(['docs', 'max.bin'], RW, F.OPEN_CREATE)).file;
    const packet = encodeRequest(
      { op: HgfsOp.WRITE_V3, file, flags: 0, offset: 0n, data },
      { framing: 'v4', requestId: 99, sessionId: g.sessionId! },
    );
    expect(packet.length).toBe(HGFS_LARGE_PACKET_MAX);
    const reply = await rpc(port, Buffer.concat([Buffer.from('f '), packet]));
    expect(reply.slice(0, 2)).toBe('1 ');
    expect(statSync(join(docs, 'max.bin')).size).toBe(data.length);

    expect(runConsoleCommand(host, 'hgfs large off')).toMatch(/packets up to 63488 bytes/);
    expect(await rpc(port, 'info-get guestinfo.hgfs.packetSize.large')).toBe('1 FALSE');
    await expect(rpc(port, Buffer.concat([Buffer.from('f '), packet]))).rejects.toThrow(/SENDSIZE failed/);
    expect(new Guest(viaRpci(host)).connect().maxPacketSize).toBe(HGFS_LEGACY_LARGE_PACKET_MAX);
    expect(runConsoleCommand(host, 'hgfs large on')).toMatch(/522240/);
    expect(await rpc(port, 'info-get guestinfo.hgfs.packetSize.large')).toMatch(/^0 /);
  });

  it('console: share add/ls/rm, hgfs state and log', () => {
    const host = new VmxHost();
    const c = (l: string) => runConsoleCommand(host, l);
    expect(c('share')).toBe('(no shares)');
    const spaced = join(root, 'with space');
    mkdirSync(spaced);
    expect(c(`share add docs ${docs}`)).toBe(`shared docs = ${docs}`);
    expect(c(`share add sp ${spaced} ro`)).toBe(`shared sp = ${spaced} (read-only)`);
    expect(c(`share add docs ${docs}`)).toMatch(/^error: share "docs" exists/);
    expect(c(`share add bad/name ${docs}`)).toMatch(/^error: share name "bad\/name" contains/);
    expect(c(`share add x ${join(root, 'missing')}`)).toMatch(/^error: share "x": .*ENOENT/);
    expect(c('share ls')).toBe(`docs ${docs}\nsp ${spaced} ro`);
    const g = new Guest(viaRpci(host));
    g.connect();
    expect(getattrStatus(g, ['sp'])).toBe('SUCCESS');
    expect(c('share rm sp')).toBe('sp no longer shared');
    expect(c('share rm sp')).toMatch(/^error: no share named sp/);
    expect(getattrStatus(g, ['sp'])).toBe('NO_SUCH_FILE_OR_DIR');
    expect(c('hgfs')).toMatch(/sessions 1\/1024/);
    expect(c('hgfs')).toMatch(/GETATTR_V3 2/);
    expect(c('hgfs log 1')).toMatch(/GETATTR_V3 "sp" -> NO_SUCH_FILE_OR_DIR/);
    expect(c('state')).toMatch(/hgfs shares 1, sessions 1/);
    expect(c('hgfs large maybe')).toMatch(/^error:/);
  });
});
