/** `vmw9 detect`: which transport can reach a VMware host, and why. Exit 0 only when a backdoor answers. */
import { Exit } from '../exit.js';
import { importNative } from '../host.js';
import { type Output, printJson } from '../output.js';

export async function detectCommand(o: Output, opts: { force?: boolean }): Promise<number> {
  const native = await importNative();
  const d = native.detect({ force: opts.force === true });
  if (o.json) {
    printJson(o, d);
  } else {
    o.out(`native backdoor: ${d.available ? 'available' : 'unavailable'} (${d.reason})`);
    o.out(`  ${d.message}`);
    const cpu = d.cpu;
    if (cpu.hypervisorBit !== null) {
      o.out(
        `  cpu: hypervisor bit ${cpu.hypervisorBit ? 'set' : 'clear'}${cpu.signature !== null ? `, signature "${cpu.signature}"` : ''}${cpu.hypervisor ? ` (${cpu.hypervisor})` : ''}`,
      );
    }
    if (d.probe)
      o.out(
        `  probe: ${d.probe.ok ? 'answered' : d.probe.timedOut ? 'timed out' : `faulted (${d.probe.signal})`}${d.forced ? ', forced' : ''}`,
      );
    if (d.version)
      o.out(
        `  backdoor version ${d.version.version}, product ${d.version.productName} (type ${d.version.productType})`,
      );
  }
  return d.available ? Exit.OK : Exit.FAILED;
}
