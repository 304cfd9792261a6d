/**
 * Bytes end to end: every byte value crosses TCLO and RPCI unchanged, in-process and over the
 * simulator's socket.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackdoorPort } from '@vmw9/backdoor';
import { SimBackdoorPort, SocketBackdoorPort, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { afterAll, describe, expect, it } from 'vitest';
import {
  guestinfoGet,
  guestinfoGetBytes,
  guestinfoSet,
  RpciClient,
  TcloLoop,
  type TcloRequest,
  type TraceRecord,
} from '../src/index.js';

const ALL = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** guestinfo values are C strings on the host: no NUL (see guestinfoSet). */
const NON_NUL = ALL.subarray(1);

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const transports: Array<[string, (host: VmxHost) => Promise<BackdoorPort>]> = [
  ['in-process', async (host) => new SimBackdoorPort(host)],
  [
    'over the socket',
    async (host) => {
      const path = join(mkdtempSync(join(tmpdir(), 'rpc-bin-')), 'h.sock');
      const server = await serveHost(host, path);
      const port = await SocketBackdoorPort.connect(path);
      closers.push(
        () => server.close(),
        () => port.close(),
      );
      return port;
    },
  ],
];

describe.each(transports)('bytes 0..255 %s', (_, connect) => {
  it('TCLO: a handler gets the args as bytes and its bytes reach the host after `OK `', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = await connect(host);
    const loop = TcloLoop.overPort(port, { minDelayMs: 1, maxDelayMs: 5 });
    const seen: TcloRequest[] = [];
    loop.register('Echo', (_args, request) => {
      seen.push(request);
      return request.args;
    });
    const command = Buffer.concat([Buffer.from('Echo '), ALL]);
    host.tclo.queueCommand(command);
    loop.start();
    const reply = await host.tclo.waitForReply(command.toString('utf8'), 5000);
    await loop.stop();
    expect(reply.raw.equals(Buffer.concat([Buffer.from('OK '), ALL]))).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.command).toBe('Echo');
    expect(seen[0]!.args.equals(ALL)).toBe(true);
    expect(seen[0]!.raw.equals(command)).toBe(true);
  });

  it('RPCI: a request and its reply carry every byte unchanged', async () => {
    const host = new VmxHost();
    host.rpci.register('echo', (args) => Buffer.concat([Buffer.from('1 '), args]));
    const rpc = RpciClient.overPort(await connect(host));
    const r = await rpc.send(Buffer.concat([Buffer.from('echo '), ALL]));
    expect(r.ok).toBe(true);
    expect(r.reply.equals(ALL)).toBe(true);
    await rpc.close();
  });

  it('guestinfo: a value of bytes 1..255 is stored and read back byte for byte', async () => {
    const host = new VmxHost();
    const rpc = RpciClient.overPort(await connect(host));
    await guestinfoSet(rpc, 'guestinfo.bin', NON_NUL);
    expect(host.rpci.getGuestinfoBytes('guestinfo.bin')?.equals(NON_NUL)).toBe(true);
    expect((await guestinfoGetBytes(rpc, 'guestinfo.bin'))?.equals(NON_NUL)).toBe(true);
    // Text is UTF-8 both ways, as before.
    await guestinfoSet(rpc, 'guestinfo.text', 'größe ✓');
    expect(await guestinfoGet(rpc, 'guestinfo.text')).toBe('größe ✓');
    expect(await guestinfoGetBytes(rpc, 'guestinfo.none')).toBeNull();
    await expect(guestinfoSet(rpc, 'guestinfo.nul', ALL)).rejects.toBeInstanceOf(TypeError);
    await rpc.close();
  });
});

describe('TcloLoop.dispatch', () => {
  const loop = TcloLoop.overPort(new SimBackdoorPort(new VmxHost()));
  loop.register('Bytes', () => Uint8Array.of(0, 0xff, 0x80));
  loop.register('Args', (args, request) => `${args.length}/${request.args.length}`);

  it('answers bytes for bytes and text for text', async () => {
    expect(
      (await loop.dispatch(Buffer.from('Bytes'))).equals(Buffer.from([0x4f, 0x4b, 0x20, 0, 0xff, 0x80])),
    ).toBe(true);
    expect(await loop.dispatch('Args é')).toBe('OK 1/2');
    expect((await loop.dispatch(Buffer.from('Nope'))).toString()).toBe('ERROR Unknown Command');
  });
});

describe('trace option', () => {
  it('reports each message of RPCI and TCLO, its direction, size and first bytes', async () => {
    const host = new VmxHost({ autoHandshake: false });
    const port = new SimBackdoorPort(host);
    const records: TraceRecord[] = [];
    const rpc = RpciClient.overPort(port, { trace: (r) => records.push(r) });
    host.rpci.setGuestinfo('guestinfo.k', Buffer.from([0x41, 0x0a, 0xff]));
    await rpc.send('info-get guestinfo.k');
    expect(records).toEqual([
      { direction: 'out', channel: 'rpci', size: 20, head: 'info-get guestinfo.k' },
      { direction: 'in', channel: 'rpci', size: 5, head: '1 A\\n\\xff' },
    ]);
    await rpc.close();

    records.length = 0;
    const loop = TcloLoop.overPort(port, { trace: (r) => records.push(r), minDelayMs: 1, maxDelayMs: 1 });
    host.tclo.queueCommand('ping');
    loop.start();
    await host.tclo.waitForReply('ping', 5000);
    await loop.stop();
    expect(records.slice(0, 3)).toEqual([
      { direction: 'out', channel: 'tclo', size: 0, head: '' },
      { direction: 'in', channel: 'tclo', size: 4, head: 'ping' },
      { direction: 'out', channel: 'tclo', size: 3, head: 'OK ' },
    ]);
  });
});
