import fc from 'fast-check';
import {
  type CpClipboard,
  type CpFormatId,
  DndCpEndpoint,
  type DndCpEndpointOptions,
  type DndCpMessageHeader,
  encodePacket,
  type ReceiveResult,
} from '../src/index.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const formatId = fc.integer({ min: 1, max: 10 }) as fc.Arbitrary<CpFormatId>;

/** A clipboard with random items; TEXT is UTF-8 (with its NUL) as a valid peer sends it. */
export const clipboard: fc.Arbitrary<CpClipboard> = fc
  .record({
    items: fc.uniqueArray(
      fc.tuple(
        formatId,
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.string({ unit: 'binary', minLength: 0, maxLength: 100 }),
      ),
      { selector: ([f]) => f, maxLength: 10 },
    ),
    changed: fc.boolean(),
  })
  .map(({ items, changed }) => ({
    items: new Map(
      items
        .sort(([a], [b]) => a - b)
        .map(([f, bytes, text]) => [f, f === 1 ? Buffer.from(`${text}\0`, 'utf8') : Buffer.from(bytes)]),
    ),
    changed,
  }));

/** A header of any numbers, payloadSize aside. */
export const header: fc.Arbitrary<Omit<DndCpMessageHeader, 'payloadSize'>> = fc.record({
  cmd: u32,
  type: u32,
  src: u32,
  sessionId: u32,
  status: u32,
  params: fc.tuple(u32, u32, u32, u32, u32, u32),
  binarySize: u32,
  payloadOffset: u32,
});

/** A binary of `size` bytes that shows where every byte came from (position pattern + seed). */
export function patterned(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i + seed) >>> 0, i);
  for (let i = size - (size % 4); i < size; i++) b[i] = (i + seed) & 0xff;
  return b;
}

/** An endpoint whose sent packets are kept in `sent`. */
export function recording(opts: Partial<DndCpEndpointOptions> = {}): { ep: DndCpEndpoint; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const ep = new DndCpEndpoint({
    role: 'guest',
    channel: 'cp',
    send: (p) => {
      sent.push(p);
    },
    ...opts,
  });
  return { ep, sent };
}

/** A guest and a host endpoint wired back to back through queues; pump() delivers until quiet. */
export function link(maxBinary?: number) {
  const toHost: Buffer[] = [];
  const toGuest: Buffer[] = [];
  const opt = maxBinary === undefined ? {} : { maxBinary };
  const guest = new DndCpEndpoint({ role: 'guest', channel: 'cp', send: (p) => void toHost.push(p), ...opt });
  const host = new DndCpEndpoint({ role: 'host', channel: 'cp', send: (p) => void toGuest.push(p), ...opt });
  const atGuest: ReceiveResult[] = [];
  const atHost: ReceiveResult[] = [];
  async function pump(): Promise<void> {
    while (toHost.length > 0 || toGuest.length > 0) {
      const g = toGuest.shift();
      if (g) atGuest.push(await guest.receive(g));
      const h = toHost.shift();
      if (h) atHost.push(await host.receive(h));
    }
  }
  return { guest, host, atGuest, atHost, pump, toHost, toGuest };
}

/** A raw packet with every header field given, payloadSize written as given (maybe wrong). */
export function rawPacket(h: Partial<DndCpMessageHeader>, payload: Uint8Array = new Uint8Array()): Buffer {
  const p = encodePacket(
    {
      cmd: h.cmd ?? 2002,
      type: h.type ?? 1,
      src: h.src ?? 2,
      sessionId: h.sessionId ?? 1,
      status: h.status ?? 0,
      params: h.params ?? [0, 0, 0, 0, 0, 0],
      binarySize: h.binarySize ?? payload.length,
      payloadOffset: h.payloadOffset ?? 0,
    },
    payload,
  );
  if (h.payloadSize !== undefined) p.writeUInt32LE(h.payloadSize, 52);
  return p;
}
