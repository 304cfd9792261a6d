/**
 * `vmx.set_option NAME OLD NEW`: the guest changing one of the host's tools options, as
 * `vmware-toolbox-cmd timesync enable|disable` does (docs/protocol/guestrpc.md §11.1). Only
 * `synctime` is served: it is the GETGUIOPTIONS bit the same tool reads back for `timesync status`.
 */
import { RPCI_FAILURE, RPCI_SUCCESS } from '@vmw9/backdoor';
import type { HostFacts } from './facts.js';
import type { RpciHost } from './rpci.js';
import type { TcloHost } from './tclo.js';

/** GETGUIOPTIONS bit for periodic time sync (tclodefs.h VMWARE_GUI_SYNC_TIME). */
export const GUI_SYNC_TIME = 0x400;

export function serveToolsOptions(host: { rpci: RpciHost; tclo: TcloHost; facts: HostFacts }): void {
  host.rpci.register('vmx.set_option', (args) => {
    const [name, old, value, ...rest] = args.toString('latin1').trim().split(/\s+/);
    // UNCONFIRMED reply texts: toolbox-cmd prints whatever follows the 0 after "Error: ".
    if (name === undefined || old === undefined || value === undefined || rest.length > 0)
      return `${RPCI_FAILURE}Invalid arguments`;
    if (name !== 'synctime') return `${RPCI_FAILURE}Unknown option`;
    if ((old !== '0' && old !== '1') || (value !== '0' && value !== '1'))
      return `${RPCI_FAILURE}Invalid value`;
    const current = host.facts.guiOptions & GUI_SYNC_TIME ? '1' : '0';
    // OLD is what the guest believes is set: a compare-and-set, refused when someone changed it.
    if (old !== current) return `${RPCI_FAILURE}Option value changed`;
    host.facts.guiOptions =
      value === '1' ? host.facts.guiOptions | GUI_SYNC_TIME : host.facts.guiOptions & ~GUI_SYNC_TIME;
    // A host tells the tools of a changed option as it does at start: Set_Option on TCLO.
    if (value !== old) host.tclo.queueCommand(`Set_Option synctime ${value}`);
    return RPCI_SUCCESS;
  });
}
