import { describe, expect, it } from 'vitest';
import {
  type BackdoorPort,
  BDOOR_MAGIC,
  ClipboardDisabled,
  Cmd,
  exclusive,
  getBiosUuid,
  getClipboard,
  getCpuMhz,
  getHardwareVersion,
  getHostTime,
  getHz,
  getMemorySize,
  getPointer,
  getScreenSize,
  getVcpuInfo,
  getVersion,
  MAX_CLIPBOARD_SEND,
  ProtocolError,
  setClipboard,
  setPointer,
  UnsupportedCommand,
  updateGuiOptions,
} from '../src/index.js';
import { FakeHost, slowPort } from './fake-host.js';

/** What QEMU 7.2's vmport answers (docs/testing.md §3). */
const qemu = () =>
  new FakeHost({
    [Cmd.GETVERSION]: () => ({ eax: 6, ebx: BDOOR_MAGIC, ecx: 2 }),
    [Cmd.GETMEMSIZE]: () => ({ eax: 0x20000000, ebx: 0x1177 }),
    [Cmd.GETUUID]: () => ({ eax: 0x78563412, ebx: 0xf0debc9a, ecx: 0x44332211, edx: 0x88776655 }),
    [Cmd.GETHZ]: () => ({ eax: BDOOR_MAGIC, ebx: 0xffffffff }),
    [Cmd.GET_VCPU_INFO]: () => ({ eax: 0 }),
  });

describe('GETVERSION', () => {
  it('reads version and product the way VmCheck asks', async () => {
    const host = qemu();
    expect(await getVersion(host)).toEqual({ version: 6, productType: 2, productName: 'ESX Server' });
    expect(host.calls[0]).toMatchObject({ ebx: ~BDOOR_MAGIC >>> 0, ecx: 0xffff000a });
  });

  it('reports UNSET when the host leaves ecx.hi as 0xFFFF', async () => {
    const host = new FakeHost({ [Cmd.GETVERSION]: () => ({ eax: 6, ebx: BDOOR_MAGIC }) });
    expect((await getVersion(host)).productType).toBe(0);
  });

  it('gives UnsupportedCommand for eax=0xFFFFFFFF (vmport=off) and for a missing magic', async () => {
    await expect(getVersion(new FakeHost())).rejects.toBeInstanceOf(UnsupportedCommand);
    const noMagic = new FakeHost({ [Cmd.GETVERSION]: () => ({ eax: 6, ebx: 0x1234 }) });
    await expect(getVersion(noMagic)).rejects.toThrow(/magic is missing/);
  });

  it('GETHWVERSION needs the magic back too', async () => {
    await expect(
      getHardwareVersion(new FakeHost({ [Cmd.GETHWVERSION]: () => ({ eax: 21 }) })),
    ).rejects.toThrow(UnsupportedCommand);
    expect(
      await getHardwareVersion(new FakeHost({ [Cmd.GETHWVERSION]: () => ({ eax: 21, ebx: BDOOR_MAGIC }) })),
    ).toBe(21);
  });
});

describe('memory size', () => {
  it("reads QEMU's bytes (ebx=0x1177) and says they are cut to 32 bits", async () => {
    expect(await getMemorySize(qemu())).toEqual({
      unit: 'bytes',
      raw: 0x20000000,
      megabytes: 512,
      truncated: true,
    });
  });

  it("reads VMware's megabytes", async () => {
    const host = new FakeHost({ [Cmd.GETMEMSIZE]: () => ({ eax: 4096 }) });
    expect(await getMemorySize(host)).toMatchObject({ unit: 'MB', megabytes: 4096, truncated: false });
  });
});

describe('BIOS UUID', () => {
  it('orders the four LE words as the -uuid string', async () => {
    expect(await getBiosUuid(qemu())).toBe('12345678-9abc-def0-1122-334455667788');
  });

  it('accepts a UUID that starts with ff ff ff ff', async () => {
    const host = new FakeHost({ [Cmd.GETUUID]: () => ({ eax: 0xffffffff, ebx: 0, ecx: 0, edx: 0 }) });
    expect(await getBiosUuid(host)).toBe('ffffffff-0000-0000-0000-000000000000');
  });

  it('is unsupported when the host answers ~0 and leaves ebx', async () => {
    await expect(getBiosUuid(new FakeHost())).rejects.toBeInstanceOf(UnsupportedCommand);
  });
});

