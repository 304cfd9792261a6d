/**
 * A host that misbehaves with the guest's HGFS server, for tests of a guest's defences
 * (docs/protocol/dndcp.md, "Host side", Hostile host): writes aimed outside the staging
 * directory and malformed request packets. Each step is sent as a real host would send a
 * request, and what the guest answered is recorded, never assumed.
 */
import {
  decodeReply,
  encodeCPName,
  encodeRequest,
  fileName,
  HgfsLockType,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  HgfsStatus,
  HgfsStatusError,
  permsFromMode,
} from '@vmw9/hgfs';
import type { GuestHgfsSession, HgfsRequestRecord } from './transport.js';

/**
 * How a write leaves the staging directory: a `..` component after it, an absolute guest path
 * elsewhere, or a symlink the host creates in it (CREATE_SYMLINK_V3) pointing out, then written through.
 */
export type OutsideHow = 'dotdot' | 'absolute' | 'symlink';

export const OUTSIDE_HOWS: readonly OutsideHow[] = ['dotdot', 'absolute', 'symlink'];

export interface OutsideOptions {
  /** The file's name (default `vmw9-escape.txt`). */
  name?: string;
  /** 'absolute': the guest directory written into (components under the share, default ['tmp']). */
  dir?: readonly string[];
  /** 'symlink': the link's name in the staging directory and its target (default `vmw9-link-out` → `/tmp`). */
  link?: string;
  target?: string;
  /** The bytes written when an open succeeds. */
  data?: Uint8Array;
}

/** One attempt to write outside the staging directory. */
export interface OutsideAttempt {
  how: OutsideHow;
  /** The name sent, `/`-joined (share first). */
  path: string;
  /** The requests of the attempt, as sent (CREATE_SYMLINK, OPEN and, when the open succeeded, WRITE and CLOSE). */
  requests: HgfsRequestRecord[];
  /** The guest let the file be created: the OPEN succeeded. */
  escaped: boolean;
}

const DEFAULT_DATA = new TextEncoder().encode('written from outside the staging directory\n');

/** Tries to create and write one file outside `staging` (components, share first). */
export async function writeOutside(
  s: GuestHgfsSession,
  staging: readonly string[],
  how: OutsideHow,
  o: OutsideOptions = {},
): Promise<OutsideAttempt> {
  const name = o.name ?? 'vmw9-escape.txt';
  const from = s.requests.length;
  await s.client.connect();
  let path: string[];
  if (how === 'symlink') {
    const link = [...staging, o.link ?? 'vmw9-link-out'];
    await s.client.symlink(link, o.target ?? '/tmp').catch(ignoreStatus);
    path = [...link, name];
  } else if (how === 'absolute') path = [staging[0] ?? 'root', ...(o.dir ?? ['tmp']), name];
  else path = [...staging, '..', name];
  const handle = how === 'dotdot' ? await openDotDot(s, path) : await openForWrite(s, path);
  if (handle !== undefined) {
    await s.client.write(handle, 0n, o.data ?? DEFAULT_DATA).catch(ignoreStatus);
    await s.client.close(handle).catch(ignoreStatus);
  }
  return { how, path: path.join('/'), requests: s.requests.slice(from), escaped: handle !== undefined };
}

function ignoreStatus(e: unknown): void {
  if (!(e instanceof HgfsStatusError)) throw e;
}

async function openForWrite(s: GuestHgfsSession, path: string[]): Promise<number | undefined> {
  try {
    return await s.client.open(path, {
      mode: HgfsOpenMode.WRITE_ONLY,
      flags: HgfsOpenFlags.OPEN_CREATE_EMPTY,
      permissions: 0o644,
    });
  } catch (e) {
    ignoreStatus(e);
    return undefined;
  }
}

/**
 * OPEN_V3 of a name with a `..` component: encoded with a stand-in of the same byte length,
 * then patched inside the CPName, so every length field stays right.
 */
async function openDotDot(s: GuestHgfsSession, path: readonly string[]): Promise<number | undefined> {
  // The codec refuses to encode `..`: a two-byte stand-in takes its place, then is overwritten.
  const standIn = path.map((c) => (c === '..' ? 'zz' : c));
  const requestId = 0x7e570000 + s.requests.length;
  const packet = encodeRequest(openRequest(standIn), {
    framing: 'v4',
    requestId,
    sessionId: s.client.sessionId ?? 0n,
  });
  const cp = encodeCPName(standIn);
  const at = Buffer.from(packet).indexOf(Buffer.from(cp));
  if (at < 0) throw new Error('the stand-in name was not found in the OPEN_V3 packet');
  let off = at;
  for (const [i, c] of path.entries()) {
    if (c === '..') packet.set([0x2e, 0x2e], off);
    off += Buffer.byteLength(standIn[i]!) + 1;
  }
  const { reply } = await s.sendRaw(packet);
  if (reply.length === 0) return undefined;
  const d = decodeReply(reply, { framing: 'v4', requestId, op: HgfsOp.OPEN_V3 });
  return d.status === HgfsStatus.SUCCESS && d.reply ? d.reply.file : undefined;
}

function openRequest(path: readonly string[]) {
  return {
    op: HgfsOp.OPEN_V3,
    mask:
      HgfsOpenValid.MODE |
      HgfsOpenValid.FLAGS |
      HgfsOpenValid.FILE_NAME |
      HgfsOpenValid.SERVER_LOCK |
      HgfsOpenValid.SPECIAL_PERMS |
      HgfsOpenValid.OWNER_PERMS |
      HgfsOpenValid.GROUP_PERMS |
      HgfsOpenValid.OTHER_PERMS,
    mode: HgfsOpenMode.WRITE_ONLY,
    flags: HgfsOpenFlags.OPEN_CREATE_EMPTY,
    ...permsFromMode(0o644),
    attr: 0n,
    allocationSize: 0n,
    desiredAccess: 0,
    shareAccess: 0,
    desiredLock: HgfsLockType.NONE,
    fileName: fileName(path),
  } as const;
}

/**
 * Malformed request packets: `short` (20 bytes, less than a header), `size` (a V4 header whose
 * packetSize claims more than was sent), `name` (an OPEN_V3 whose name length runs past the packet).
 */
export type MalformedKind = 'short' | 'size' | 'name';

export const MALFORMED_KINDS: readonly MalformedKind[] = ['short', 'size', 'name'];

/** The bytes of one malformed request, in the session `sessionId`. */
export function malformedPacket(kind: MalformedKind, sessionId: bigint): Uint8Array {
  const open = encodeRequest(openRequest(['root', 'tmp', 'vmw9-malformed']), {
    framing: 'v4',
    requestId: 0x7e57ffff,
    sessionId,
  });
  const b = Buffer.from(open);
  if (kind === 'short') return b.subarray(0, 20);
  if (kind === 'size') {
    b.writeUInt32LE(b.length + 4096, 8);
    return b;
  }
  // The HgfsFileNameV3 length is the body's u32 right before the name: find it by the name's bytes.
  const cp = Buffer.from(encodeCPName(['root', 'tmp', 'vmw9-malformed']));
  const at = b.indexOf(cp);
  b.writeUInt32LE(0x10000, at - 16);
  return b;
}

/** Sends one malformed request; the record says what the guest answered (usually nothing). */
export async function sendMalformed(s: GuestHgfsSession, kind: MalformedKind): Promise<HgfsRequestRecord> {
  await s.client.connect();
  return (await s.sendRaw(malformedPacket(kind, s.client.sessionId ?? 0n))).record;
}
