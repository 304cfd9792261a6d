/**
 * The VMGuestLib wire: what a host answers to `guestlib.info.get <version>`, in both layouts a
 * guest understands (docs/protocol/guestlib.md §2–§4). It lives here, below the guest client
 * (@vmw9/rpc) and the simulated host (@vmw9/vmx-sim), so both read and write the same bytes.
 *
 * A reply is a packed little-endian header {uint32 version; uint64 sessionId}, then either the V2
 * fixed struct (statistics 1–18, each with a one-byte valid flag) or, for V3, a little-endian
 * uint32 byte count and that many bytes of XDR: a count, then each statistic as its id and a body
 * {bool valid; value}, ids 1, 2, 3… in order.
 */
import { XdrError, XdrReader, XdrWriter } from './xdr.js';

/** RPCI command asking for the statistics: `guestlib.info.get <version>`. */
export const GUESTLIB_INFO_COMMAND = 'guestlib.info.get';
/** RPCI command asking for a statistic's semi-structured form: `guestlib.stat.get <encoding> <stat> [param]`. */
export const GUESTLIB_STAT_COMMAND = 'guestlib.stat.get';
/** The newest layout a guest asks for first. */
export const GUESTLIB_DATA_VERSION = 3;
/** Longest RESOURCE_POOL_PATH in V3 (`string<512>`); V2 holds it in a 512-byte NUL-terminated field. */
export const GUESTLIB_STRING_MAX = 512;

export type GuestLibStatType = 'u32' | 'u64' | 'string' | 'bytes';

/** The V3 statistics, ids 1–38 in wire order (guestlibV3.x GuestLibV3TypeIds). */
export const GuestLibStat = Object.freeze([
  { id: 1, name: 'CPU_RESERVATION_MHZ', type: 'u32' },
  { id: 2, name: 'CPU_LIMIT_MHZ', type: 'u32' },
  { id: 3, name: 'CPU_SHARES', type: 'u32' },
  { id: 4, name: 'CPU_USED_MS', type: 'u64' },
  { id: 5, name: 'HOST_MHZ', type: 'u32' },
  { id: 6, name: 'MEM_RESERVATION_MB', type: 'u32' },
  { id: 7, name: 'MEM_LIMIT_MB', type: 'u32' },
  { id: 8, name: 'MEM_SHARES', type: 'u32' },
  { id: 9, name: 'MEM_MAPPED_MB', type: 'u32' },
  { id: 10, name: 'MEM_ACTIVE_MB', type: 'u32' },
  { id: 11, name: 'MEM_OVERHEAD_MB', type: 'u32' },
  { id: 12, name: 'MEM_BALLOONED_MB', type: 'u32' },
  { id: 13, name: 'MEM_SWAPPED_MB', type: 'u32' },
  { id: 14, name: 'MEM_SHARED_MB', type: 'u32' },
  { id: 15, name: 'MEM_SHARED_SAVED_MB', type: 'u32' },
  { id: 16, name: 'MEM_USED_MB', type: 'u32' },
  { id: 17, name: 'ELAPSED_MS', type: 'u64' },
  { id: 18, name: 'RESOURCE_POOL_PATH', type: 'string' },
  { id: 19, name: 'CPU_STOLEN_MS', type: 'u64' },
  { id: 20, name: 'MEM_TARGET_SIZE_MB', type: 'u64' },
  { id: 21, name: 'HOST_CPU_NUM_CORES', type: 'u32' },
  { id: 22, name: 'HOST_CPU_USED_MS', type: 'u64' },
  { id: 23, name: 'HOST_MEM_SWAPPED_MB', type: 'u64' },
  { id: 24, name: 'HOST_MEM_SHARED_MB', type: 'u64' },
  { id: 25, name: 'HOST_MEM_USED_MB', type: 'u64' },
  { id: 26, name: 'HOST_MEM_PHYS_MB', type: 'u64' },
  { id: 27, name: 'HOST_MEM_PHYS_FREE_MB', type: 'u64' },
  { id: 28, name: 'HOST_MEM_KERN_OVHD_MB', type: 'u64' },
  { id: 29, name: 'HOST_MEM_MAPPED_MB', type: 'u64' },
  { id: 30, name: 'HOST_MEM_UNMAPPED_MB', type: 'u64' },
  { id: 31, name: 'MEM_ZIPPED_MB', type: 'u32' },
  { id: 32, name: 'MEM_ZIPSAVED_MB', type: 'u32' },
  { id: 33, name: 'MEM_LLSWAPPED_MB', type: 'u32' },
  { id: 34, name: 'MEM_SWAP_TARGET_MB', type: 'u32' },
  { id: 35, name: 'MEM_BALLOON_TARGET_MB', type: 'u32' },
  { id: 36, name: 'MEM_BALLOON_MAX_MB', type: 'u32' },
  { id: 37, name: 'RESOURCE_POOL_PATH_LONG', type: 'bytes' },
  { id: 38, name: 'MEM_SHARES_64', type: 'u64' },
] as const satisfies readonly { id: number; name: string; type: GuestLibStatType }[]);

