/** Decoder properties shared by the unit suite (a short run) and the fuzz run (a million frames). */
import fc from 'fast-check';
import { DecodeError, decode, encode } from '../src/index.js';
import { dialectArb, messageArb, mutatedFrameArb, randomFrameArb } from './arbitraries.js';

/** Every message of every dialect survives encode → decode unchanged. */
export function roundTrip(numRuns: number): void {
  fc.assert(
    fc.property(
      dialectArb.chain((d) => fc.tuple(fc.constant(d), messageArb(d))),
      ([dialect, msg]) => {
        const frame = encode(msg, dialect);
        const back = decode(frame, dialect);
        // Rread/Twrite data come back as Buffers; compare bytes.
        expectEqual(back, msg);
        if (!encode(back, dialect).equals(frame)) throw new Error('re-encoding differs');
      },
    ),
    { numRuns },
  );
}

/** A malformed frame yields a DecodeError (naming a field) or a message, never anything else. */
export function onlyDecodeErrors(numRuns: number): void {
  fc.assert(
    fc.property(fc.oneof(mutatedFrameArb, randomFrameArb), ({ dialect, frame }) => {
      try {
        const m = decode(frame, dialect);
        // What decodes must re-encode to the very same bytes (decoding is exact).
        if (!encode(m, dialect).equals(frame))
          throw new Error(`${m.type} decoded but does not re-encode to the same bytes`);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        if (!e.field) throw new Error('DecodeError without a field');
      }
    }),
    { numRuns },
  );
}

function expectEqual(a: unknown, b: unknown): void {
  const norm = (v: unknown): unknown =>
    v instanceof Uint8Array
      ? Buffer.from(v).toString('hex')
      : Array.isArray(v)
        ? v.map(norm)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
          : v;
  const x = JSON.stringify(norm(a), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const y = JSON.stringify(norm(b), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  if (x !== y) throw new Error(`round trip differs:\n${x}\n${y}`);
}
