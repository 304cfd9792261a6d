/**
 * Typed functions for the simple backdoor commands (docs/protocol/backdoor.md §3). Each one checks its
 * arguments before anything reaches the port and refuses to invent a value: a host that does not
 * implement a command gives UnsupportedCommand.
 */
import { backdoorCall, requireMagic, requireSupported } from './call.js';
import {
  BDOOR_MAGIC,
  Cmd,
  DONT_EXCHANGE_SELECTIONS,
  MAX_SELECTION_BUFFER_LENGTH,
  PRODUCT_NAMES,
  SELECTION_NOT_READY,
  UNGRABBED_POS,
  UNSUPPORTED,
} from './constants.js';
import { BackdoorError, ProtocolError, UnsupportedCommand } from './errors.js';
import { exclusive } from './exclusive.js';
import type { BackdoorPort, Registers } from './port.js';

/** ~BDOOR_MAGIC: what guests put in ebx so that an answering host is recognised by the magic coming back. */
const NOT_MAGIC = ~BDOOR_MAGIC >>> 0;

export interface VersionInfo {
  /** Backdoor version: 6 on every VMware product (open-vm-tools requires it). */
  version: number;
  /** VMX_Type from ecx; 0 (UNSET) when the host left ecx.hi as the guest's 0xFFFF. */
  productType: number;
  /** `vmware-checkvm -p` style name of the product type. */
  productName: string;
}

/** GETVERSION (10). Throws UnsupportedCommand if no VMware backdoor answers. */
export async function getVersion(port: BackdoorPort): Promise<VersionInfo> {
  // ecx.hi = 0xFFFF is the guest pattern: a host that does not report a product leaves it (VmCheck_GetVersion).
  const out = requireMagic(
    Cmd.GETVERSION,
    await backdoorCall(port, Cmd.GETVERSION, { ebx: NOT_MAGIC, sub: 0xffff }),
  );
  const productType = out.ecx >>> 16 === 0xffff ? 0 : out.ecx;
  return { version: out.eax, productType, productName: PRODUCT_NAMES[productType] ?? `type ${productType}` };
}

/** GETHWVERSION (17): the virtual hardware version, e.g. 21. */
export async function getHardwareVersion(port: BackdoorPort): Promise<number> {
  const out = requireMagic(Cmd.GETHWVERSION, await backdoorCall(port, Cmd.GETHWVERSION, { ebx: NOT_MAGIC }));
  return out.eax;
}

/** GETMHZ (1): the CPU speed in MHz. */
export async function getCpuMhz(port: BackdoorPort): Promise<number> {
  const out = requireSupported(Cmd.GETMHZ, await backdoorCall(port, Cmd.GETMHZ, { ebx: NOT_MAGIC }));
  // OpenBSD's probe treats eax left as the magic as "not implemented"; vmware-toolbox-cmd treats 0 as failure.
  if (out.eax === BDOOR_MAGIC || out.eax === 0) {
    throw new UnsupportedCommand(
      Cmd.GETMHZ,
      'GETMHZ',
      out,
      `the host answered ${out.eax === 0 ? '0 MHz' : 'the magic'}`,
    );
  }
  return out.eax;
}

export interface MemorySize {
  /**
   * `MB` on VMware (eax = megabytes). `bytes` on QEMU's vmport, which answers the RAM size in bytes
   * cut to 32 bits and marks itself with ebx = 0x1177 (QEMU hw/i386/vmport.c, docs/testing.md §3).
   */
  unit: 'MB' | 'bytes';
  /** eax as the host answered it. */
  raw: number;
  /**
   * Size in MiB. For a `bytes` answer it is only exact below 4 GiB: the host cut the byte count to
   * 32 bits, so `truncated` says whether the true size may be larger.
   */
  megabytes: number;
  /** True for a `bytes` answer: the value is modulo 4 GiB. */
  truncated: boolean;
}

/** QEMU's vmport answers GETRAMSIZE with this in ebx. */
export const QEMU_RAMSIZE_MARK = 0x1177;

/** GETMEMSIZE (20): the guest's memory size. */
export async function getMemorySize(port: BackdoorPort): Promise<MemorySize> {
  const out = requireSupported(Cmd.GETMEMSIZE, await backdoorCall(port, Cmd.GETMEMSIZE, { ebx: NOT_MAGIC }));
  if (out.ebx === QEMU_RAMSIZE_MARK) {
    return { unit: 'bytes', raw: out.eax, megabytes: out.eax / 1048576, truncated: true };
  }
  return { unit: 'MB', raw: out.eax, megabytes: out.eax, truncated: false };
}

/**
 * GETUUID (19): the BIOS UUID. The host answers the 16 bytes as four little-endian words in
 * eax, ebx, ecx, edx (matches QEMU vmport's `-uuid`; Ken Kato's notes for VMware).
 */
