/**
 * Whole transfers with the guest's HGFS server (the console's `ft put` / `ft get`, and the
 * drag-and-drop controller's file stage): one session, the tree moved, the session destroyed,
 * and an outcome record a test or a benchmark can read (docs/protocol/hgfs.md, "The host as client of the guest's server").
 */
import { HgfsStatusError } from '@vmw9/hgfs';
import type { GuestHgfs, GuestHgfsSession, HgfsRequestRecord, OpenSessionOptions } from './transport.js';
import { type GetOptions, getTree, type LocalTree, type PutOptions, putTree, scanLocal } from './tree.js';

/** What one transfer did. */
export interface HgfsTransferOutcome {
  direction: 'put' | 'get';
  result: 'done' | 'failed' | 'stopped';
  /** Why it failed: the first error, with the HGFS op and status when the guest refused a request. */
  error?: string;
  /** The refusing request's op and status (HgfsStatusError), when that is what failed. */
  refused?: { op: string; status: string };
  /** The guest app whose server was used. */
  app: string;
  /** The packet size the session negotiated. */
  packetSize: number;
  files: number;
  dirs: number;
  /** File data bytes moved. */
  bytes: number;
  /** Items left out: local symlinks and special files (put), guest symlinks (get). */
  skipped: string[];
  /** Backdoor calls the host served during the transfer (every guest call, all channels). */
  backdoorCalls: number;
  /** TCLO `f ` requests sent, each with its status. */
  requests: HgfsRequestRecord[];
  /** Requests per status name. */
  statuses: Record<string, number>;
  /** Wall time (informational; tests never compare it). */
  ms: number;
}

export interface TransferOptions extends OpenSessionOptions {
  /** Backdoor calls served so far (the host's call log total). */
  calls?: () => number;
  onProgress?: PutOptions['onProgress'];
}

/** Splits an absolute guest path into components under the guest's `root` share: `/tmp/a` → root, tmp, a. */
export function guestPath(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`${JSON.stringify(path)} is not an absolute guest path`);
  return ['root', ...path.split('/').filter((c) => c !== '')];
}

/** The guest path a name under the `root` share stands for, for display: root, tmp, a → /tmp/a. */
export function shownGuestPath(components: readonly string[]): string {
  if (components[0] === 'root') return `/${components.slice(1).join('/')}`;
  return components.join('/');
}

/** The components of a CPName (`root\0tmp\0VMwareDnD\0ab12Cd`): split at NULs, empty ones dropped. */
export function cpNameComponents(cp: Uint8Array): string[] {
  return Buffer.from(cp)
    .toString('utf8')
    .split('\0')
    .filter((c) => c !== '');
}

/** Writes local files and folders into the guest directory `dest` (components, share first). */
export async function putFiles(
  hgfs: GuestHgfs,
  sources: readonly string[] | LocalTree,
  dest: readonly string[],
  o: TransferOptions & Omit<PutOptions, 'onProgress'> = {},
): Promise<HgfsTransferOutcome> {
  const tree = Array.isArray(sources) ? scanLocal(sources) : (sources as LocalTree);
  const s = hgfs.open(o);
  return run('put', s, o, async () => {
    const r = await putTree(s, tree, dest, o);
    return { ...r, skipped: tree.skipped };
  });
}

/** Reads guest files and folders (each given as components, share first) into the local directory `dir`. */
export async function getFiles(
  hgfs: GuestHgfs,
  paths: ReadonlyArray<readonly string[]>,
  dir: string,
  o: TransferOptions & GetOptions = {},
): Promise<HgfsTransferOutcome> {
  const s = hgfs.open(o);
  return run('get', s, o, () => getTree(s, paths, dir, o));
}

/**
 * One session around `body`: the session is destroyed at the end unless the host stopped
 * midway (a host that stops says nothing more).
 */
export async function run(
  direction: 'put' | 'get',
  s: GuestHgfsSession,
  o: TransferOptions,
  body: () => Promise<{
    result: HgfsTransferOutcome['result'];
    files: number;
    dirs: number;
    bytes: number;
    skipped: string[];
    error?: Error;
  }>,
): Promise<HgfsTransferOutcome> {
  const calls = o.calls ?? (() => 0);
  const c0 = calls();
  const t0 = Date.now();
  const r = await body();
  if (r.result !== 'stopped') await s.close();
  const out: HgfsTransferOutcome = {
    direction,
    result: r.result,
    app: s.app,
    packetSize: s.client.maxPacketSize,
    files: r.files,
    dirs: r.dirs,
    bytes: r.bytes,
    skipped: r.skipped,
    backdoorCalls: calls() - c0,
    requests: s.requests,
    statuses: s.statuses(),
    ms: Date.now() - t0,
  };
  if (r.error) {
    out.error = r.error.message;
    if (r.error instanceof HgfsStatusError) out.refused = { op: r.error.opName, status: r.error.statusName };
  }
  return out;
}

/** One line for the console: what moved, and how. */
export function describeTransfer(o: HgfsTransferOutcome): string {
  const what = `${o.files} file${o.files === 1 ? '' : 's'}, ${o.dirs} folder${o.dirs === 1 ? '' : 's'}, ${o.bytes} bytes`;
  const how = `${o.requests.length} HGFS requests to ${o.app} (packets up to ${o.packetSize} bytes), ${o.backdoorCalls} backdoor calls`;
  const skipped = o.skipped.length
    ? `; skipped ${o.skipped.length} (${o.skipped.slice(0, 3).join(', ')})`
    : '';
  if (o.result === 'done') return `${what}; ${how}${skipped}`;
  if (o.result === 'stopped') return `stopped on purpose after ${what}; ${how}`;
  return `failed after ${what}: ${o.error ?? 'unknown error'}; ${how}`;
}
