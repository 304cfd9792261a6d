/**
 * Backdoor calls per operation, counted from the simulator's call log in one run (issue: msgchan/rpc):
 *  - one `info-get` by vmware-rpctool (open-vm-tools, unmodified, under vmx-trap) and by our one-shot
 *    client; ours must not need more;
 *  - one RPC on our persistent channel;
 *  - a 64 KiB guest→host and a 1 MiB host→guest message, over high bandwidth and the 4-byte path;
 *  - idle TCLO cost: our loop's polls against vmtoolsd's (under vmx-trap), same host, same 6 s.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_GUEST_MESSAGE, MessageChannel, PROTOCOL_RPCI } from '@vmw9/msgchan';
import { SimBackdoorPort, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { expect, it } from 'vitest';
import { RpciClient, TcloLoop } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const trap = join(root, 'packages/vmx-sim-linux-x64/vmx-trap');

function underTrap(path: string, argv: string[], stopAfterMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn(trap, ['--host', `unix!${path}`, '--cpuid', 'vmware', '-q', '--', ...argv]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    const t = stopAfterMs ? setTimeout(() => c.kill('SIGTERM'), stopAfterMs) : undefined;
    c.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

it('backdoor calls per operation, and idle polling cost', async () => {
  const lines: string[] = [];
  const sockHost = async (opts?: ConstructorParameters<typeof VmxHost>[0]) => {
    const host = new VmxHost(opts);
    const path = join(mkdtempSync(join(tmpdir(), 'rpc-bench-')), 'h.sock');
    return { host, path, server: await serveHost(host, path) };
  };

  for (const hb of [true, false]) {
    const { host, path, server } = await sockHost({ hb });
    host.rpci.setGuestinfo('guestinfo.foo', 'bar-from-bdtrap');
    let mark = host.log.mark();
    expect(await underTrap(path, ['vmware-rpctool', 'info-get guestinfo.foo'])).toBe('bar-from-bdtrap\n');
    const rpctool = host.log.total(mark);
    const rpctoolNoProbe = rpctool - (host.log.counts(mark)['GETVERSION'] ?? 0);
    const port = new SimBackdoorPort(host);
    mark = host.log.mark();
    expect((await RpciClient.oneShot(port, 'info-get guestinfo.foo', { hb })).text).toBe('bar-from-bdtrap');
    const oneShot = host.log.total(mark);
    const client = RpciClient.overPort(port, { hb });
    await client.send('info-get guestinfo.foo');
    mark = host.log.mark();
    await client.send('info-get guestinfo.foo');
    const persistent = host.log.total(mark);
    await client.close();
    const path_ = hb ? 'high bandwidth' : '4-byte path ';
    lines.push(
      `info-get (${path_}): vmware-rpctool ${rpctool} calls (${rpctoolNoProbe} without its GETVERSION probes); our one-shot ${oneShot}; our persistent channel ${persistent} per RPC`,
    );
    expect(oneShot).toBeLessThanOrEqual(rpctool);

    // Large messages on one channel.
    const ch = await MessageChannel.open(port, PROTOCOL_RPCI, { hb });
    host.rpci.register('sink', () => '1 ');
    mark = host.log.mark();
    await ch.exchange(Buffer.concat([Buffer.from('sink '), Buffer.alloc(MAX_GUEST_MESSAGE - 5, 's')]));
    const bigOut = host.log.total(mark);
    host.rpci.setGuestinfo('guestinfo.big', 'b'.repeat(1 << 20));
    mark = host.log.mark();
    await ch.exchange(Buffer.from('info-get guestinfo.big'));
    const bigIn = host.log.total(mark);
    await ch.close();
    lines.push(
      `  64 KiB guest→host message: ${bigOut} calls; 1 MiB host→guest message: ${bigIn} calls (${path_})`,
    );
    await server.close();
  }

  // Idle TCLO: vmtoolsd and our loop on the same host for the same time, after their handshakes.
  const idleMs = 6000;
  const { host, path, server } = await sockHost();
  const vmtoolsd = underTrap(path, ['vmtoolsd'], idleMs + 2000);
  await new Promise((r) => setTimeout(r, 2000));
  const ovtChannels = new Set(host.tclo.channels.keys());
  const pollsAt = (ids: Set<number>) =>
    [...ids].reduce((n, id) => n + (host.tclo.channels.get(id)?.polls ?? 0), 0);
  const ovtStart = pollsAt(ovtChannels);
  const loop = TcloLoop.overPort(new SimBackdoorPort(host, 1));
  loop.register('Capabilities_Register', () => '');
  loop.start();
  await new Promise((r) => setTimeout(r, 2000)); // our handshake and back-off
  const oursStart = loop.stats.polls;
  const ovtMid = pollsAt(ovtChannels);
  await new Promise((r) => setTimeout(r, idleMs - 2000));
  const ours = (loop.stats.polls - oursStart) / ((idleMs - 2000) / 1000);
  const ovt = (pollsAt(ovtChannels) - ovtMid) / ((idleMs - 2000) / 1000);
  await loop.stop();
  await vmtoolsd;
  await server.close();
  lines.push(
    `idle TCLO polling: ours ${ours.toFixed(1)} polls/s (${(2 * ours).toFixed(1)} backdoor calls/s), vmtoolsd ${ovt.toFixed(1)} polls/s (${(2 * ovt).toFixed(1)} calls/s); ratio ours/vmtoolsd ${(ours / ovt).toFixed(2)} (vmtoolsd polls since start: ${ovtStart})`,
  );
  lines.push(
    'policy: poll again at once after a command; when idle double the wait from 10 ms up to 1 s (vmtoolsd: up to 100 ms)',
  );
  expect(ovt).toBeGreaterThan(0);
  const report = lines.join('\n');
  console.log(report);
  mkdirSync(join(root, '.reports/bench'), { recursive: true });
  writeFileSync(join(root, '.reports/bench/rpc-calls.txt'), `${report}\n`);
});
