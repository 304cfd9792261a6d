/**
 * GuestRPC protocol tables every layer shares, one home each: power operations and SetGuestInfo
 * types. @vmw9/rpc re-exports them as their public home; they live here, below it, so that the
 * simulated host (which @vmw9/rpc is tested against, and so cannot depend on) uses them too.
 * Sources: open-vm-tools lib/include/vmware/guestrpc/powerops.h (the GuestOsState ids and the
 * TCLO command names), lib/include/guestInfo.h (GuestInfoType); see docs/protocol/guestrpc.md
 * §5 and §10.
 */

/** A power operation the host asks for, by the name the tree and the config use. */
export type PowerStateName = 'halt' | 'reboot' | 'poweron' | 'resume' | 'suspend';

export interface PowerStateEntry {
  name: PowerStateName;
  /** GuestOsState id reported with `tools.os.statechange.status <0|1> <id>`. */
  id: number;
  /** The TCLO command the host sends. */
  command: string;
}

/** Every power operation, in id order. */
export const POWER_STATES: readonly PowerStateEntry[] = Object.freeze([
  { name: 'halt', id: 1, command: 'OS_Halt' },
  { name: 'reboot', id: 2, command: 'OS_Reboot' },
  { name: 'poweron', id: 3, command: 'OS_PowerOn' },
  { name: 'resume', id: 4, command: 'OS_Resume' },
  { name: 'suspend', id: 5, command: 'OS_Suspend' },
] as const satisfies readonly PowerStateEntry[]);

export const POWER_STATE_NAMES: readonly PowerStateName[] = POWER_STATES.map((p) => p.name);

/** The table entry for a name, id or TCLO command; undefined when there is none. */
export function powerState(key: PowerStateName | number | string): PowerStateEntry | undefined {
  return POWER_STATES.find((p) => p.name === key || p.id === key || p.command === key);
}

/** SetGuestInfo types (GuestInfoType, lib/include/guestInfo.h), name → id. */
export const GUESTINFO_TYPES = Object.freeze({
  DNS_NAME: 1,
  IPADDRESS: 2,
  DISK_FREE_SPACE: 3,
  BUILD_NUMBER: 4,
  OS_NAME_FULL: 5,
  OS_NAME: 6,
  UPTIME: 7,
  MEMORY: 8,
  IPADDRESS_V2: 9,
  IPADDRESS_V3: 10,
  OS_DETAILED: 11,
} as const);

export type GuestInfoTypeName = keyof typeof GUESTINFO_TYPES;

/** The name of a SetGuestInfo type id, or undefined for an id the table lacks. */
export function guestInfoTypeName(id: number): GuestInfoTypeName | undefined {
  return (Object.keys(GUESTINFO_TYPES) as GuestInfoTypeName[]).find((k) => GUESTINFO_TYPES[k] === id);
}
