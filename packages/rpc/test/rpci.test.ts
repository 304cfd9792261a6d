import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackdoorUnavailable } from '@vmw9/backdoor';
import { SimBackdoorPort, SocketBackdoorPort, serveHost, VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  guestinfoGet,
  guestinfoSet,
  log,
  parseReply,
  RpcFailed,
  RpciClient,
  RpcProtocolError,
  setCapability,
  setGuestInfo,
  setToolsVersion,
  stateChangeStatus,
  toolsVersion,
} from '../src/index.js';

function counted(opts?: VmxHostOptions) {
  const host = new VmxHost(opts);
  let executed = 0;
  host.rpci.register('count', () => `1 ${++executed}`);
  return { host, port: new SimBackdoorPort(host), executed: () => executed };
}

describe('reply framing', () => {
  it('parses any `1 `/`0 ` reply back to its bytes', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (ok, body) => {
        const r = parseReply(Buffer.concat([Buffer.from(ok ? '1 ' : '0 '), body]));
        expect(r.ok).toBe(ok);
        expect(Buffer.compare(r.reply, Buffer.from(body))).toBe(0);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('rejects anything else with RpcProtocolError, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 50 }), (raw) => {
        const b = Buffer.from(raw);
        const valid = b.length >= 2 && b[1] === 0x20 && (b[0] === 0x30 || b[0] === 0x31);
        if (valid) return;
        expect(() => parseReply(b)).toThrow(RpcProtocolError);
      }),
      { numRuns: 300 },
    );
    expect(() => parseReply(null)).toThrow(RpcProtocolError);
  }, 120_000);
});

describe('RpciClient', () => {
  it('works in-process and over the socket', async () => {
    const host = new VmxHost();
    const path = join(mkdtempSync(join(tmpdir(), 'rpc-')), 'h.sock');
    const server = await serveHost(host, path);
    for (const port of [new SimBackdoorPort(host), await SocketBackdoorPort.connect(path)]) {
      const rpc = RpciClient.overPort(port);
      expect(await rpc.send('info-set guestinfo.a b c')).toMatchObject({ ok: true, text: '' });
      expect(await rpc.send('info-get guestinfo.a')).toMatchObject({ ok: true, text: 'b c' });
      expect(await rpc.send('no.such')).toMatchObject({ ok: false, text: 'Unknown command' });
      await rpc.close();
      if (port instanceof SocketBackdoorPort) await port.close();
    }
    await server.close();
  });

  it('keeps one channel: 5 backdoor calls per RPC after the first', async () => {
    const { host, port } = counted();
    const rpc = RpciClient.overPort(port);
    await rpc.send('count');
    const mark = host.log.mark();
    for (let i = 0; i < 10; i++) await rpc.send('count');
    expect(host.log.total(mark)).toBe(50);
    expect(rpc.opens).toBe(1);
  });

  it('one-shot takes 7 calls (OPEN … CLOSE), fewer than vmware-rpctool’s 9', async () => {
    const { host, port } = counted();
    host.rpci.setGuestinfo('guestinfo.foo', 'bar');
    expect((await RpciClient.oneShot(port, 'info-get guestinfo.foo')).text).toBe('bar');
    expect(host.log.total()).toBe(7);
    expect(host.channels.size).toBe(0);
  });

  it('reopens after a host reset and runs each request once', async () => {
    const { host, port, executed } = counted();
    const rpc = RpciClient.overPort(port);
    expect((await rpc.send('count')).text).toBe('1');
    host.reset();
    expect((await rpc.send('count')).text).toBe('2');
    expect(rpc.opens).toBe(2);
    expect(executed()).toBe(2);
  });

  it('a reset mid-send: the request never reached the host, so it is sent again, and runs once', async () => {
    const { host, port, executed } = counted({ hb: false });
    const rpc = RpciClient.overPort(port);
    await rpc.send('count');
    host.arm({ kind: 'reset', step: 'SENDPAYLOAD', protocol: 'RPCI' });
    expect((await rpc.send('count')).text).toBe('2');
    expect(executed()).toBe(2);
  });

  it('a reset after the request was complete is an error, not a second run', async () => {
    const { host, port, executed } = counted();
    const rpc = RpciClient.overPort(port);
    host.arm({ kind: 'reset', step: 'RECVSIZE', protocol: 'RPCI' });
    await expect(rpc.send('count')).rejects.toMatchObject({ name: 'MessageError', requestComplete: true });
    expect(executed()).toBe(1);
    // The client recovers on the next request.
    expect((await rpc.send('count')).text).toBe('2');
  });

  it.each(['SENDPAYLOAD', 'HBOUT', 'RECVPAYLOAD', 'HBIN', 'RECVSTATUS'] as const)(
    'a checkpoint at %s: right answer, run once',
    async (step) => {
      const { host, port, executed } = counted({ hb: !step.endsWith('PAYLOAD') });
      const rpc = RpciClient.overPort(port);
      host.arm({ kind: 'cpt', step, protocol: 'RPCI' });
      expect((await rpc.send('count with some arguments')).text).toBe('1');
      expect(executed()).toBe(1);
    },
  );

  it('a transport that fails mid-message drops the channel: the next request opens a fresh one', async () => {
    const { host, port } = counted();
    let failAt = -1;
    let calls = 0;
    // Fails one backdoor call in the middle of the second request's message, as a link reset does.
    const flaky: typeof port = {
      call: (r) =>
        ++calls === failAt ? Promise.reject(new BackdoorUnavailable('link reset', 'timeout')) : port.call(r),
      hbOut: (r, d) => port.hbOut(r, d),
      hbIn: (r, d) => port.hbIn(r, d),
    };
    const rpc = RpciClient.overPort(flaky);
    expect((await rpc.send('count')).text).toBe('1');
    expect(rpc.opens).toBe(1);
    failAt = calls + 2;
    await expect(rpc.send('count')).rejects.toBeInstanceOf(BackdoorUnavailable);
    expect((await rpc.send('count')).ok).toBe(true);
    expect(rpc.opens).toBe(2);
    // The broken channel was closed, not left open on the host beside the new one.
    expect(host.channels.size).toBe(1);
  });

  it('a garbage reply is a typed protocol error', async () => {
    const { host, port } = counted();
    host.arm({ kind: 'garbage', step: 'SENDSIZE', protocol: 'RPCI' });
    await expect(RpciClient.overPort(port).send('count')).rejects.toBeInstanceOf(RpcProtocolError);
  });

  it('a silent host: the request waits (callers bring timeouts); nothing is applied', async () => {
    const { host, port, executed } = counted();
    host.faults.silent = true;
    const r = await Promise.race([
      RpciClient.overPort(port)
        .send('count')
        .then(() => 'answered'),
      new Promise((res) => setTimeout(() => res('waiting'), 150)),
    ]);
    expect(r).toBe('waiting');
    expect(executed()).toBe(0);
  });
});

