/**
 * Who the agent says it is to the host: the tools version it speaks for, its guestinfo.vmtools.*
 * announcement, and the core's part of Capabilities_Register (docs/protocol/guestrpc.md).
 */
import { guestinfoSet, type RpcSender, setCapability, setToolsVersion, toolsVersion } from '@vmw9/rpc';

export const AGENT_NAME = 'vmw9-agent';
export const AGENT_VERSION = '0.1.0';
/**
 * The open-vm-tools version we speak for: the host decides what to send by it. 12.5.0 is the
 * release whose protocol the spec describes; the type is 4 (OVT: guest-managed, never upgraded).
 */
export const TOOLS_VERSION = { major: 12, minor: 5, base: 0, type: 4 } as const;
export const GUEST_CONF_DIRECTORY = '/etc/vmw9';

/** `12.5.0`. */
export const TOOLS_VERSION_TEXT = `${TOOLS_VERSION.major}.${TOOLS_VERSION.minor}.${TOOLS_VERSION.base}`;
const TOOLS_VERSION_NUMBER = toolsVersion(TOOLS_VERSION.major, TOOLS_VERSION.minor, TOOLS_VERSION.base);

/** guestinfo.vmtools.*: sent once at start. */
export async function announceTools(rpc: RpcSender): Promise<void> {
  await guestinfoSet(
    rpc,
    'guestinfo.vmtools.description',
    `${AGENT_NAME} ${AGENT_VERSION} (open-vm-tools ${TOOLS_VERSION_TEXT} protocol)`,
  );
  await guestinfoSet(rpc, 'guestinfo.vmtools.versionString', TOOLS_VERSION_TEXT);
  await guestinfoSet(rpc, 'guestinfo.vmtools.versionNumber', String(TOOLS_VERSION_NUMBER));
  await guestinfoSet(rpc, 'guestinfo.vmtools.buildNumber', '0');
}

/** The system channel's Capabilities_Register, after the services' capabilities: where our configuration lives, and our version. */
export async function registerIdentity(rpc: RpcSender): Promise<void> {
  await setCapability(rpc, 'guest_conf_directory', GUEST_CONF_DIRECTORY);
  await setToolsVersion(rpc, TOOLS_VERSION_NUMBER, TOOLS_VERSION.type);
}
