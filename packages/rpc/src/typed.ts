/**
 * Typed RPCs, each a thin, checked wrapper over one RPCI command as open-vm-tools sends it
 * (docs/protocol/guestrpc.md §3–§5, §10).
 */
import { CAPABILITY_PREFIX, GUESTINFO_TYPES, POWER_STATES, type PowerStateName } from '@vmw9/backdoor';
import { RpcFailed, type RpcReply } from './reply.js';

/** Anything that can send an RPCI: an RpciClient, or a one-shot sender. */
export interface RpcSender {
  send(command: string | Uint8Array): Promise<RpcReply>;
}

const ok = async (s: RpcSender, command: string | Uint8Array): Promise<RpcReply> => {
  const r = await s.send(command);
  if (!r.ok) throw new RpcFailed(commandWord(command), r.text);
  return r;
};

/** The command word of a request, text or bytes: what precedes the first space. */
function commandWord(command: string | Uint8Array): string {
  if (typeof command === 'string') return command.split(' ')[0]!;
  const sp = command.indexOf(0x20);
  return Buffer.from(command.subarray(0, sp < 0 ? command.length : sp)).toString('latin1');
}

/** Keys a guest may read and write: `guestinfo.` followed by something without spaces or NULs. */
export function checkGuestinfoKey(key: string): string {
  if (typeof key !== 'string' || !/^guestinfo\.[^\s\0]+$/i.test(key)) {
    throw new TypeError(
      `a guestinfo key is "guestinfo." followed by a name without spaces or NULs, got ${JSON.stringify(key)}`,
    );
  }
  return key;
}

/** `info-get <key>`: the value as UTF-8 text, or null when the host has none. */
export async function guestinfoGet(s: RpcSender, key: string): Promise<string | null> {
  return (await guestinfoGetBytes(s, key))?.toString('utf8') ?? null;
}

/** `info-get <key>`: the value's bytes as the host keeps them, or null when it has none. */
export async function guestinfoGetBytes(s: RpcSender, key: string): Promise<Buffer | null> {
  const r = await s.send(`info-get ${checkGuestinfoKey(key)}`);
  return r.ok ? r.reply : null;
}

/**
 * `info-set <key> <value>`: text is sent as UTF-8, bytes as they are. The value may contain
 * spaces, never NUL: the host keeps guestinfo values as C strings, so a NUL would end it there.
 */
export async function guestinfoSet(s: RpcSender, key: string, value: string | Uint8Array): Promise<void> {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('a guestinfo value is a string or a Uint8Array');
  if (bytes.includes(0)) throw new TypeError('a guestinfo value cannot contain NUL');
  await ok(s, Buffer.concat([Buffer.from(`info-set ${checkGuestinfoKey(key)} `), bytes]));
}

/** `log <text>`: a line in the VM's vmware.log. */
export async function log(s: RpcSender, text: string): Promise<void> {
  await ok(s, `log ${text}`);
}

/** `tools.set.versiontype <version> <type>`, falling back to `tools.set.version` as vmtoolsd does. */
export async function setToolsVersion(s: RpcSender, version: number, type = 4): Promise<void> {
  if (!Number.isInteger(version) || version < 0)
    throw new TypeError('version must be a non-negative integer');
  const r = await s.send(`tools.set.versiontype ${version} ${type}`);
  if (!r.ok) await ok(s, `tools.set.version ${version}`);
}

/** TOOLS_VERSION_UINT(major, minor, base). */
export function toolsVersion(major: number, minor: number, base: number): number {
  return (major << 10) + (minor << 5) + base;
}

/** `tools.capability.<name> <value>`; a value of null sends the NOVAL form (trailing space, no value). */
export async function setCapability(
  s: RpcSender,
  name: string,
  value: string | number | null,
): Promise<void> {
  if (!/^[\w.]+$/.test(name)) throw new TypeError(`bad capability name ${JSON.stringify(name)}`);
  await ok(s, `${CAPABILITY_PREFIX}${name} ${value === null ? '' : value}`);
}

/** SetGuestInfo types, name → id: @vmw9/backdoor's GUESTINFO_TYPES under the name callers use. */
export const GuestInfo = GUESTINFO_TYPES;

/** `SetGuestInfo  <type> <value>` (two spaces), text form with a trailing NUL like guestInfoServer.c. */
export async function setGuestInfo(s: RpcSender, type: number, value: string | Uint8Array): Promise<void> {
  const head = Buffer.from(`SetGuestInfo  ${type} `);
  const body = typeof value === 'string' ? Buffer.from(`${value}\0`) : Buffer.from(value);
  await ok(s, Buffer.concat([head, body]));
}

/** Power-operation state ids reported with tools.os.statechange.status, by upper-case name (from POWER_STATES). */
export const PowerState = Object.freeze(
  Object.fromEntries(POWER_STATES.map((p) => [p.name.toUpperCase(), p.id])),
) as { readonly [N in PowerStateName as Uppercase<N>]: number };

/** `tools.os.statechange.status <0|1> <state>`. */
export async function stateChangeStatus(s: RpcSender, success: boolean, state: number): Promise<void> {
  await ok(s, `tools.os.statechange.status ${success ? 1 : 0} ${state}`);
}
