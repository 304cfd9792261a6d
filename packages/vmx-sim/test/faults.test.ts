/**
 * Fault injection: a checkpoint at every step of a message, a reset mid-message, a restricted
 * backdoor, a silent host, garbage replies. Under checkpoints no RPC is lost or applied twice:
 * a counting handler on the host sees each request executed exactly once.
 */
import { BackdoorFault } from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import { MESSAGE_STEPS, type MessageStep, SimBackdoorPort, VmxHost } from '../src/index.js';
import { type Counter, open, RPCI, rpc, send } from './guest-msg.js';

function counting() {
  const host = new VmxHost();
  let executed = 0;
  host.rpci.register('count', (args) => {
    executed++;
    return `1 ${args.toString()}#${executed}`;
  });
  return { host, port: new SimBackdoorPort(host), executed: () => executed };
}

describe('a checkpoint at each step', () => {
  // message.c restarts a send or a receive on CPT from a payload or ack step
  // (docs/protocol/backdoor.md §9–§11).
  const retried: MessageStep[] = ['SENDPAYLOAD', 'HBOUT', 'RECVPAYLOAD', 'HBIN', 'RECVSTATUS'];
  // Each step on the path(s) that use it: HB steps with HB, 4-byte steps without, RECVSTATUS on both.
  const cases = retried.flatMap((step) =>
    [true, false]
      .filter((hb) => step === 'RECVSTATUS' || (step === 'HBOUT' || step === 'HBIN') === hb)
      .map((hb) => ({ step, hb })),
  );
  for (const { step, hb } of cases) {
    it(`${step} (${hb ? 'HB' : '4-byte'}): retried, executed once, right answer`, async () => {
      const { host, port, executed } = counting();
      host.arm({
        kind: 'cpt',
        step,
        protocol: 'RPCI',
        skip: step === 'SENDPAYLOAD' || step === 'RECVPAYLOAD' ? 2 : 0,
      });
      const counter: Counter = { cpt: 0 };
      expect(await rpc(port, 'count hello world', { hb, counter })).toBe('1 hello world#1');
      expect(counter.cpt).toBe(1);
      expect(executed()).toBe(1);
      expect(host.faults.fired.cpt).toBe(1);
      expect(host.log.entries().filter((e) => e.fault === 'cpt')).toHaveLength(1);
    });
  }

  // It does not retry OPEN, SENDSIZE or RECVSIZE failures: the RPC fails. Before the request was
  // complete nothing is executed; at RECVSIZE it already was, once, and only the reply is lost.
  it('RECVSIZE: the guest sees a failure; the request was executed exactly once', async () => {
    const { host, port, executed } = counting();
    host.arm({ kind: 'cpt', step: 'RECVSIZE', protocol: 'RPCI' });
    await expect(rpc(port, 'count x')).rejects.toThrow(/RECVSIZE failed: status 0x10/);
    expect(executed()).toBe(1);
  });

  it.each(['OPEN', 'SENDSIZE'] as const)('%s: the RPC fails and nothing is executed', async (step) => {
    const { host, port, executed } = counting();
    host.arm({ kind: 'cpt', step, protocol: 'RPCI' });
    await expect(rpc(port, 'count x')).rejects.toThrow(/failed/);
    expect(executed()).toBe(0);
    // The next RPC goes through.
    expect(await rpc(port, 'count y')).toBe('1 y#1');
  });

  it('every step name can be armed; an unknown one is refused', () => {
    const host = new VmxHost();
    for (const step of MESSAGE_STEPS) host.arm({ kind: 'cpt', step });
    expect(() => host.arm({ kind: 'cpt', step: 'NOPE' as MessageStep })).toThrow(/unknown step/);
  });
});

describe('other faults', () => {
  it('a reset mid-message closes the channel; nothing half-sent is executed', async () => {
    const { host, port, executed } = counting();
    host.arm({ kind: 'reset', step: 'SENDPAYLOAD', skip: 1 });
    const ch = await open(port, RPCI);
    await expect(send(port, ch, Buffer.from('count abcdefgh'), { hb: false })).rejects.toThrow(/send failed/);
    expect(executed()).toBe(0);
    expect(host.resets).toBe(1);
    expect(host.channels.size).toBe(0);
    expect(await rpc(port, 'count again')).toBe('1 again#1');
  });

  it('a restricted backdoor faults every call (SIGSEGV on a real guest)', async () => {
    const { host, port } = counting();
    host.faults.restricted = true;
    await expect(rpc(port, 'count x')).rejects.toBeInstanceOf(BackdoorFault);
    host.faults.restricted = false;
    expect(await rpc(port, 'count x')).toBe('1 x#1');
  });

  it('a silent host never answers', async () => {
    const { host, port } = counting();
    host.faults.silent = true;
    const r = await Promise.race([
      rpc(port, 'count x').then(() => 'answered'),
      new Promise((res) => setTimeout(() => res('still waiting'), 200)),
    ]);
    expect(r).toBe('still waiting');
    expect(host.log.counts().SILENT).toBe(1);
  });

  it('a garbage reply has no 1/0 prefix', async () => {
    const { host, port } = counting();
    host.arm({ kind: 'garbage', step: 'SENDSIZE', protocol: 'RPCI' });
    const reply = await rpc(port, 'count x');
    expect(reply.startsWith('1 ') || reply.startsWith('0 ')).toBe(false);
    expect(await rpc(port, 'count y')).toBe('1 y#2');
  });
});