export type GuestLibStatEntry = (typeof GuestLibStat)[number];
export type GuestLibStatName = GuestLibStatEntry['name'];
/** A statistic's value: u32 → number, u64 → bigint, string → string, bytes → Uint8Array. */
export type GuestLibValue = number | bigint | string | Uint8Array;
/** Valid statistics by name; one the host marked invalid is absent, never 0. */
export type GuestLibStats = Partial<Record<GuestLibStatName, GuestLibValue>>;

/** The statistics V2 carries: ids 1–18, the same order as V3. */
export const GUESTLIB_V2_STATS = 18;

const BY_NAME = new Map<string, GuestLibStatEntry>(GuestLibStat.map((s) => [s.name, s]));

/** The statistic named `name`, or undefined. */
export function guestLibStat(name: string): GuestLibStatEntry | undefined {
  return BY_NAME.get(name);
}

/** A reply to `guestlib.info.get`, decoded. */
export interface GuestLibReply {
  version: 2 | 3;
  /** Changes when the VM moves to another host (vMotion); 0 is never a session (the guest reads it as "no info"). */
  sessionId: bigint;
  stats: GuestLibStats;
  /** The host sent statistics 1…statCount (18 for V2): a statistic past it is one the host lacks. */
  statCount: number;
}

/** Bytes that are not a guestlib reply. */
export class GuestLibWireError extends Error {
  override name = 'GuestLibWireError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

/** {uint32 version; uint64 sessionId}, packed, little-endian. */
export const GUESTLIB_HEADER_SIZE = 12;
/**
 * V2: the header, then per statistic u32 {u8 valid; 3 bytes of alignment; u32} = 8 (StatUint32 is
 * not packed), u64 {u8 valid; u8[3]; u64} = 12 (packed, explicit padding), the path {u8 valid;
 * char[512]} = 513 (packed). Either way a number's value is at +4.
 */
const V2_SIZES: Record<GuestLibStatType, number> = {
  u32: 8,
  u64: 12,
  string: 1 + GUESTLIB_STRING_MAX,
  bytes: 0,
};
export const GUESTLIB_V2_SIZE =
  GUESTLIB_HEADER_SIZE + GuestLibStat.slice(0, GUESTLIB_V2_STATS).reduce((n, s) => n + V2_SIZES[s.type], 0);

/** A value in range for its statistic's type, or a TypeError/RangeError saying why not. */
export function checkGuestLibValue(stat: GuestLibStatEntry, v: GuestLibValue): GuestLibValue {
  switch (stat.type) {
    case 'u32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw new RangeError(`${stat.name} is a uint32, got ${String(v)}`);
      return v;
    case 'u64':
      if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
        throw new RangeError(`${stat.name} is a uint64 (bigint), got ${String(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new TypeError(`${stat.name} is a string`);
      if (Buffer.byteLength(v, 'utf8') > GUESTLIB_STRING_MAX - 1)
        throw new RangeError(`${stat.name} is at most ${GUESTLIB_STRING_MAX - 1} bytes`);
      return v;
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new TypeError(`${stat.name} is bytes`);
      return v;
  }
}

/** Parses a statistic's value from text (a CLI or console argument): decimal integers, text, UTF-8 bytes. */
export function parseGuestLibValue(stat: GuestLibStatEntry, text: string): GuestLibValue {
  switch (stat.type) {
    case 'u32':
    case 'u64': {
      if (!/^\d+$/.test(text))
        throw new RangeError(`${stat.name} takes a decimal number, got ${JSON.stringify(text)}`);
      return checkGuestLibValue(stat, stat.type === 'u32' ? Number(text) : BigInt(text));
    }
    case 'string':
      return checkGuestLibValue(stat, text);
    case 'bytes':
      return Buffer.from(text, 'utf8');
  }
}

function header(version: 2 | 3, sessionId: bigint): Buffer {
  const b = Buffer.alloc(GUESTLIB_HEADER_SIZE);
  b.writeUInt32LE(version, 0);
  b.writeBigUInt64LE(sessionId, 4);
  return b;
}

/** The version and session id of a reply; throws unless there are 12 bytes. */
export function decodeGuestLibHeader(reply: Uint8Array): { version: number; sessionId: bigint } {
  if (reply.length < GUESTLIB_HEADER_SIZE)
    throw new GuestLibWireError(
      `a guestlib reply is at least ${GUESTLIB_HEADER_SIZE} bytes, got ${reply.length}`,
      0,
    );
  const b = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  return { version: b.readUInt32LE(0), sessionId: b.readBigUInt64LE(4) };
}

export interface GuestLibEncodeOptions {
  sessionId: bigint;
  /** Valid statistics; every other one is sent marked invalid. */
  stats: GuestLibStats;
  /** V3 only: send statistics 1…count (an older host sends fewer); default all 38. */
  count?: number;
}

/** Default value sent (with valid = false) for an invalid statistic. */
function zero(type: GuestLibStatType): GuestLibValue {
  return type === 'u32' ? 0 : type === 'u64' ? 0n : type === 'string' ? '' : new Uint8Array(0);
}

/** A V3 reply: header, LE dataSize, XDR {count; (id, {bool valid; value})…}. */
export function encodeGuestLibV3(o: GuestLibEncodeOptions): Buffer {
  const count = o.count ?? GuestLibStat.length;
  if (!Number.isInteger(count) || count < 0 || count > GuestLibStat.length)
    throw new RangeError(`a V3 reply carries 0–${GuestLibStat.length} statistics, not ${count}`);
  const w = new XdrWriter().u32(count);
  for (const stat of GuestLibStat.slice(0, count)) {
    const given = o.stats[stat.name];
    const valid = given !== undefined;
    const v = valid ? checkGuestLibValue(stat, given) : zero(stat.type);
    w.i32(stat.id).bool(valid);
    if (stat.type === 'u32') w.u32(v as number);
    else if (stat.type === 'u64') w.u64(v as bigint);
    else if (stat.type === 'string') w.string(v as string);
    else w.opaque(v as Uint8Array);
  }
  const xdr = w.bytes();
  const size = Buffer.alloc(4);
  size.writeUInt32LE(xdr.length, 0);
  return Buffer.concat([header(3, o.sessionId), size, xdr]);
}

/**
 * Decodes a V3 reply as libguestlib does (docs/protocol/guestlib.md §3): a count past the
 * statistics known here is cut to them (a newer host); an id out of order is an error. Bytes after
 * the statistics are ignored, as libguestlib ignores them.
 */
export function decodeGuestLibV3(reply: Uint8Array): GuestLibReply {
  const { version, sessionId } = decodeGuestLibHeader(reply);
  if (version !== 3) throw new GuestLibWireError(`a V3 reply says version ${version}`, 0);
  if (reply.length < GUESTLIB_HEADER_SIZE + 4)
    throw new GuestLibWireError('a V3 reply ends before its data size', GUESTLIB_HEADER_SIZE);
  const b = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  const dataSize = b.readUInt32LE(GUESTLIB_HEADER_SIZE);
  const start = GUESTLIB_HEADER_SIZE + 4;
  if (dataSize > b.length - start)
    throw new GuestLibWireError(
      `a V3 reply says ${dataSize} bytes of data, has ${b.length - start}`,
      GUESTLIB_HEADER_SIZE,
    );
  const r = new XdrReader(b.subarray(start, start + dataSize));
  const stats: GuestLibStats = {};
  try {
    const count = Math.min(r.u32(), GuestLibStat.length);
    for (const stat of GuestLibStat.slice(0, count)) {
      const at = r.offset;
      const id = r.i32();
      if (id !== stat.id)
        throw new GuestLibWireError(`statistic ${stat.id} expected, got id ${id}`, start + at);
      const valid = r.bool();
      const v =
        stat.type === 'u32'
          ? r.u32()
          : stat.type === 'u64'
            ? r.u64()
            : stat.type === 'string'
              ? r.string(GUESTLIB_STRING_MAX)
              : new Uint8Array(r.opaque());
      if (valid) stats[stat.name] = v;
    }
    return { version: 3, sessionId, stats, statCount: count };
  } catch (e) {
    if (e instanceof XdrError)
      throw new GuestLibWireError(`bad V3 statistics: ${e.message}`, start + e.offset);
    throw e;
  }
}

/** A V2 reply: the fixed packed struct of statistics 1–18; the later ones cannot be sent. */
export function encodeGuestLibV2(o: GuestLibEncodeOptions): Buffer {
  const b = Buffer.alloc(GUESTLIB_V2_SIZE);
  header(2, o.sessionId).copy(b, 0);
  let at = GUESTLIB_HEADER_SIZE;
  for (const stat of GuestLibStat.slice(0, GUESTLIB_V2_STATS)) {
    const given = o.stats[stat.name];
    if (given !== undefined) {
      const v = checkGuestLibValue(stat, given);
      b[at] = 1;
      if (stat.type === 'u32') b.writeUInt32LE(v as number, at + 4);
      else if (stat.type === 'u64') b.writeBigUInt64LE(v as bigint, at + 4);
      else Buffer.from(v as string, 'utf8').copy(b, at + 1);
    }
    at += V2_SIZES[stat.type];
  }
  return b;
}

/** Decodes a V2 reply; its length must be the struct's exactly, as libguestlib demands. */
export function decodeGuestLibV2(reply: Uint8Array): GuestLibReply {
  const { version, sessionId } = decodeGuestLibHeader(reply);
  if (version !== 2) throw new GuestLibWireError(`a V2 reply says version ${version}`, 0);
  if (reply.length !== GUESTLIB_V2_SIZE)
    throw new GuestLibWireError(`a V2 reply is ${GUESTLIB_V2_SIZE} bytes, got ${reply.length}`, 0);
  const b = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  const stats: GuestLibStats = {};
  let at = GUESTLIB_HEADER_SIZE;
  for (const stat of GuestLibStat.slice(0, GUESTLIB_V2_STATS)) {
    // The valid flag is a C Bool: any non-zero byte.
    if (b[at] !== 0) {
      if (stat.type === 'u32') stats[stat.name] = b.readUInt32LE(at + 4);
      else if (stat.type === 'u64') stats[stat.name] = b.readBigUInt64LE(at + 4);
      else {
        // libguestlib NUL-terminates the 512-byte field itself, so at most 511 bytes count.
        const field = b.subarray(at + 1, at + GUESTLIB_STRING_MAX);
        const nul = field.indexOf(0);
        stats[stat.name] = field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
      }
    }
    at += V2_SIZES[stat.type];
  }
  return { version: 2, sessionId, stats, statCount: GUESTLIB_V2_STATS };
}
