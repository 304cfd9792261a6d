/** The simple commands, read through @vmw9/backdoor's typed functions as a guest would. */
import {
  BDOOR_MAGIC,
  Cmd,
  getBiosUuid,
  getClipboard,
  getCpuMhz,
  getHardwareVersion,
  getHostTime,
  getMemorySize,
  getPointer,
  getScreenSize,
  getVersion,
  setClipboard,
  setPointer,
  UnsupportedCommand,
  VmMouse,
  VmMouseDevice,
} from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import { SimBackdoorPort, VmxHost } from '../src/index.js';

const setup = (opts?: ConstructorParameters<typeof VmxHost>[0]) => {
  const host = new VmxHost(opts);
  return { host, port: new SimBackdoorPort(host) };
};

describe('simple commands', () => {
  it('answers the facts it was given', async () => {
    const { port } = setup({
      facts: {
        productType: 4,
        version: 6,
        memoryMB: 8192,
        cpuMhz: 3000,
        hwVersion: 19,
        biosUuid: '01234567-89ab-cdef-0123-456789abcdef',
        screenWidth: 2560,
        screenHeight: 1440,
      },
    });
    expect(await getVersion(port)).toEqual({ version: 6, productType: 4, productName: 'Workstation' });
    expect(await getMemorySize(port)).toMatchObject({ unit: 'MB', megabytes: 8192 });
    expect(await getCpuMhz(port)).toBe(3000);
    expect(await getHardwareVersion(port)).toBe(19);
    expect(await getBiosUuid(port)).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(await getScreenSize(port)).toEqual({ width: 2560, height: 1440 });
  });

  it('host time follows the offset and uses GETTIMEFULL', async () => {
    const { host, port } = setup();
    host.facts.timeOffsetMs = 3_600_000;
    const t = await getHostTime(port);
    expect(t.source).toBe('GETTIMEFULL');
    expect(Math.abs(t.date.getTime() - (Date.now() + 3_600_000))).toBeLessThan(2000);
  });

  it('plays an older host: no GETTIMEFULL, so the guest falls back to GETTIME', async () => {
    const { port } = setup({ unsupported: [Cmd.GETTIMEFULL] });
    expect((await getHostTime(port)).source).toBe('GETTIME');
  });

  it('unknown commands and a wrong magic or port read as all ones', async () => {
    const { host, port } = setup();
    const base = { eax: BDOOR_MAGIC, ebx: 7, ecx: 98, edx: 0x5658, esi: 1, edi: 2, ebp: 3 };
    expect(await port.call(base)).toEqual({ ...base, eax: 0xffffffff });
    expect((await port.call({ ...base, ecx: 10, eax: 0x12345678 })).eax).toBe(0xffffffff);
    expect((await port.call({ ...base, ecx: 10, edx: 0x5659 })).eax).toBe(0xffffffff);
    expect(host.log.counts()).toMatchObject({ CMD_98: 1, 'NO-MAGIC': 1, 'WRONG-PORT': 1 });
    await expect(getMemorySize(setup({ unsupported: [Cmd.GETMEMSIZE] }).port)).rejects.toBeInstanceOf(
      UnsupportedCommand,
    );
  });

  it('pointer: set, get, ungrabbed', async () => {
    const { host, port } = setup();
    await setPointer(port, 640, 480);
    expect(await getPointer(port)).toEqual({ x: 640, y: 480, ungrabbed: false });
    host.pointer.grabbed = false;
    expect((await getPointer(port)).ungrabbed).toBe(true);
  });

  it('legacy clipboard both ways', async () => {
    const { host, port } = setup();
    host.setHostClipboard('from the host ✓');
    expect(Buffer.from(await getClipboard(port)).toString()).toBe('from the host ✓');
    await setClipboard(port, 'from the guest');
    expect(host.guestClipboard?.data.toString()).toBe('from the guest');
    host.legacy.exchange = false;
    await expect(getClipboard(port)).rejects.toThrow(/does not exchange/);
  });

  it('vmmouse: enable, absolute packets, error state', async () => {
    const { host, port } = setup();
    const mouse = new VmMouseDevice(port);
    expect(host.mouse.event({ x: 1, y: 1 })).toBe(false); // disabled: nothing queued
    await mouse.enable();
    await mouse.requestAbsolute();
    host.mouse.event({ x: 100, y: 200, left: true, wheel: -1 });
    expect(await mouse.readPackets()).toEqual([
      {
        flags: VmMouse.LEFT,
        left: true,
        right: false,
        middle: false,
        relative: false,
        x: 100,
        y: 200,
        wheel: -1,
      },
    ]);
    // Asking for more words than queued puts the device in its error state (QEMU does so).
    await mouse.data(3);
    expect((await mouse.status()).error).toBe(true);
  });
});
