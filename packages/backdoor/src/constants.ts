/**
 * Backdoor constants. Values from open-vm-tools `lib/include/backdoor_def.h`,
 * `lib/include/vm_vmx_type.h`, `lib/include/vmware/guestrpc/tclodefs.h` and Linux
 * `drivers/input/mouse/vmmouse.c` (see docs/protocol/backdoor.md §2–§7).
 */

/** "VMXh" as a little-endian dword: always in eax on entry. */
export const BDOOR_MAGIC = 0x564d5868;
/** Low-bandwidth port ("VX"): `in eax, dx`. */
export const BDOOR_PORT = 0x5658;
/** High-bandwidth port ("VY"): `rep insb` / `rep outsb`. */
export const BDOORHB_PORT = 0x5659;
/** HB command in bx.lo: a GuestMsg payload transfer. */
export const BDOORHB_CMD_MESSAGE = 0;
export const BDOORHB_CMD_VASSERT = 1;

/** Hypercall flags in dx.lo when VMCALL/VMMCALL carry the backdoor (never used: docs/testing.md §5). */
export const BDOOR_FLAGS_LB = 0;
export const BDOOR_FLAGS_HB = 1;
export const BDOOR_FLAGS_WRITE = 2;

/** What a host (and QEMU's vmport) answers in eax for a command it does not implement. */
export const UNSUPPORTED = 0xffffffff;

/** GETVERSION must answer this version for open-vm-tools to accept the host (`VERSION_MAGIC`). */
export const VERSION_MAGIC = 6;

/** Every backdoor command number (`BDOOR_CMD_*`), from backdoor_def.h. */
export const Cmd = {
  GETMHZ: 1,
  APMFUNCTION: 2,
  GETDISKGEO: 3,
  GETPTRLOCATION: 4,
  SETPTRLOCATION: 5,
  GETSELLENGTH: 6,
  GETNEXTPIECE: 7,
  SETSELLENGTH: 8,
  SETNEXTPIECE: 9,
  GETVERSION: 10,
  GETDEVICELISTELEMENT: 11,
  TOGGLEDEVICE: 12,
  GETGUIOPTIONS: 13,
  SETGUIOPTIONS: 14,
  GETSCREENSIZE: 15,
  MONITOR_CONTROL: 16,
  GETHWVERSION: 17,
  OSNOTFOUND: 18,
  GETUUID: 19,
  GETMEMSIZE: 20,
  HOSTCOPY: 21,
  PMC: 22,
  GETTIME: 23,
  STOPCATCHUP: 24,
  PUTCHR: 25,
  INITPCIOPROM: 28,
  MESSAGE: 30,
  SIDT: 31,
  SGDT: 32,
  SLDT_STR: 33,
  ISACPIDISABLED: 34,
  TOE: 35,
  ISMOUSEABSOLUTE: 36,
  PATCH_SMBIOS_STRUCTS: 37,
  MAPMEM: 38,
  ABSPOINTER_DATA: 39,
  ABSPOINTER_STATUS: 40,
  ABSPOINTER_COMMAND: 41,
  GETHZ: 45,
  GETTIMEFULL: 46,
  CHECKFORCEBIOSSETUP: 48,
  LAZYTIMEREMULATION: 49,
  BIOSBBS: 50,
  ISGOSDARWIN: 52,
  DEBUGEVENT: 53,
  OSNOTMACOSXSERVER: 54,
  GETTIMEFULL_WITH_LAG: 55,
  ACPI_HOTPLUG_DEVICE: 56,
  ACPI_HOTPLUG_MEMORY: 57,
  ACPI_HOTPLUG_CBRET: 58,
  ACPI_HOTPLUG_CPU: 60,
  NESTING_CONTROL: 63,
  FIRMWARE_INIT: 64,
  FIRMWARE_ACPI_SERVICES: 65,
  SENDPSHAREHINTS: 66,
  ENABLE_USB_MOUSE: 67,
  GET_VCPU_INFO: 68,
  EFI_SERIALCON_CONFIG: 69,
  FIRMWARE_ERROR: 71,
  VMK_INFO: 72,
  EFI_BOOT_CONFIG: 73,
  GET_HW_MODEL: 74,
  GET_SVGA_CAPABILITIES: 75,
  GET_FORCE_X2APIC: 76,
  SET_PCI_HOLE: 77,
  GET_PCI_HOLE: 78,
  GET_PCI_BAR: 79,
  SHOULD_GENERATE_SYSTEMID: 80,
  READ_DEBUG_FILE: 81,
  SCREENSHOT: 82,
  INJECT_KEY: 83,
  INJECT_MOUSE: 84,
  MKS_GUEST_STATS: 85,
  ABSPOINTER_RESTRICT: 86,
  MKSTEST: 88,
  SECUREBOOT: 89,
  COPY_PHYSMEM: 90,
  STEALCLOCK: 91,
  GUEST_PAGE_HINTS: 92,
  FIRMWARE_UPDATE: 93,
  FUZZER_HELPER: 94,
  PUTCHR12: 95,
  PRECISIONCLOCK: 97,
  APPLE_GPU_RES_SET: 99,
  GETBUILDNUM: 100,
  GETENTROPY: 101,
  REPORTGUESTCRASH: 102,
  PK_UPDATE: 103,
  GET_FWTRCLOG_MASK: 104,
  /** First invalid command number. */
  MAX: 105,
} as const;
export type CmdName = keyof typeof Cmd;