describe('host time', () => {
  const now = 1_790_000_000;
  it('uses GETTIMEFULL when the host keeps the magic in eax', async () => {
    const host = new FakeHost({
      [Cmd.GETTIMEFULL]: () => ({ eax: BDOOR_MAGIC, esi: 0, edx: now, ebx: 250000, ecx: 1000000 }),
    });
    const t = await getHostTime(host);
    expect(t).toMatchObject({
      seconds: now,
      microseconds: 250000,
      maxLagMicros: 1000000,
      source: 'GETTIMEFULL',
    });
    expect(t.date.getTime()).toBe(now * 1000 + 250);
    expect(host.commands).toEqual([Cmd.GETTIMEFULL]);
  });

  it('carries seconds above 32 bits in esi', async () => {
    const host = new FakeHost({ [Cmd.GETTIMEFULL]: () => ({ eax: BDOOR_MAGIC, esi: 1, edx: 5, ebx: 0 }) });
    expect((await getHostTime(host)).seconds).toBe(2 ** 32 + 5);
  });

  it('falls back to GETTIME', async () => {
    const host = new FakeHost({ [Cmd.GETTIME]: () => ({ eax: now, ebx: 7, ecx: 500 }) });
    expect(await getHostTime(host)).toMatchObject({ seconds: now, microseconds: 7, source: 'GETTIME' });
    expect(host.commands).toEqual([Cmd.GETTIMEFULL, Cmd.GETTIME]);
  });

  it('is unsupported when neither answers (QEMU)', async () => {
    await expect(getHostTime(qemu())).rejects.toThrow(/GETTIME \(23\) is not supported/);
  });

  it('rejects an impossible answer instead of inventing a date', async () => {
    const host = new FakeHost({ [Cmd.GETTIME]: () => ({ eax: now, ebx: 2_000_000 }) });
    await expect(getHostTime(host)).rejects.toBeInstanceOf(UnsupportedCommand);
  });
});

describe('other simple commands', () => {
  it('GETMHZ: eax, and unsupported when eax is ~0, the magic or 0', async () => {
    expect(await getCpuMhz(new FakeHost({ [Cmd.GETMHZ]: () => ({ eax: 2400 }) }))).toBe(2400);
    await expect(getCpuMhz(new FakeHost())).rejects.toBeInstanceOf(UnsupportedCommand);
    await expect(
      getCpuMhz(new FakeHost({ [Cmd.GETMHZ]: () => ({ eax: BDOOR_MAGIC }) })),
    ).rejects.toBeInstanceOf(UnsupportedCommand);
    await expect(getCpuMhz(new FakeHost({ [Cmd.GETMHZ]: () => ({ eax: 0 }) }))).rejects.toBeInstanceOf(
      UnsupportedCommand,
    );
  });

  it('GETSCREENSIZE splits width and height', async () => {
    expect(
      await getScreenSize(new FakeHost({ [Cmd.GETSCREENSIZE]: () => ({ eax: (1920 << 16) | 1080 }) })),
    ).toEqual({ width: 1920, height: 1080 });
  });

  it('GETHZ: unsupported when ebx stays 0xFFFFFFFF (QEMU TCG)', async () => {
    await expect(getHz(qemu())).rejects.toThrow(/no TSC frequency/);
    const host = new FakeHost({ [Cmd.GETHZ]: () => ({ eax: 0x9502f900, ebx: 0, ecx: 66_000_000 }) });
    expect(await getHz(host)).toEqual({ tscHz: 2_500_000_000, apicHz: 66_000_000 });
  });

  it('GET_VCPU_INFO: bit 31 means not implemented', async () => {
    expect((await getVcpuInfo(qemu())).raw).toBe(0);
    await expect(
      getVcpuInfo(new FakeHost({ [Cmd.GET_VCPU_INFO]: () => ({ eax: 0x80000000 }) })),
    ).rejects.toBeInstanceOf(UnsupportedCommand);
  });

  it('pointer: int16 halves, ungrabbed at -100', async () => {
    const pos = new FakeHost({ [Cmd.GETPTRLOCATION]: () => ({ eax: (300 << 16) | 200 }) });
    expect(await getPointer(pos)).toEqual({ x: 300, y: 200, ungrabbed: false });
    const away = new FakeHost({ [Cmd.GETPTRLOCATION]: () => ({ eax: 0xff9cff9c }) });
    expect(await getPointer(away)).toEqual({ x: -100, y: -100, ungrabbed: true });
  });

  it('setPointer packs x and y and checks their range first', async () => {
    const host = new FakeHost({ [Cmd.SETPTRLOCATION]: () => ({}) });
    await setPointer(host, 10, 20);
    expect(host.calls[0]!.ebx).toBe((10 << 16) | 20);
    await expect(setPointer(host, 40000, 0)).rejects.toThrow(TypeError);
    await expect(setPointer(host, 1.5, 0)).rejects.toThrow(TypeError);
    expect(host.calls).toHaveLength(1);
  });
});

