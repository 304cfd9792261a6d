/**
 * The fixed texts of GuestRPC that the guest (@vmw9/rpc, the agent) and the simulated host
 * (@vmw9/vmx-sim) must agree on byte for byte: reply prefixes, the unknown-command answers, the
 * handshake a host sends a new TCLO channel, and the capability prefix. They live here, below both
 * sides, so neither keeps its own copy. Sources: open-vm-tools lib/include/vmware/guestrpc/tclodefs.h
 * and lib/rpcIn/rpcin.c; see docs/protocol/guestrpc.md.
 */

/** An RPCI reply begins with one of these: `1 ` when the host did it, `0 ` when it refused. */
export const RPCI_SUCCESS = '1 ';
export const RPCI_FAILURE = '0 ';
/** The `0 ` reply text of a host for a command it lacks (`RPCI_UNKNOWN_COMMAND`); VMGuestLib compares it exactly. */
export const RPCI_UNKNOWN_COMMAND = 'Unknown command';

/** A TCLO reply begins with one of these: `OK ` when the guest did it, `ERROR ` when not. */
export const TCLO_SUCCESS = 'OK ';
export const TCLO_FAILURE = 'ERROR ';
/** The `ERROR ` reply text of a guest for a command it has no handler for (`GUEST_RPC_UNKNOWN_COMMAND`). */
export const TCLO_UNKNOWN_COMMAND = 'Unknown Command';

/** TCLO commands of the handshake a host sends a new channel, in the order it sends them. */
export const TcloCommand = {
  /** First on every new channel; the guest answers `OK ATR <app>`. */
  RESET: 'reset',
  PING: 'ping',
  CAPABILITIES_REGISTER: 'Capabilities_Register',
  /** `Set_Option <name> <value>`, one per option. */
  SET_OPTION: 'Set_Option',
} as const;

/** The text after `OK ` with which an app answers `reset`, naming itself (`toolbox`, `toolbox-dnd`). */
export function resetReply(app: string): string {
  return `ATR ${app}`;
}

/** The app named by a whole TCLO reply to `reset` (`OK ATR <app>`), or undefined when it is not one. */
export function resetReplyApp(reply: string): string | undefined {
  return new RegExp(`^${TCLO_SUCCESS}ATR (\\S+)`).exec(reply)?.[1];
}

/** RPCI commands `tools.capability.<name> <value>` announce what the guest can do. */
export const CAPABILITY_PREFIX = 'tools.capability.';