export async function getBiosUuid(port: BackdoorPort): Promise<string> {
  const out = await backdoorCall(port, Cmd.GETUUID, { ebx: NOT_MAGIC });
  // A UUID may begin with ff ff ff ff, so eax alone proves nothing: unsupported means eax = ~0 and ebx untouched.
  if (out.eax === UNSUPPORTED && out.ebx === NOT_MAGIC) {
    throw new UnsupportedCommand(
      Cmd.GETUUID,
      'GETUUID',
      out,
      'the host answered eax=0xFFFFFFFF and left ebx',
    );
  }
  const b = Buffer.alloc(16);
  b.writeUInt32LE(out.eax, 0);
  b.writeUInt32LE(out.ebx, 4);
  b.writeUInt32LE(out.ecx, 8);
  b.writeUInt32LE(out.edx, 12);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface HostTime {
  /** Host UTC seconds since 1970. */
  seconds: number;
  microseconds: number;
  /** Maximum time lag the host allows, µs. */
  maxLagMicros: number;
  /** Which command answered. */
  source: 'GETTIMEFULL' | 'GETTIME';
  /** The host time as a Date (millisecond precision). */
  date: Date;
}

/** GETTIMEFULL (46), falling back to the deprecated GETTIME (23) when the host does not have it. */
export async function getHostTime(port: BackdoorPort): Promise<HostTime> {
  const full = await backdoorCall(port, Cmd.GETTIMEFULL, { ebx: NOT_MAGIC });
  // Success leaves eax as the magic (timeSync.c, OpenBSD vmt.c); anything else means unsupported.
  if (full.eax === BDOOR_MAGIC) {
    const seconds = full.esi * 2 ** 32 + full.edx;
    return hostTime(seconds, full.ebx, full.ecx, 'GETTIMEFULL', full);
  }
  const old = requireSupported(Cmd.GETTIME, await backdoorCall(port, Cmd.GETTIME, { ebx: NOT_MAGIC }));
  return hostTime(old.eax, old.ebx, old.ecx, 'GETTIME', old);
}

function hostTime(
  seconds: number,
  micros: number,
  lag: number,
  source: HostTime['source'],
  out: Registers,
): HostTime {
  const cmd = source === 'GETTIME' ? Cmd.GETTIME : Cmd.GETTIMEFULL;
  if (seconds <= 0 || micros > 999999) {
    throw new UnsupportedCommand(
      cmd,
      source,
      out,
      `the host answered an impossible time (${seconds} s, ${micros} µs)`,
    );
  }
  return {
    seconds,
    microseconds: micros,
    maxLagMicros: lag,
    source,
    date: new Date(seconds * 1000 + Math.floor(micros / 1000)),
  };
}

/** GETSCREENSIZE (15): the host screen size. */
export async function getScreenSize(port: BackdoorPort): Promise<{ width: number; height: number }> {
  const out = requireSupported(Cmd.GETSCREENSIZE, await backdoorCall(port, Cmd.GETSCREENSIZE));
  return { width: out.eax >>> 16, height: out.eax & 0xffff };
}

export interface PointerPosition {
  x: number;
  y: number;
  /** The host answered (-100, -100): the pointer is not grabbed by this guest. */
  ungrabbed: boolean;
}

const int16 = (v: number): number => (v << 16) >> 16;

/** GETPTRLOCATION (4). */
export async function getPointer(port: BackdoorPort): Promise<PointerPosition> {
  const out = requireSupported(Cmd.GETPTRLOCATION, await backdoorCall(port, Cmd.GETPTRLOCATION));
  const x = int16(out.eax >>> 16);
  const y = int16(out.eax & 0xffff);
  return { x, y, ungrabbed: x === UNGRABBED_POS && y === UNGRABBED_POS };
}

/** SETPTRLOCATION (5). x and y are int16 (the host packs them into one register). */
export async function setPointer(port: BackdoorPort, x: number, y: number): Promise<void> {
  checkInt16(x, 'x');
  checkInt16(y, 'y');
  const out = await backdoorCall(port, Cmd.SETPTRLOCATION, {
    ebx: (((x & 0xffff) << 16) | (y & 0xffff)) >>> 0,
  });
  requireSupported(Cmd.SETPTRLOCATION, out);
}

function checkInt16(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -32768 || v > 32767) {
    throw new TypeError(`${what} must be an integer in -32768..32767, got ${String(v)}`);
  }
}

/** ISMOUSEABSOLUTE (36): whether the host offers an absolute pointer. */
export async function isMouseAbsolute(port: BackdoorPort): Promise<boolean> {
  const out = requireSupported(Cmd.ISMOUSEABSOLUTE, await backdoorCall(port, Cmd.ISMOUSEABSOLUTE));
  return out.eax === 1;
}

/** GETGUIOPTIONS (13): the VMWARE_GUI_* bitmask. */
export async function getGuiOptions(port: BackdoorPort): Promise<number> {
  return requireSupported(Cmd.GETGUIOPTIONS, await backdoorCall(port, Cmd.GETGUIOPTIONS)).eax;
}

/**
 * GETGUIOPTIONS (13) then SETGUIOPTIONS (14) with `change(bits)`, in the port's turn so that two
 * callers changing different options do not undo each other. Returns the bits set.
 */
