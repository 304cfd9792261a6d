/**
 * Copy and paste with the host over the DnD/CP protocol version 4 (docs/protocol/dndcp.md §7), as
 * vmusr's dndcp plugin does it, on the user session's channel `toolbox-dnd`: the capability
 * `copypaste_version 4` at Capabilities_Register; `Set_Option copypaste 1` negotiates (the
 * host's version, then a PING), any other accepted value turns it off; the host's
 * `copypaste.transport` packets go to the engine, whose RPCIs go out on the agent's RPCI channel.
 * The engine is the tree's: `snarf` and `clip/` use version 4 whenever it is negotiated, the legacy
 * backdoor clipboard otherwise (docs/protocol/tree.md §4). A host reset forgets the negotiation
 * (the host sends its options again). With [copypaste] enabled = false it does nothing (and the
 * agent opens no `toolbox-dnd` channel unless the dnd service lives there). `enableDnD` is the dnd
 * service's; with [dnd] enabled = false this service accepts it as vmusr does.
 */

import { TCLO_UNKNOWN_COMMAND } from '@vmw9/backdoor';
import {
  CapabilityName,
  CopyPasteGuest,
  CP_TRANSPORT,
  CpOption,
  DNDCP_TCLO_APP,
  DNDCP_VERSION,
  DndCpDecodeError,
  HOST_CP_VERSION_QUERY,
} from '@vmw9/dndcp';
import { binaryTclo } from '@vmw9/rpc';
import type { AgentService, OptionHandler, ServiceContext } from '../service.js';

/**
 * The values vmusr accepts for its two options; any other is `Unknown or invalid option`
 * (docs/protocol/guestrpc.md §9). Only `1` enables.
 */
const OPTION_VALUES = new Set(['0', '1', '2']);

/** The version query's bytes, to know its answer among the engine's RPCIs. */
const VERSION_QUERY = Buffer.from(HOST_CP_VERSION_QUERY, 'latin1');

/** The idle poll cap of the copy/paste channel: vmtoolsd's (`RPCIN_MAX_DELAY`, 100 ms). */
export const COPYPASTE_POLL_MAX_MS = 100;

/** How a bad packet is logged: the protocol's own account of it (the field at fault). */
function errorDetail(e: Error): Record<string, unknown> {
  if (e instanceof DndCpDecodeError)
    return { err: e.message, field: e.field, ...(e.offset === undefined ? {} : { offset: e.offset }) };
  return { err: e.message };
}

export function copyPasteService(
  ctx: ServiceContext,
): AgentService & { readonly guest: CopyPasteGuest | null } {
  if (!ctx.config.copypaste.enabled) return { name: 'copypaste', guest: null };
  const log = ctx.logger;
  /** The host's last answer to the version query, as it said it (for the log). */
  let versionAnswer: string | undefined;
  const guest = new CopyPasteGuest({
    rpc: {
      async send(request) {
        const r = await ctx.rpc.send(request);
        // Compared as bytes: the transport's requests are up to 64 KB of binary, never decoded here.
        if (VERSION_QUERY.equals(request.subarray(0, VERSION_QUERY.length)))
          versionAnswer = `${r.ok ? '1' : '0'} ${r.text}`;
        return { ok: r.ok, reply: r.reply };
      },
    },
  });
  // The protocol's account in the message itself: the log keeps one line per distinct message a
  // minute, so each kind of fault is seen and a host repeating one cannot flood the log.
  guest.on('error', (e: Error) =>
    log.info(errorDetail(e), `copy/paste: ${e.message}; the clipboard is unchanged`),
  );

  let enabling: Promise<void> | undefined;
  /** Version 4 was negotiated at least once: vmusr's transport handler exists from then on. */
  let negotiatedOnce = false;
  const enable = (): Promise<void> => {
    versionAnswer = undefined;
    // Never rejects (a failed RPCI is an 'error' event): the version says how it went.
    enabling = guest.enable().then((version) => {
      if (guest.active) negotiatedOnce = true;
      if (guest.active)
        log.info(
          { version, answer: versionAnswer },
          'copy/paste version 4 negotiated: the clipboard files use it',
        );
      else
        log.info(
          { version, answer: versionAnswer ?? '(no answer)' },
          'the host does not offer copy/paste version 4; the clipboard files use the legacy backdoor clipboard',
        );
    });
    return enabling;
  };

  const onOption: OptionHandler = async (value, name) => {
    if (!OPTION_VALUES.has(value)) throw new Error('Unknown or invalid option');
    if (name === CpOption.enableDnd) {
      // Only with [dnd] enabled = false (the dnd service owns it otherwise): accepted as vmusr
      // accepts it, and nothing is done (no dnd_version capability).
      log.debug({ option: name, value }, 'the host set drag and drop, which is off in the configuration');
      return;
    }
    // As vmusr, inside the Set_Option handler: the version query and the PING go out before the
    // host has the answer, so the transport is taken from then on (docs/protocol/dndcp.md §7).
    if (value === '1') return enable();
    guest.disable();
    log.info(
      { value },
      'the host turned copy/paste off; the clipboard files use the legacy backdoor clipboard',
    );
  };

  return {
    name: 'copypaste',
    app: DNDCP_TCLO_APP,
    // The host pushes its clipboard when the user enters the VM window, and the user pastes right
    // away: poll as vmusr does (at most 100 ms apart when idle, docs/protocol/guestrpc.md §6),
    // not at the system channel's 1 s.
    pollMaxMs: COPYPASTE_POLL_MAX_MS,
    guest,
    capabilities: { [CapabilityName.guestCopyPasteVersion]: DNDCP_VERSION },
    // `enableDnD` is the dnd service's while it runs ([dnd] enabled).
    options: {
      [CpOption.copyPaste]: onOption,
      ...(ctx.config.dnd.enabled ? {} : { [CpOption.enableDnd]: onOption }),
    },
    commands: {
      // Binary: the packet is the bytes after the command word's space, never the text.
      [CP_TRANSPORT]: binaryTclo(async (request) => {
        if (!guest.active) {
          // vmusr has no handler for it until version 4 is first negotiated (docs/protocol/dndcp.md
          // §2.1); once it has one, switched off it answers `OK ` and ignores the packet (dndcp.md,
          // "Host side").
          if (!negotiatedOnce) throw new Error(TCLO_UNKNOWN_COMMAND);
          log.debug('copy/paste is off: a packet from the host is ignored');
          return '';
        }
        await guest.handleTransport(request.args);
        return '';
      }),
    },
    treeHooks: { copyPaste: guest },
    onReset() {
      // The host sends its options again after a reset; until then the legacy clipboard serves.
      guest.disable();
      log.debug('host reset: the copy/paste negotiation is forgotten until the host enables it again');
    },
    stop() {
      guest.disable();
    },
    settle: async () => {
      await enabling;
    },
  };
}
