/** HGFS over RPCI: the `f ` sender, vmhgfs-fuse's packet-size rule, and HgfsTransport on vmx-sim. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsTransportError,
} from '@vmw9/hgfs';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import {
  HgfsTransport,
  hgfsPacketSize,
  hgfsSender,
  parseReply,
  RpciClient,
  type RpcSender,
} from '../src/index.js';

/** A sender answering every request with `reply`, recording what was sent. */
function fixed(reply: Buffer | Error) {
  const sent: Buffer[] = [];
  const sender: RpcSender = {
    async send(command) {
      sent.push(Buffer.from(command as Uint8Array));
      if (reply instanceof Error) throw reply;
      return parseReply(reply);
    },
  };
  return { sent, sender };
}

function hostWithShare(largePackets = true) {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-hgfs-'));
  mkdirSync(join(dir, 'share'));
  writeFileSync(join(dir, 'share', 'a'), 'abc');
  const host = new VmxHost({
    hgfs: { largePackets, shares: [{ name: 'docs', dir: join(dir, 'share'), readOnly: false }] },
  });
  return { host, share: join(dir, 'share') };
}

describe('hgfsSender', () => {
  it("sends 'f ' + the packet byte for byte and gives back what follows '1 '", async () => {
    const { sent, sender } = fixed(Buffer.from('1 \x00reply\x00'));
    const packet = Uint8Array.from([1, 0, 0, 0, 0xff, 0, 0]);
    expect(Buffer.from(await hgfsSender(sender)(packet)).toString('latin1')).toBe('\x00reply\x00');
    expect(sent[0]).toEqual(Buffer.from([0x66, 0x20, 1, 0, 0, 0, 0xff, 0, 0]));
  });

  it("turns a '0 …' answer and a failed RPCI into HgfsTransportError", async () => {
    await expect(
      hgfsSender(fixed(Buffer.from('0 Unknown command')).sender)(new Uint8Array(60)),
    ).rejects.toThrow(HgfsTransportError);
    await expect(
      hgfsSender(fixed(Buffer.from('0 Unknown command')).sender)(new Uint8Array(60)),
    ).rejects.toThrow(/refused the HGFS request: "Unknown command"/);
    const e = await hgfsSender(fixed(new Error('channel lost')).sender)(new Uint8Array(60)).catch((x) => x);
    expect(e).toBeInstanceOf(HgfsTransportError);
    expect((e as Error).message).toMatch(/channel lost/);
  });
});

describe('hgfsPacketSize', () => {
  it.each([
    [null, HGFS_LARGE_PACKET_MAX],
    ['TRUE', HGFS_LARGE_PACKET_MAX],
    ['FALSE', HGFS_LEGACY_LARGE_PACKET_MAX],
    ['false', HGFS_LEGACY_LARGE_PACKET_MAX],
    ['no', HGFS_LARGE_PACKET_MAX],
  ])('guestinfo.hgfs.packetSize.large = %j: %i', async (value, size) => {
    const host = new VmxHost();
    if (value !== null) host.rpci.setGuestinfo('guestinfo.hgfs.packetSize.large', value);
    else host.rpci.deleteGuestinfo('guestinfo.hgfs.packetSize.large');
    const rpc = RpciClient.overPort(new SimBackdoorPort(host));
    expect(await hgfsPacketSize(rpc)).toBe(size);
    await rpc.close();
  });
});

describe('HgfsTransport', () => {
  it('on a host with large packets: writes of half a megabyte go as one request', async () => {
    const { host, share } = hostWithShare(true);
    const port = new SimBackdoorPort(host);
    const rpc = RpciClient.overPort(port);
    const t = new HgfsTransport(port, rpc, { channels: 3 });
    expect((await t.client.listShares()).map((e) => e.name)).toEqual(['docs']);
    const data = Buffer.alloc(500_000, 7);
    const h = await t.client.open(['docs', 'big'], {
      mode: HgfsOpenMode.WRITE_ONLY,
      flags: HgfsOpenFlags.OPEN_CREATE,
    });
    expect(await t.client.write(h, 0n, data)).toBe(data.length);
    await t.client.close(h);
    expect(readFileSync(join(share, 'big')).equals(data)).toBe(true);
    expect(host.hgfs.counts().WRITE_V3).toBe(1);
    expect(Math.max(...host.hgfs.log().map((r) => r.requestBytes))).toBeGreaterThan(65536);
    await t.close();
    expect(host.hgfs.state().sessions).toBe(0);
    expect(t.pool.size).toBe(0);
    await rpc.close();
  });

  it('on a host that says packetSize.large = FALSE: no packet over 63488 bytes', async () => {
    const { host } = hostWithShare(false);
    const port = new SimBackdoorPort(host);
    const rpc = RpciClient.overPort(port);
    const t = new HgfsTransport(port, rpc);
    const data = Buffer.alloc(300_000, 1);
    const h = await t.client.open(['docs', 'big'], {
      mode: HgfsOpenMode.WRITE_ONLY,
      flags: HgfsOpenFlags.OPEN_CREATE,
    });
    expect(await t.client.write(h, 0n, data)).toBe(data.length);
    await t.client.close(h);
    expect(host.hgfs.counts().WRITE_V3).toBeGreaterThanOrEqual(5);
    expect(Math.max(...host.hgfs.log().map((r) => r.requestBytes))).toBeLessThanOrEqual(
      HGFS_LEGACY_LARGE_PACKET_MAX,
    );
    await t.close();
    await rpc.close();
  });
});