export function updateGuiOptions(port: BackdoorPort, change: (bits: number) => number): Promise<number> {
  return exclusive(port, async () => {
    const next = change(await getGuiOptions(port)) >>> 0;
    requireSupported(Cmd.SETGUIOPTIONS, await backdoorCall(port, Cmd.SETGUIOPTIONS, { ebx: next }));
    return next;
  });
}

/** GETHZ (45): TSC and APIC bus frequencies in Hz. */
export async function getHz(port: BackdoorPort): Promise<{ tscHz: number; apicHz: number }> {
  const out = await backdoorCall(port, Cmd.GETHZ, { ebx: UNSUPPORTED });
  // Linux arch/x86/kernel/cpu/vmware.c: failure is ebx still 0xFFFFFFFF (QEMU under TCG answers so).
  if (out.eax === UNSUPPORTED || out.ebx === UNSUPPORTED) {
    throw new UnsupportedCommand(Cmd.GETHZ, 'GETHZ', out, 'the host left ebx=0xFFFFFFFF (no TSC frequency)');
  }
  return { tscHz: out.ebx * 2 ** 32 + out.eax, apicHz: out.ecx };
}

export interface VcpuInfo {
  raw: number;
  syncVtscs: boolean;
  legacyX2apicOk: boolean;
  mmioHonorsPat: boolean;
}

/** GET_VCPU_INFO (68): bit 31 (RESERVED) set means the command is not implemented. */
export async function getVcpuInfo(port: BackdoorPort): Promise<VcpuInfo> {
  const out = requireSupported(Cmd.GET_VCPU_INFO, await backdoorCall(port, Cmd.GET_VCPU_INFO));
  if (out.eax & 0x80000000) {
    throw new UnsupportedCommand(Cmd.GET_VCPU_INFO, 'GET_VCPU_INFO', out, 'the host set the RESERVED bit');
  }
  return {
    raw: out.eax,
    syncVtscs: (out.eax & 0x2) !== 0,
    legacyX2apicOk: (out.eax & 0x8) !== 0,
    mmioHonorsPat: (out.eax & 0x10) !== 0,
  };
}

/** The host does not exchange clipboards with this guest (GETSELLENGTH answered -2). */
export class ClipboardDisabled extends BackdoorError {
  override name = 'ClipboardDisabled';
}

/**
 * Legacy host→guest clipboard: GETSELLENGTH (6), then GETNEXTPIECE (7) once per 4 bytes
 * (copyPasteCompat.c). Returns the raw bytes (the host's text encoding; normally UTF-8). The host
 * keeps one read position per VM, so the whole sequence takes the port's turn (exclusive.ts).
 */
export function getClipboard(port: BackdoorPort): Promise<Uint8Array> {
  return exclusive(port, () => readClipboard(port));
}

async function readClipboard(port: BackdoorPort): Promise<Uint8Array> {
  const out = await backdoorCall(port, Cmd.GETSELLENGTH);
  const len = out.eax | 0;
  if (len === SELECTION_NOT_READY) {
    // The same encoding as an unsupported command: either way no clipboard can be had.
    throw new UnsupportedCommand(
      Cmd.GETSELLENGTH,
      'GETSELLENGTH',
      out,
      'the host answered 0xFFFFFFFF (unsupported, or VMWARE_SELECTION_NOT_READY)',
    );
  }
  if (len === DONT_EXCHANGE_SELECTIONS)
    throw new ClipboardDisabled('the host does not exchange clipboards (copy/paste disabled)');
  if (len < 0 || len > MAX_SELECTION_BUFFER_LENGTH) {
    throw new ProtocolError(`GETSELLENGTH answered ${len}: outside 0..${MAX_SELECTION_BUFFER_LENGTH}`);
  }
  const words = Buffer.alloc(Math.ceil(len / 4) * 4);
  for (let i = 0; i < words.length; i += 4) {
    words.writeUInt32LE((await backdoorCall(port, Cmd.GETNEXTPIECE)).eax, i);
  }
  return new Uint8Array(words.subarray(0, len));
}

/** Largest clipboard the guest may send: open-vm-tools keeps `(len + 4) & ~3 <= 65436`. */
export const MAX_CLIPBOARD_SEND = MAX_SELECTION_BUFFER_LENGTH - 1;

/**
 * Legacy guest→host clipboard: SETSELLENGTH (8), then SETNEXTPIECE (9) once per 4 bytes, LE,
 * zero-padded. The host assembles one incoming clipboard per VM: the sequence takes the port's turn.
 */
export async function setClipboard(port: BackdoorPort, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('clipboard data must be a string or a Uint8Array');
  if (bytes.byteLength > MAX_CLIPBOARD_SEND) {
    throw new TypeError(
      `clipboard data is ${bytes.byteLength} bytes, over the ${MAX_CLIPBOARD_SEND}-byte legacy limit`,
    );
  }
  const padded = Buffer.alloc(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  await exclusive(port, async () => {
    requireSupported(Cmd.SETSELLENGTH, await backdoorCall(port, Cmd.SETSELLENGTH, { ebx: bytes.byteLength }));
    for (let i = 0; i < padded.length; i += 4) {
      await backdoorCall(port, Cmd.SETNEXTPIECE, { ebx: padded.readUInt32LE(i) });
    }
  });
}