describe('GUI options', () => {
  it('updateGuiOptions: changes of different options at once all stick', async () => {
    let bits = 0x400;
    const host = new FakeHost({
      [Cmd.GETGUIOPTIONS]: () => ({ eax: bits }),
      [Cmd.SETGUIOPTIONS]: (r) => {
        bits = r.ebx;
        return {};
      },
    });
    const port = slowPort(host);
    await Promise.all(
      [0x1, 0x2, 0x4, 0x8, 0x400].map((bit) =>
        updateGuiOptions(port, (b) => (bit === 0x400 ? b & ~bit : b | bit)),
      ),
    );
    expect(bits).toBe(0xf);
  });
});

describe('legacy clipboard', () => {
  /** A host clipboard behind GETSELLENGTH/GETNEXTPIECE and SETSELLENGTH/SETNEXTPIECE. */
  function clipboardHost(initial: Uint8Array) {
    let hostText: Buffer = Buffer.from(initial);
    let pos = 0;
    let incoming: Buffer = Buffer.alloc(0);
    let expected = 0;
    const host = new FakeHost({
      [Cmd.GETSELLENGTH]: () => {
        pos = 0;
        return { eax: hostText.length };
      },
      [Cmd.GETNEXTPIECE]: () => {
        const w = Buffer.alloc(4);
        hostText.copy(w, 0, pos, pos + 4);
        pos += 4;
        return { eax: w.readUInt32LE(0) };
      },
      [Cmd.SETSELLENGTH]: (r) => {
        expected = r.ebx;
        incoming = Buffer.alloc(0);
        return { eax: 0 };
      },
      [Cmd.SETNEXTPIECE]: (r) => {
        const w = Buffer.alloc(4);
        w.writeUInt32LE(r.ebx, 0);
        incoming = Buffer.concat([incoming, w]);
        if (incoming.length >= expected) hostText = incoming.subarray(0, expected);
        return {};
      },
    });
    return { host, text: () => hostText.toString('utf8') };
  }

  it.each(['', 'a', 'abcd', 'hello, wörld ✓'])('round-trips %j through the host', async (s) => {
    const c = clipboardHost(new Uint8Array());
    await setClipboard(c.host, s);
    expect(c.text()).toBe(s);
    expect(Buffer.from(await getClipboard(c.host)).toString('utf8')).toBe(s);
    const bytes = Buffer.byteLength(s);
    expect(c.host.commands.filter((x) => x === Cmd.SETNEXTPIECE)).toHaveLength(Math.ceil(bytes / 4));
  });

  it('concurrent copies and pastes on one port, or through a wrapper of it, never split each other', async () => {
    const c = clipboardHost(Buffer.from('start'));
    const port = slowPort(c.host);
    const wrapper: BackdoorPort = { ...port, exclusive: (fn) => exclusive(port, fn) };
    const values = Array.from({ length: 8 }, (_, i) => `copy ${i} `.repeat(i + 1));
    const pasted = await Promise.all(
      values.flatMap((v, i) => [
        setClipboard(i % 2 ? wrapper : port, v).then(() => null),
        getClipboard(i % 2 ? port : wrapper).then((b) => Buffer.from(b).toString()),
      ]),
    );
    for (const p of pasted) if (p !== null) expect(['start', ...values]).toContain(p);
    // One queue, in the order asked: the last copy asked for is the one the host keeps.
    expect(c.text()).toBe(values.at(-1));
  });

  it('refuses data over the legacy limit before anything reaches the port', async () => {
    const c = clipboardHost(new Uint8Array());
    await setClipboard(c.host, new Uint8Array(MAX_CLIPBOARD_SEND));
    const before = c.host.calls.length;
    await expect(setClipboard(c.host, new Uint8Array(MAX_CLIPBOARD_SEND + 1))).rejects.toThrow(TypeError);
    expect(c.host.calls.length).toBe(before);
  });

  it('-2 means the host does not exchange clipboards; -1 is unsupported/not ready', async () => {
    await expect(
      getClipboard(new FakeHost({ [Cmd.GETSELLENGTH]: () => ({ eax: 0xfffffffe }) })),
    ).rejects.toBeInstanceOf(ClipboardDisabled);
    await expect(getClipboard(new FakeHost())).rejects.toBeInstanceOf(UnsupportedCommand);
  });

  it('rejects a host length over the limit as a protocol error', async () => {
    await expect(
      getClipboard(new FakeHost({ [Cmd.GETSELLENGTH]: () => ({ eax: 70000 }) })),
    ).rejects.toBeInstanceOf(ProtocolError);
  });
});
