import { describe, expect, it } from 'vitest';
import {
  Cmd,
  decodePacket,
  ProtocolError,
  UnsupportedCommand,
  VmMouse,
  VmMouseDevice,
} from '../src/index.js';
import { FakeHost, slowPort } from './fake-host.js';

/** A vmmouse with a word queue, answering as QEMU hw/i386/vmmouse.c does. */
function mouseHost() {
  const queue: number[] = [];
  let status = 0xffff;
  const cmds: number[] = [];
  const host = new FakeHost({
    [Cmd.ABSPOINTER_COMMAND]: (r) => {
      cmds.push(r.ebx);
      if (r.ebx === VmMouse.CMD_READ_ID) {
        status = 0;
        queue.push(VmMouse.VERSION_ID);
      } else if (r.ebx === VmMouse.CMD_DISABLE) status = 0xffff;
      return {};
    },
    [Cmd.ABSPOINTER_STATUS]: () => ({ eax: ((status << 16) | queue.length) >>> 0 }),
    [Cmd.ABSPOINTER_DATA]: (r) => {
      const w = queue.splice(0, r.ebx);
      return { eax: w[0] ?? 0, ebx: w[1] ?? 0, ecx: w[2] ?? 0, edx: w[3] ?? 0 };
    },
  });
  return { host, queue, cmds };
}

describe('vmmouse', () => {
  it('enables with READ_ID and checks the version id', async () => {
    const m = mouseHost();
    const dev = new VmMouseDevice(m.host);
    expect(await dev.enable()).toBe(0x3442554a);
    await dev.requestAbsolute();
    expect(m.cmds).toEqual([VmMouse.CMD_READ_ID, VmMouse.CMD_REQUEST_ABSOLUTE]);
  });

  it('decodes absolute packets: buttons, position, wheel', async () => {
    const m = mouseHost();
    const dev = new VmMouseDevice(m.host);
    await dev.enable();
    m.queue.push(VmMouse.LEFT | VmMouse.MIDDLE, 32768, 16384, 0xff);
    m.queue.push(VmMouse.RIGHT, 2000, 4000, 1);
    const packets = await dev.readPackets();
    expect(packets).toHaveLength(2);
    expect(packets[0]).toMatchObject({
      left: true,
      middle: true,
      right: false,
      relative: false,
      x: 32768,
      y: 16384,
      wheel: -1,
    });
    expect(packets[1]).toMatchObject({ left: false, right: true, x: 2000, y: 4000, wheel: 1 });
    expect(await dev.readPacket()).toBeNull();
  });

  it('readers at once each take whole packets: a status and its data are never split', async () => {
    const m = mouseHost();
    const port = slowPort(m.host);
    await new VmMouseDevice(port).enable();
    for (let i = 1; i <= 6; i++) m.queue.push(VmMouse.LEFT, i * 100, i * 10, 0);
    const readers = Array.from({ length: 4 }, () => new VmMouseDevice(port));
    const got = (await Promise.all(readers.map((d) => d.readPackets()))).flat();
    expect(got.map((p) => [p.x, p.y]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      Array.from({ length: 6 }, (_, i) => [(i + 1) * 100, (i + 1) * 10]),
    );
  });

  it('decodes relative packets as signed deltas', () => {
    const p = decodePacket({ eax: VmMouse.RELATIVE_PACKET, ebx: 0xfffffff6, ecx: 5, edx: 0 });
    expect(p).toMatchObject({ relative: true, x: -10, y: 5 });
  });

  it('reports a disabled device and a broken queue as protocol errors', async () => {
    const m = mouseHost();
    const dev = new VmMouseDevice(m.host);
    await expect(dev.readPacket()).rejects.toBeInstanceOf(ProtocolError);
    await dev.enable();
    m.queue.push(1, 2, 3);
    await expect(dev.readPacket()).rejects.toThrow(/not a whole number/);
  });

  it('fails enable when the id is wrong, leaving the device disabled', async () => {
    const m = mouseHost();
    m.host.handlers[Cmd.ABSPOINTER_DATA] = () => ({ eax: 0x1234 });
    await expect(new VmMouseDevice(m.host).enable()).rejects.toThrow(/answered id 0x1234/);
    expect(m.cmds.at(-1)).toBe(VmMouse.CMD_DISABLE);
  });

  it('is unsupported on a host without the device', async () => {
    await expect(new VmMouseDevice(new FakeHost()).status()).rejects.toBeInstanceOf(UnsupportedCommand);
  });

  it('checks the word count before anything reaches the port', async () => {
    const m = mouseHost();
    await expect(new VmMouseDevice(m.host).data(5)).rejects.toThrow(TypeError);
    expect(m.host.calls).toHaveLength(0);
  });
});
