/** Settable host facts: what the simple backdoor commands answer. */
export interface HostFacts {
  /** GETVERSION eax: open-vm-tools insists on 6. */
  version: number;
  /** GETVERSION ecx (VMX_Type): 2 = ESX, 4 = Workstation, … */
  productType: number;
  /** GETHWVERSION: virtual hardware version. */
  hwVersion: number;
  /** GETMEMSIZE: MB (VMware's unit; QEMU answers bytes). */
  memoryMB: number;
  /** GETMHZ. */
  cpuMhz: number;
  /** GETHZ: TSC and APIC bus frequency, Hz. */
  tscHz: number;
  apicHz: number;
  /** GETUUID: the BIOS UUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  biosUuid: string;
  /** GETSCREENSIZE. */
  screenWidth: number;
  screenHeight: number;
  /** Host clock = this process's clock + offset (ms): tests move the host ahead or behind. */
  timeOffsetMs: number;
  /** GETTIMEFULL ecx: maximum time lag, µs (UNCONFIRMED VMware default; docs/protocol/guestrpc.md §11). */
  maxTimeLagMicros: number;
  /** GETGUIOPTIONS bitmask. */
  guiOptions: number;
  /** GET_VCPU_INFO bitmask. */
  vcpuInfo: number;
  /** GETBUILDNUM. */
  buildNumber: number;
}

export const DEFAULT_FACTS: Readonly<HostFacts> = {
  version: 6,
  productType: 2,
  hwVersion: 21,
  memoryMB: 4096,
  cpuMhz: 2400,
  tscHz: 2_400_000_000,
  apicHz: 66_000_000,
  biosUuid: '564d9a3c-1b2f-4e5d-8a6b-7c8d9e0f1a2b',
  screenWidth: 1920,
  screenHeight: 1080,
  timeOffsetMs: 0,
  maxTimeLagMicros: 1_000_000,
  guiOptions: 0x10 | 0x400,
  vcpuInfo: 0x2,
  buildNumber: 24_276_846,
};

/** Parses a fact value given as text (the console, `vmw9 sim --set`), checking its type. */
export function parseFact(name: string, text: string): [keyof HostFacts, HostFacts[keyof HostFacts]] {
  if (!(name in DEFAULT_FACTS)) {
    throw new Error(`unknown fact "${name}"; known: ${Object.keys(DEFAULT_FACTS).join(', ')}`);
  }
  const key = name as keyof HostFacts;
  if (key === 'biosUuid') {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) {
      throw new Error(`biosUuid must look like 01234567-89ab-cdef-0123-456789abcdef, got "${text}"`);
    }
    return [key, text.toLowerCase()];
  }
  const n = Number(text);
  if (!Number.isFinite(n) || !Number.isInteger(n))
    throw new Error(`${name} must be an integer, got "${text}"`);
  if (key !== 'timeOffsetMs' && (n < 0 || n > (key === 'tscHz' ? Number.MAX_SAFE_INTEGER : 0xffffffff))) {
    throw new Error(`${name} is out of range: ${text}`);
  }
  return [key, n];
}
