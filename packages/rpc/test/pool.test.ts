/** RpciPool: several RPCI channels in flight, bounded, opened on demand, within the host's cap. */
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { describe, expect, it } from 'vitest';
import { type GuestRpcChannel, PoolClosed, RpciClient, RpciPool } from '../src/index.js';

/** A channel whose replies the test releases one by one, so requests stay in flight. */
class GatedChannel implements GuestRpcChannel {
  readonly name = 'rpci';
  static open = 0;
  static pending: Array<() => void> = [];
  async start(): Promise<void> {
    GatedChannel.open++;
  }
  async stop(): Promise<void> {
    GatedChannel.open--;
  }
  async send(): Promise<void> {}
  async receive(): Promise<Buffer | null> {
    return null;
  }
  exchange(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) =>
      GatedChannel.pending.push(() => resolve(Buffer.concat([Buffer.from('1 '), data]))),
    );
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('RpciPool', () => {
  it('keeps at most N requests in flight on N channels, opening them only when all are busy', async () => {
    GatedChannel.open = 0;
    GatedChannel.pending = [];
    let made = 0;
    const pool = new RpciPool(() => {
      made++;
      return new RpciClient(new GatedChannel());
    }, 3);
    const first = pool.send('one');
    await settle();
    expect(made).toBe(1);
    GatedChannel.pending.shift()!();
    expect((await first).text).toBe('one');
    // Sequential requests reuse the one channel.
    const again = pool.send('again');
    await settle();
    GatedChannel.pending.shift()!();
    await again;
    expect(made).toBe(1);

    const replies = Array.from({ length: 7 }, (_, i) => pool.send(`r${i}`));
    await settle();
    expect(made).toBe(3);
    expect(GatedChannel.pending.length).toBe(3);
    while (GatedChannel.pending.length > 0) {
      GatedChannel.pending.shift()!();
      await settle();
      await settle();
    }
    expect((await Promise.all(replies)).map((r) => r.text)).toEqual(
      Array.from({ length: 7 }, (_, i) => `r${i}`),
    );
    expect(pool.stats.peakInFlight).toBe(3);
    expect(pool.size).toBe(3);
    await pool.close();
    expect(GatedChannel.open).toBe(0);
  });

  it('over a host that caps channels, uses the ones it got and loses no request', async () => {
    // Two channels for the whole VM: the pool's third OPEN is refused.
    const host = new VmxHost({ maxChannels: 2 });
    let executed = 0;
    host.rpci.register('count', () => `1 ${++executed}`);
    const pool = RpciPool.overPort(new SimBackdoorPort(host), { channels: 4 });
    const replies = await Promise.all(Array.from({ length: 20 }, () => pool.send('count')));
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(new Set(replies.map((r) => r.text)).size).toBe(20);
    expect(executed).toBe(20);
    expect(pool.capacity).toBe(2);
    expect(pool.stats.refusedOpens).toBeGreaterThan(0);
    await pool.close();
    expect([...host.channels.all()]).toEqual([]);
  });

  it('ends queued requests with PoolClosed when closed, and refuses a bad bound', async () => {
    GatedChannel.pending = [];
    const pool = new RpciPool(() => new RpciClient(new GatedChannel()), 1);
    const inFlight = pool.send('a');
    const queued = pool.send('b');
    await settle();
    const closing = pool.close();
    await expect(queued).rejects.toBeInstanceOf(PoolClosed);
    for (const p of GatedChannel.pending.splice(0)) p();
    await inFlight.catch(() => undefined);
    await closing;
    await expect(pool.send('c')).rejects.toBeInstanceOf(PoolClosed);
    expect(() => new RpciPool(() => new RpciClient(new GatedChannel()), 0)).toThrow(RangeError);
    expect(() => new RpciPool(() => new RpciClient(new GatedChannel()), 129)).toThrow(RangeError);
  });
});
