/** fast-check arbitraries for every message of every dialect, built from the codec's layout table. */
import fc from 'fast-check';
import {
  DIALECTS,
  type Dialect,
  encode,
  fieldPresent,
  LAYOUTS,
  type Message,
  messageAllowed,
  type Stat,
} from '../src/index.js';

const name = fc
  .string({ unit: 'binary', maxLength: 12 })
  .filter((s) => !s.includes('\0') && (s as string & { isWellFormed(): boolean }).isWellFormed());
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.nat({ max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const qid = fc.record({ type: u8, version: u32, path: u64 });
const data = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));

function stat(dialect: Dialect): fc.Arbitrary<Stat> {
  const base = {
    type: u16,
    dev: u32,
    qid,
    mode: u32,
    atime: u32,
    mtime: u32,
    length: u64,
    name,
    uid: name,
    gid: name,
    muid: name,
  };
  return dialect === '9P2000.u'
    ? fc.record({ ...base, extension: name, nUid: u32, nGid: u32, nMuid: u32 })
    : fc.record(base);
}

export function messageArb(dialect: Dialect): fc.Arbitrary<Message> {
  const per = [...LAYOUTS.values()]
    .filter((l) => messageAllowed(l, dialect))
    .map((l) => {
      const fields: Record<string, fc.Arbitrary<unknown>> = { type: fc.constant(l.name), tag: u16 };
      for (const [n, kind, only] of l.fields) {
        if (!fieldPresent(only, dialect)) continue;
        fields[n] = {
          u8,
          u16,
          u32,
          u64,
          s: name,
          qid,
          data,
          wnames: fc.array(name, { maxLength: 20 }),
          qids: fc.array(qid, { maxLength: 20 }),
          stat: stat(dialect),
        }[kind];
      }
      return fc.record(fields) as unknown as fc.Arbitrary<Message>;
    });
  return fc.oneof(...per);
}

export const dialectArb = fc.constantFrom(...DIALECTS);

/** A valid frame with some bytes changed, cut short, or extended (the size field fixed up or not). */
export const mutatedFrameArb = dialectArb.chain((dialect) =>
  fc
    .tuple(
      messageArb(dialect),
      fc.array(fc.tuple(fc.nat(), u8), { maxLength: 4 }),
      fc.option(fc.nat()),
      fc.uint8Array({ maxLength: 8 }),
      fc.boolean(),
    )
    .map(([msg, flips, cut, extra, fixSize]) => {
      let f = Buffer.concat([encode(msg, dialect), extra]);
      for (const [at, v] of flips) f[at % f.length] = v;
      if (cut !== null) f = f.subarray(0, cut % (f.length + 1));
      if (fixSize && f.length >= 4) f.writeUInt32LE(f.length, 0);
      return { dialect, frame: Buffer.from(f) };
    }),
);

/** Completely arbitrary bytes with a plausible header. */
export const randomFrameArb = fc
  .tuple(dialectArb, fc.uint8Array({ minLength: 0, maxLength: 96 }), u8)
  .map(([dialect, body, type]) => {
    const f = Buffer.alloc(7 + body.length);
    f.writeUInt32LE(f.length, 0);
    f[4] = type;
    f.set(body, 7);
    return { dialect, frame: f };
  });