/** GuestMsg (command 30) subcommands, carried in ecx.hi. */
export const MessageType = {
  OPEN: 0,
  SENDSIZE: 1,
  SENDPAYLOAD: 2,
  RECVSIZE: 3,
  RECVPAYLOAD: 4,
  RECVSTATUS: 5,
  CLOSE: 6,
} as const;

/**
 * The steps of a GuestMsg exchange, as errors, logs and fault injection name them: the seven
 * message types plus the two high-bandwidth transfers that stand in for the payload calls.
 */
export const MESSAGE_STEPS = [
  'OPEN',
  'SENDSIZE',
  'SENDPAYLOAD',
  'HBOUT',
  'RECVSIZE',
  'RECVPAYLOAD',
  'HBIN',
  'RECVSTATUS',
  'CLOSE',
] as const;
export type MessageStep = (typeof MESSAGE_STEPS)[number];

/** GuestMsg protocol numbers, OPEN's ebx: the ASCII names "RPCI" and "TCLO" as little-endian dwords. */
export const PROTOCOL_RPCI = 0x49435052;
export const PROTOCOL_TCLO = 0x4f4c4354;
/** Or'ed into OPEN's ebx to ask for a cookie channel (`GUESTMSG_FLAG_COOKIE`). */
export const COOKIE_FLAG = 0x80000000;
/** The largest guest→host message a host accepts (`GUESTMSG_MAX_IN_SIZE`). */
export const MAX_GUEST_MESSAGE = 65536;

/** GuestMsg status bits, in ecx.hi (LB) or ebx.hi (HB). */
export const MessageStatus = {
  SUCCESS: 0x0001,
  DORECV: 0x0002,
  CLOSED: 0x0004,
  UNSENT: 0x0008,
  CPT: 0x0010,
  POWEROFF: 0x0020,
  TIMEOUT: 0x0040,
  HB: 0x0080,
} as const;

/** Product types answered in ecx by GETVERSION (`VMX_Type`). */
export const ProductType = {
  UNSET: 0,
  EXPRESS: 1,
  SCALABLE_SERVER: 2,
  WGS: 3,
  WORKSTATION: 4,
  WORKSTATION_ENTERPRISE: 5,
} as const;

/** The names open-vm-tools' `vmware-checkvm -p` prints for each product type. */
export const PRODUCT_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'Express',
  2: 'ESX Server',
  3: 'Server',
  4: 'Workstation',
  5: 'Workstation Enterprise',
};

/** vmmouse (ABSPOINTER_*) constants, from Linux drivers/input/mouse/vmmouse.c and QEMU hw/i386/vmmouse.c. */
export const VmMouse = {
  /** ABSPOINTER_COMMAND sub-commands, in ebx. */
  CMD_READ_ID: 0x45414552,
  CMD_DISABLE: 0x000000f5,
  CMD_REQUEST_RELATIVE: 0x4c455252,
  CMD_REQUEST_ABSOLUTE: 0x53424152,
  /** The version id the device queues after READ_ID. */
  VERSION_ID: 0x3442554a,
  /** STATUS with this in the high half means the device is disabled or in error. */
  ERROR: 0xffff0000,
  /** Button bits in the first word of a packet. */
  LEFT: 0x20,
  RIGHT: 0x10,
  MIDDLE: 0x08,
  RELATIVE_PACKET: 0x00010000,
  /** Words per packet. */
  PACKET_WORDS: 4,
  /** ABSPOINTER_RESTRICT arguments. */
  RESTRICT_ANY: 0,
  RESTRICT_CPL0: 1,
  RESTRICT_IOPL: 2,
} as const;

/** Clipboard limit (`MAX_SELECTION_BUFFER_LENGTH` in tclodefs.h): 1<<16 minus 100 bytes. */
export const MAX_SELECTION_BUFFER_LENGTH = 65436;
/** Clipboard answers of GETSELLENGTH (as int32). */
export const SELECTION_NOT_READY = -1;
export const DONT_EXCHANGE_SELECTIONS = -2;

/** Pointer position the host answers when the pointer is not grabbed (`UNGRABBED_POS`, pointer.cpp). */
export const UNGRABBED_POS = -100;
