import { describe, expect, it } from 'vitest';
import {
  encodeErrorReply,
  encodeReply,
  HGFS_HEADER_SIZE,
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HgfsClient,
  HgfsDecodeError,
  HgfsFileType,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsStatus,
  HgfsStatusError,
  HgfsTransportError,
  modeFromAttr,
  packetFromRpciReply,
  rpciRequest,
} from '../src/index.js';
import { FakeHost } from './fake-host.js';

function setup(options: ConstructorParameters<typeof FakeHost>[0] = {}, clientMax = HGFS_LARGE_PACKET_MAX) {
  const host = new FakeHost(options);
  host.addShare('s');
  const client = new HgfsClient({ send: host.send, maxPacketSize: clientMax });
  return { host, client };
}

/** Byte equality without vitest's element-by-element diffing (slow on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function pattern(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

describe('HgfsClient sessions', () => {
  it('creates a V4 session lazily, once, asking for its packet size, and uses it', async () => {
    const { host, client } = setup({ maxPacketSize: HGFS_LARGE_PACKET_MAX });
    expect(client.framing).toBeUndefined();
    await Promise.all([client.listShares(), client.getattr(['s']), client.queryVolume(['s'])]);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(1);
    const create = host.seen[0]!;
    expect(create).toMatchObject({ framing: 'v4', op: HgfsOp.CREATE_SESSION_V4, size: 76, sessionId: 0n });
    expect(client.framing).toBe('v4');
    expect(client.maxPacketSize).toBe(HGFS_LARGE_PACKET_MAX);
    expect(client.sessionId).toBe(0x1000n);
    for (const s of host.seen.slice(1)) expect(s).toMatchObject({ framing: 'v4', sessionId: 0x1000n });
  });

  it('takes the smaller of its packet size and the host’s', async () => {
    const { client } = setup({ maxPacketSize: HGFS_LEGACY_LARGE_PACKET_MAX }, HGFS_LARGE_PACKET_MAX);
    await client.connect();
    expect(client.maxPacketSize).toBe(HGFS_LEGACY_LARGE_PACKET_MAX);
    expect(client.readChunk).toBe(HGFS_LEGACY_LARGE_PACKET_MAX - 52 - 13);
    expect(client.writeChunk).toBe(HGFS_LEGACY_LARGE_PACKET_MAX - 52 - 25);
  });

  it('falls back to the legacy header when the host refuses sessions', async () => {
    const { host, client } = setup({ refuseSessions: true });
    await client.writeFile(['s', 'f'], pattern(10));
    expect(client.framing).toBe('legacy');
    expect(client.maxPacketSize).toBe(HGFS_LEGACY_LARGE_PACKET_MAX);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(1);
    expect(host.seen.slice(1).every((s) => s.framing === 'legacy')).toBe(true);
    expect(await client.readFile(['s', 'f'])).toEqual(pattern(10));
  });

  it('falls back to the legacy header when the session reply is not a V4 reply', async () => {
    const { host, client } = setup();
    host.tamper = (d, r) =>
      d.request.op === HgfsOp.CREATE_SESSION_V4 ? Uint8Array.of(0, 0, 0, 0, 7, 0, 0, 0) : r;
    await client.getattr(['s']);
    expect(client.framing).toBe('legacy');
  });

  it('with sessions: false, never asks for one', async () => {
    const host = new FakeHost();
    host.addShare('s');
    const client = new HgfsClient({ send: host.send, sessions: false });
    await client.getattr(['s']);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(0);
    expect(host.seen[0]!.framing).toBe('legacy');
  });

  it('renews a stale session once, shared by every request that saw it, and resends', async () => {
    const { host, client } = setup();
    await client.connect();
    host.sessions.clear(); // the host forgot the session (e.g. it restarted)
    const attrs = await Promise.all(Array.from({ length: 5 }, () => client.getattr(['s'])));
    expect(attrs.every((a) => a.type === HgfsFileType.DIRECTORY)).toBe(true);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(2);
    expect(client.sessionId).toBe(0x1001n);
  });

  it('fails with STALE_SESSION when the new session is stale too', async () => {
    const { host, client } = setup();
    await client.connect();
    host.alwaysStale = true;
    await expect(client.getattr(['s'])).rejects.toMatchObject({
      name: 'HgfsStatusError',
      status: HgfsStatus.STALE_SESSION,
      statusName: 'STALE_SESSION',
    });
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(2);
  });

  it('forgets its session without a packet; the next request makes a new one', async () => {
    const { host, client } = setup();
    await client.connect();
    const sent = host.seen.length;
    client.forgetSession();
    expect(host.seen.length).toBe(sent);
    expect(client.framing).toBeUndefined();
    host.sessions.clear(); // what a host reset does on its side
    await client.getattr(['s']);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(2);
    expect(host.count(HgfsOp.DESTROY_SESSION_V4)).toBe(0);
    expect(client.sessionId).toBe(0x1001n);
  });

  it('learns its packet size once, before the first session; a failure fails that request only', async () => {
    const host = new FakeHost({ maxPacketSize: HGFS_LARGE_PACKET_MAX });
    host.addShare('s');
    let asked = 0;
    let fail = true;
    const client = new HgfsClient({
      send: host.send,
      maxPacketSize: async () => {
        asked++;
        if (fail) throw new Error('no answer');
        return HGFS_LEGACY_LARGE_PACKET_MAX;
      },
    });
    await expect(client.getattr(['s'])).rejects.toMatchObject({ name: 'HgfsTransportError' });
    expect(host.seen.length).toBe(0);
    fail = false;
    await Promise.all([client.getattr(['s']), client.listShares()]);
    client.forgetSession();
    await client.getattr(['s']);
    expect(asked).toBe(2);
    expect(host.seen[0]).toMatchObject({ op: HgfsOp.CREATE_SESSION_V4 });
    expect(client.maxPacketSize).toBe(HGFS_LEGACY_LARGE_PACKET_MAX);
  });

  it('destroys its session; the next request makes a new one', async () => {
    const { host, client } = setup();
    await client.connect();
    await client.destroySession();
    expect(host.sessions.size).toBe(0);
    expect(client.framing).toBeUndefined();
    await client.getattr(['s']);
    expect(host.count(HgfsOp.CREATE_SESSION_V4)).toBe(2);
  });
});

describe('HgfsClient file operations', () => {
  it('writes and reads a file bigger than many packets, chunked by the packet size', async () => {
    for (const max of [HGFS_LEGACY_LARGE_PACKET_MAX, HGFS_LARGE_PACKET_MAX]) {
      const { host, client } = setup({ maxPacketSize: max }, max);
      const data = pattern(3 * 1024 * 1024 + 17);
      await client.writeFile(['s', 'big'], data);
      const writes = host.seen.filter((s) => s.op === HgfsOp.WRITE_V3);
      expect(writes.length).toBe(Math.ceil(data.length / client.writeChunk));
      expect(Math.max(...writes.map((w) => w.size))).toBe(max);
      expect(same(await client.readFile(['s', 'big']), data)).toBe(true);
      const reads = host.seen.filter((s) => s.op === HgfsOp.READ_V3);
      expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(data.length / client.readChunk));
      expect((await client.getattr(['s', 'big'])).size).toBe(BigInt(data.length));
    }
  });

  it('keeps writes within maxRequestSize while reads use the whole packet size', async () => {
    const host = new FakeHost();
    host.addShare('s');
    const client = new HgfsClient({
      send: host.send,
      maxPacketSize: HGFS_LARGE_PACKET_MAX,
      maxRequestSize: 65534,
    });
    const data = pattern(1_000_000);
    await client.writeFile(['s', 'f'], data);
    expect(client.writeChunk).toBe(65534 - 52 - 25);
    expect(Math.max(...host.seen.map((s) => s.size))).toBe(65534);
    expect(same(await client.readFile(['s', 'f']), data)).toBe(true);
    expect(client.readChunk).toBe(HGFS_LARGE_PACKET_MAX - 52 - 13);
    // one READ, then GETATTR, then the rest plus one byte: the short read ends it
    expect(host.count(HgfsOp.READ_V3)).toBe(Math.ceil((data.length + 1) / client.readChunk));
  });

  it('writes an empty file without a WRITE (open-vm-tools refuses a zero-byte one)', async () => {
    const { host, client } = setup();
    await client.writeFile(['s', 'empty'], new Uint8Array(0));
    expect(host.count(HgfsOp.WRITE_V3)).toBe(0);
    expect((await client.getattr(['s', 'empty'])).size).toBe(0n);
    expect((await client.readFile(['s', 'empty'])).length).toBe(0);
  });

  it('reads a small file with OPEN, one READ and CLOSE', async () => {
    const { host, client } = setup();
    await client.writeFile(['s', 'small'], pattern(100));
    const before = host.seen.length;
    expect(same(await client.readFile(['s', 'small']), pattern(100))).toBe(true);
    expect(host.seen.slice(before).map((s) => s.op)).toEqual([
      HgfsOp.OPEN_V3,
      HgfsOp.READ_V3,
      HgfsOp.CLOSE_V3,
    ]);
  });

  it('reads a range, short at the end of the file', async () => {
    const { client } = setup({}, HGFS_LEGACY_LARGE_PACKET_MAX);
    const data = pattern(200_000);
    await client.writeFile(['s', 'f'], data);
    const fd = await client.open(['s', 'f'], { mode: HgfsOpenMode.READ_ONLY, flags: HgfsOpenFlags.OPEN });
    expect(same(await client.read(fd, 1000n, 150_000), data.subarray(1000, 151_000))).toBe(true);
    expect(same(await client.read(fd, 190_000n, 100_000), data.subarray(190_000))).toBe(true);
    expect((await client.read(fd, 300_000n, 10)).length).toBe(0);
    await client.close(fd);
  });

  it('appends in order', async () => {
    const { client } = setup({}, HGFS_LEGACY_LARGE_PACKET_MAX);
    await client.writeFile(['s', 'log'], pattern(5));
    const fd = await client.open(['s', 'log'], { mode: HgfsOpenMode.WRITE_ONLY, flags: HgfsOpenFlags.OPEN });
    const more = pattern(300_000).reverse();
    expect(await client.write(fd, 0n, more, { append: true })).toBe(more.length);
    await client.close(fd);
    const all = await client.readFile(['s', 'log']);
    expect(same(all.subarray(0, 5), pattern(5))).toBe(true);
    expect(same(all.subarray(5), more)).toBe(true);
  });

  it('lists a directory with attributes, one or many entries per reply, without . and ..', async () => {
    for (const perReply of [1, 50]) {
      const { host, client } = setup({ entriesPerReply: perReply });
      await client.mkdir(['s', 'd'], 0o750);
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => client.writeFile(['s', 'd', `f${i}`], pattern(i))),
      );
      const before = host.count(HgfsOp.SEARCH_READ_V3);
      const entries = await client.listDir(['s', 'd']);
      expect(entries.map((e) => e.name).sort()).toEqual(
        Array.from({ length: 120 }, (_, i) => `f${i}`).sort(),
      );
      expect(entries.find((e) => e.name === 'f7')!.attr.size).toBe(7n);
      expect(host.count(HgfsOp.SEARCH_READ_V3) - before).toBe(Math.ceil(122 / perReply));
      expect(host.count(HgfsOp.SEARCH_CLOSE_V3)).toBe(1);
      expect(modeFromAttr(await client.getattr(['s', 'd'])) & 0o777).toBe(0o750);
    }
  });

  it('lists the shares', async () => {
    const { host, client } = setup();
    host.addShare('other');
    expect((await client.listShares()).map((e) => e.name)).toEqual(['s', 'other']);
  });

  it('creates, renames and removes; symlink targets come back exactly', async () => {
    const { client } = setup();
    await client.mkdir(['s', 'a']);
    await client.writeFile(['s', 'a', 'x'], pattern(3));
    await client.rename(['s', 'a', 'x'], ['s', 'y']);
    await expect(client.getattr(['s', 'a', 'x'])).rejects.toBeInstanceOf(HgfsStatusError);
    expect(await client.readFile(['s', 'y'])).toEqual(pattern(3));
    const target = '/abs//odd name/../%!]%/';
    await client.symlink(['s', 'l'], target);
    expect(await client.readlink(['s', 'l'])).toBe(target);
    await expect(client.readlink(['s', 'y'])).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(client.removeDir(['s', 'a', 'nope'])).rejects.toMatchObject({ code: 'ENOENT' });
    await client.writeFile(['s', 'a', 'z'], pattern(1));
    await expect(client.removeDir(['s', 'a'])).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await client.removeFile(['s', 'a', 'z']);
    await client.removeDir(['s', 'a']);
    await expect(client.rename(['s', 'y'], ['s', 'l'], { noReplace: true })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await client.queryVolume(['s'])).toEqual({ freeBytes: 1000n, totalBytes: 4000n });
  });

  it('sets size and mode, by path and by handle', async () => {
    const { client } = setup();
    await client.writeFile(['s', 'f'], pattern(100));
    await client.setattr(['s', 'f'], { size: 10n, mode: 0o4711 });
    const a = await client.getattr(['s', 'f']);
    expect(a.size).toBe(10n);
    expect(modeFromAttr(a) & 0o7777).toBe(0o4711);
    const fd = await client.open(['s', 'f'], { mode: HgfsOpenMode.READ_WRITE, flags: HgfsOpenFlags.OPEN });
    await client.setattr({ handle: fd }, { size: 3n });
    expect((await client.getattr({ handle: fd })).size).toBe(3n);
    await client.close(fd);
  });

  it('names the op, path, status and errno of a failure', async () => {
    const { client } = setup();
    const e = await client.getattr(['s', 'missing']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HgfsStatusError);
    expect(e).toMatchObject({
      opName: 'GETATTR_V3',
      path: ['s', 'missing'],
      statusName: 'NO_SUCH_FILE_OR_DIR',
      code: 'ENOENT',
      errno: 2,
    });
    expect((e as Error).message).toBe('GETATTR_V3 s/missing: NO_SUCH_FILE_OR_DIR (ENOENT)');
  });
});

describe('HgfsClient concurrency and hostile replies', () => {
  it('keeps many requests in flight at once, with distinct ids', async () => {
    const { host, client } = setup();
    await client.connect();
    let open!: () => void;
    host.gate = new Promise((r) => {
      open = r;
    });
    const all = Promise.all(Array.from({ length: 32 }, () => client.getattr(['s'])));
    await new Promise((r) => setImmediate(r));
    expect(host.inFlight).toBe(32);
    open();
    await all;
    const ids = host.seen.slice(1).map((s) => s.requestId);
    expect(new Set(ids).size).toBe(32);
  });

  it('fails only the request whose reply is hostile', async () => {
    const { host, client } = setup({ entriesPerReply: 10 });
    await client.writeFile(['s', 'f'], pattern(100));
    await client.mkdir(['s', 'd']);
    type Case = [
      string,
      (d: Parameters<NonNullable<FakeHost['tamper']>>[0], r: Uint8Array) => Uint8Array,
      RegExp,
    ];
    const view = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset, r.byteLength);
    const cases: Case[] = [
      ['wrong requestId', (_d, r) => setU32(r, 16, view(r).getUint32(16, true) + 1), /requestId/],
      ['wrong op', (_d, r) => setU32(r, 20, HgfsOp.CLOSE_V3), /op at offset 20/],
      ['short packet', (_d, r) => r.subarray(0, 30), /needs 52 bytes/],
      ['packetSize over the bytes', (_d, r) => setU32(r, 8, r.length + 1), /packetSize/],
      [
        'huge READ length',
        (d, r) => (d.request.op === HgfsOp.READ_V3 ? setU32(r, 52, 0xfffffff0) : r),
        /actualSize|data/,
      ],
      [
        'READ longer than asked',
        (d, r) =>
          d.request.op === HgfsOp.READ_V3
            ? encodeReply(d.address, { op: HgfsOp.READ_V3, data: new Uint8Array(d.request.requiredSize + 1) })
            : r,
        /actualSize.*asked/,
      ],
      [
        'huge entry count',
        (d, r) => (d.request.op === HgfsOp.SEARCH_READ_V3 ? setU64(r, 52, 1n << 40n) : r),
        /count/,
      ],
      [
        'a name with /',
        (d, r) => (d.request.op === HgfsOp.SEARCH_READ_V3 ? setName(r, '/') : r),
        /contains '\/'/,
      ],
      [
        'a name with NUL',
        (d, r) => (d.request.op === HgfsOp.SEARCH_READ_V3 ? setName(r, '\0') : r),
        /contains NUL/,
      ],
    ];
    await client.writeFile(['s', 'g'], pattern(100_000));
    for (const [what, tamper, reason] of cases) {
      // The hostile reply goes to the requests on 's/f' and 's/d' (and the handles opened on
      // them); requests on other files, of the same ops, run beside them untouched.
      const victims = new Set<number>();
      host.tamper = (d, r) => {
        const req = d.request;
        if (req.op === HgfsOp.OPEN_V3 && req.fileName.path.join('/') === 's/f')
          victims.add(view(r).getUint32(52, true));
        if (req.op === HgfsOp.SEARCH_OPEN_V3 && req.dirName.path.join('/') === 's/d')
          victims.add(view(r).getUint32(52, true));
        const hit =
          (req.op === HgfsOp.GETATTR_V3 && req.fileName.path.join('/') === 's/f') ||
          (req.op === HgfsOp.READ_V3 && victims.has(req.file)) ||
          (req.op === HgfsOp.SEARCH_READ_V3 && victims.has(req.search));
        return hit ? tamper(d, r) : r;
      };
      const victim = what.includes('READ')
        ? client.readFile(['s', 'f'])
        : what.includes('entry') || what.includes('name')
          ? client.listDir(['s', 'd'])
          : client.getattr(['s', 'f']);
      const bystanders = Promise.all([
        client.getattr(['s', 'g']),
        client.listShares(),
        client.readFile(['s', 'g']),
      ]);
      const e = await victim.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, what).toBeInstanceOf(HgfsDecodeError);
      expect(String(e), what).toMatch(reason);
      const [, shares, g] = await bystanders;
      expect(shares.map((x) => x.name)).toEqual(['s']);
      expect(same(g, pattern(100_000)), what).toBe(true);
      host.tamper = undefined;
    }
    expect(await client.readFile(['s', 'f'])).toEqual(pattern(100));
  });

  it('does not send a request whose signal is already aborted', async () => {
    const { host, client } = setup();
    await client.connect();
    const before = host.seen.length;
    const ac = new AbortController();
    ac.abort();
    await expect(client.getattr(['s'], { signal: ac.signal })).rejects.toBeInstanceOf(HgfsTransportError);
    expect(host.seen.length).toBe(before);
  });

  it('an abort while the session is being made fails that request only, not the others waiting for it', async () => {
    const host = new FakeHost({});
    host.addShare('s');
    let learnt!: (n: number) => void;
    const client = new HgfsClient({
      send: host.send,
      // The packet size is learnt from the host first: the session waits for it.
      maxPacketSize: () =>
        new Promise<number>((r) => {
          learnt = r;
        }),
    });
    const ac = new AbortController();
    const first = client.getattr(['s'], { signal: ac.signal }).then(
      () => 'done',
      () => 'failed',
    );
    const second = client.getattr(['s']).then(
      (a) => a.type,
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 0));
    ac.abort();
    learnt(HGFS_LARGE_PACKET_MAX);
    expect(await second).toBe(HgfsFileType.DIRECTORY);
    expect(await first).toBe('failed');
    expect(client.framing).toBe('v4');
  });

  it('turns a failed send into an HgfsTransportError', async () => {
    const client = new HgfsClient({
      send: () => Promise.reject(new Error('channel closed')),
    });
    await expect(client.getattr(['s'])).rejects.toMatchObject({
      name: 'HgfsTransportError',
      detail: 'channel closed',
    });
  });
});

describe('RPCI helpers', () => {
  it('prefixes requests with "f " and strips "1 " from replies', () => {
    expect(rpciRequest(Uint8Array.of(9))).toEqual(Uint8Array.of(0x66, 0x20, 9));
    const reply = encodeErrorReply(
      { framing: 'legacy', requestId: 1, op: 31 },
      HgfsStatus.NO_SUCH_FILE_OR_DIR,
    );
    expect(packetFromRpciReply(Uint8Array.of(0x31, 0x20, ...reply))).toEqual(reply);
    expect(() => packetFromRpciReply(new TextEncoder().encode('0 Unknown command'))).toThrow(
      HgfsTransportError,
    );
    expect(() => packetFromRpciReply(new Uint8Array(0))).toThrow(/empty/);
  });
});

function setU32(r: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(r.buffer, r.byteOffset, r.byteLength).setUint32(at, v, true);
  return r;
}

function setU64(r: Uint8Array, at: number, v: bigint): Uint8Array {
  new DataView(r.buffer, r.byteOffset, r.byteLength).setBigUint64(at, v, true);
  return r;
}

/** Overwrites the first byte of the first entry's name in a SEARCH_READ_V3 reply (V4 header). */
function setName(r: Uint8Array, c: string): Uint8Array {
  const nameAt = HGFS_HEADER_SIZE + 16 + 124;
  if (r.length > nameAt) r[nameAt] = c.charCodeAt(0);
  return r;
}