describe('typed RPCs', () => {
  it('guestinfo get/set, log, version, capabilities, SetGuestInfo, statechange', async () => {
    const { host, port } = counted();
    const rpc = RpciClient.overPort(port);
    await guestinfoSet(rpc, 'guestinfo.x', 'a value with spaces');
    expect(await guestinfoGet(rpc, 'guestinfo.x')).toBe('a value with spaces');
    expect(await guestinfoGet(rpc, 'guestinfo.none')).toBeNull();
    await log(rpc, 'hello host');
    await setToolsVersion(rpc, toolsVersion(12, 5, 0));
    await setCapability(rpc, 'statechange', null);
    await setCapability(rpc, 'resolution_set', 1);
    await setGuestInfo(rpc, 1, 'guest.example');
    await stateChangeStatus(rpc, true, 2);
    expect(host.rpci.logs).toEqual(['hello host']);
    expect(host.rpci.toolsVersion).toEqual({ version: 12448, type: 4 });
    expect([...host.rpci.capabilities]).toEqual([
      ['statechange', ''],
      ['resolution_set', '1'],
    ]);
    expect(host.rpci.guestInfo.get('DNS_NAME')?.toString()).toBe('guest.example');
    expect(host.rpci.stateChanges).toEqual([{ success: true, state: 2 }]);
  });

  it('falls back to tools.set.version when the host lacks versiontype', async () => {
    const { host, port } = counted();
    host.rpci.register('tools.set.versiontype', () => '0 Unknown command');
    await setToolsVersion(RpciClient.overPort(port), 2147483647);
    expect(host.rpci.toolsVersion).toEqual({ version: 2147483647 });
  });

  it('checks keys and values before anything is sent; a host refusal is RpcFailed', async () => {
    const { host, port } = counted();
    const rpc = RpciClient.overPort(port);
    for (const key of ['other.key', 'guestinfo.a b', 'guestinfo.a\0b', 'guestinfo.']) {
      await expect(guestinfoSet(rpc, key, 'v')).rejects.toBeInstanceOf(TypeError);
    }
    await expect(guestinfoSet(rpc, 'guestinfo.k', 'a\0b')).rejects.toBeInstanceOf(TypeError);
    expect(host.log.total()).toBe(0);
    host.rpci.register('log', () => '0 logging disabled');
    await expect(log(rpc, 'x')).rejects.toBeInstanceOf(RpcFailed);
  });
});
