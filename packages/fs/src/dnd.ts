/**
 * `dnd/`: drag and drop with the host (docs/protocol/tree.md §18), over what the agent's `dnd`
 * service gives the tree (`DndTreeSource`). `events` streams a record per drop and offer, `status`
 * says what a transfer has done, `offer` takes the guest's paths for the host to take, `ctl`
 * switches and cancels. The tree knows nothing of the protocol: the service does it.
 */
import { isAbsolute } from 'node:path';
import {
  CtlFile,
  canWrite,
  Dir,
  type EofMode,
  Errno,
  EventFile,
  type FidContext,
  File,
  type OpenMode,
  p9err,
  readBuf,
  type User,
} from 'ninep';
import { hostError } from './errors.js';
import { TextFile } from './text.js';

/** A record of dnd/events, typed; `dndEventLine` writes it. */
export type DndTreeEvent =
  /** The host began a drag into the guest: ITEMS top-level names, BYTES announced in all. */
  | { type: 'begin'; id: number; items: number; bytes: number }
  /** A drop is whole in `path`: FILES regular files, BYTES in all. */
  | { type: 'drop'; id: number; files: number; bytes: number; path: string }
  /** A drop failed or was cancelled; nothing of it is kept. */
  | { type: 'failed'; id: number; reason: string }
  /** The guest offers files to the host (dnd/offer committed). */
  | { type: 'offer'; id: number; files: number; bytes: number }
  /** The host took the offer (its drop). */
  | { type: 'taken'; id: number }
  /** The host's drag of the offer ended without taking it; the offer is used up. */
  | { type: 'cancelled'; id: number; reason: string }
  /** The offer was withdrawn (dnd/ctl withdraw, an empty commit, a new offer, dnd off). */
  | { type: 'withdrawn'; id: number };

/** What dnd/status shows. */
export type DndTreeStatus =
  | { kind: 'idle' }
  | {
      kind: 'receiving';
      id: number;
      /** Files the host finished writing; `total` when known (a folder's contents are not announced). */
      files: { done: number; total?: number };
      bytes: { done: number; total: number };
    }
  | { kind: 'offering'; id: number; files: number; bytes: number };

/** The current offer, as dnd/offer reads. */
export interface DndTreeOffer {
  id: number;
  files: number;
  bytes: number;
  paths: readonly string[];
}

/** What dnd/ctl reads. */
export interface DndTreeSettings {
  /** `dnd on|off`: the guest's own switch (ctl on/off). */
  enabled: boolean;
  /** The protocol state, one word (`ready`, `receiving`, `off` when the host has not enabled it…). */
  state: string;
  /** The staging root drops land under. */
  staging: string;
}

/** The agent's drag and drop, as the tree uses it. */
export interface DndTreeSource {
  subscribe(listener: (e: DndTreeEvent) => void): () => void;
  status(): DndTreeStatus;
  settings(): DndTreeSettings;
  /** The current offer, if any. */
  offered(): DndTreeOffer | undefined;
  /**
   * Whether `user` (the 9P user who wrote dnd/offer) may offer a path: resolves, or rejects saying
   * why (a missing path; EACCES, a path that user may not read).
   */
  checkPath(path: string, user: User): Promise<void>;
  /** Offers these absolute paths for `user` (replacing any offer), checked again; the new offer. */
  offer(paths: readonly string[], user: User): Promise<DndTreeOffer>;
  withdraw(): void;
  /** Cancels the transfer in progress, whichever way it goes. */
  cancel(): void;
  setEnabled(on: boolean): void | Promise<void>;
}

/**
 * Plan 9's quoting (quote(2)): a word with a blank, a control character or a quote, or an empty
 * one, goes in single quotes with its quotes doubled; any other is left as it is.
 */
export function plan9Quote(s: string): string {
  if (s !== '' && !/[\x00-\x20'\x7f]/.test(s)) return s;
  return `'${s.replaceAll("'", "''")}'`;
}

/** A reason on one line: whatever the protocol said, it never breaks the record. */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim() || 'unknown';

/** The dnd/events line for a record (without the newline). */
export function dndEventLine(e: DndTreeEvent): string {
  switch (e.type) {
    case 'begin':
      return `begin ${e.id} ${e.items} ${e.bytes}`;
    case 'drop':
      return `drop ${e.id} ${e.files} ${e.bytes} ${plan9Quote(e.path)}`;
    case 'failed':
      return `failed ${e.id} ${oneLine(e.reason)}`;
    case 'offer':
      return `offer ${e.id} ${e.files} ${e.bytes}`;
    case 'taken':
      return `taken ${e.id}`;
    case 'cancelled':
      return `cancelled ${e.id} ${oneLine(e.reason)}`;
    case 'withdrawn':
      return `withdrawn ${e.id}`;
  }
}

/** dnd/status's one line (without the newline). */
export function dndStatusLine(s: DndTreeStatus): string {
  switch (s.kind) {
    case 'idle':
      return 'idle';
    case 'receiving':
      return `receiving ${s.id} files ${s.files.done}/${s.files.total ?? '?'} bytes ${s.bytes.done}/${s.bytes.total}`;
    case 'offering':
      return `offering ${s.id} files ${s.files} bytes ${s.bytes}`;
  }
}

/** The inverse of plan9Quote for one word (a quoted word loses its quotes, '' becomes '). */
export function plan9Unquote(s: string): string {
  if (!s.startsWith("'")) return s;
  if (s.length < 2 || !s.endsWith("'")) throw new SyntaxError(`unbalanced quote in ${JSON.stringify(s)}`);
  return s.slice(1, -1).replaceAll("''", "'");
}

const int = (w: string | undefined) => (w !== undefined && /^\d+$/.test(w) ? Number(w) : Number.NaN);

/** A dnd/events line read back (for clients: `vmw9 dnd watch`); null for a line it does not know. */
export function parseDndEventLine(line: string): DndTreeEvent | null {
  const text = line.replace(/\n$/, '');
  const m = /^(\w+) (\d+)(?: (.*))?$/.exec(text);
  if (!m) return null;
  const [, type, idText, rest = ''] = m as unknown as [string, string, string, string?];
  const id = Number(idText);
  const f = rest.split(' ');
  switch (type) {
    case 'begin': {
      const [items, bytes] = [int(f[0]), int(f[1])];
      return f.length === 2 && items >= 0 && bytes >= 0 ? { type, id, items, bytes } : null;
    }
    case 'drop': {
      const d = /^(\d+) (\d+) (.+)$/.exec(rest);
      if (!d) return null;
      try {
        return { type, id, files: Number(d[1]), bytes: Number(d[2]), path: plan9Unquote(d[3]!) };
      } catch {
        return null;
      }
    }
    case 'offer': {
      const [files, bytes] = [int(f[0]), int(f[1])];
      return f.length === 2 && files >= 0 && bytes >= 0 ? { type, id, files, bytes } : null;
    }
    case 'failed':
    case 'cancelled':
      return { type, id, reason: rest };
    case 'taken':
    case 'withdrawn':
      return rest === '' ? { type, id } : null;
    default:
      return null;
  }
}

/** dnd/status read back; null for a line it does not know. */
export function parseDndStatusLine(line: string): DndTreeStatus | null {
  const text = line.trim();
  if (text === 'idle') return { kind: 'idle' };
  const r = /^receiving (\d+) files (\d+)\/(\d+|\?) bytes (\d+)\/(\d+)$/.exec(text);
  if (r)
    return {
      kind: 'receiving',
      id: Number(r[1]),
      files: { done: Number(r[2]), ...(r[3] === '?' ? {} : { total: Number(r[3]) }) },
      bytes: { done: Number(r[4]), total: Number(r[5]) },
    };
  const o = /^offering (\d+) files (\d+) bytes (\d+)$/.exec(text);
  if (o) return { kind: 'offering', id: Number(o[1]), files: Number(o[2]), bytes: Number(o[3]) };
  return null;
}

/** The most a dnd/offer fid buffers: paths, one per line (PATH_MAX is 4096). */
export const OFFER_MAX_BYTES = 1 << 20;

interface OfferFid {
  snapshot?: Uint8Array;
  /** Open for writing: the complete lines checked so far, and the unfinished last one. */
  paths?: string[];
  partial?: string;
  size: number;
  /** A write failed: the fid's offer is abandoned. */
  failed?: boolean;
  /** A read committed the fid's paths: reads give that offer, the clunk commits nothing. */
  committed?: boolean;
}

/**
 * dnd/offer: writes are absolute guest paths, one per line, each checked as its line completes
 * (a missing path fails that write, and the fid's offer is abandoned); the offer is made at the
 * clunk, whose error is the commit's; or, open ORDWR, at the first read after writes, whose error
 * is the commit's and whose data is that offer (the clunk then commits nothing). An empty commit
 * withdraws the current offer. A read at offset 0 otherwise takes the current offer: `offer ID
 * FILES BYTES`, then its paths, one per line.
 */
export class DndOfferFile extends File {
  constructor(private readonly dnd: DndTreeSource) {
    super('offer', 0o666);
  }

  override open(fid: FidContext, mode: OpenMode): void {
    fid.aux = { size: 0, ...(canWrite(mode) ? { paths: [], partial: '' } : {}) } satisfies OfferFid;
  }

  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    const a = fid.aux as OfferFid;
    // Open ORDWR and written to: this read is the commit, and gives that offer (its own id, whatever
    // other clients commit meanwhile); the clunk then commits nothing more.
    if (a.paths && a.size > 0) {
      const o = await this.commit(fid).catch((e: Error) => {
        a.failed = true;
        throw e;
      });
      a.committed = true;
      a.snapshot = Buffer.from(o ? offerText(o) : '');
    } else if (a.failed && a.size > 0)
      throw p9err(Errno.EBADF, 'an earlier write failed; reopen to offer again');
    if (!a.committed && (offset === 0 || !a.snapshot)) {
      const o = this.dnd.offered();
      a.snapshot = Buffer.from(o ? offerText(o) : '');
    }
    return readBuf(a.snapshot ?? Buffer.alloc(0), offset, count);
  }

  override async write(fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    const a = fid.aux as OfferFid;
    if (!a.paths)
      throw p9err(
        Errno.EBADF,
        a.failed ? 'an earlier write failed; reopen to offer again' : 'not open for writing',
      );
    const fail = (e: Error) => {
      a.paths = undefined;
      a.failed = true;
      return e;
    };
    if (a.size + data.length > OFFER_MAX_BYTES)
      throw fail(p9err(Errno.EFBIG, `dnd/offer: at most ${OFFER_MAX_BYTES} bytes of paths`));
    a.size += data.length;
    const lines = (a.partial + Buffer.from(data).toString('utf8')).split('\n');
    a.partial = lines.pop()!;
    for (const line of lines) {
      try {
        const p = await this.check(line, fid.user);
        if (p !== null) a.paths.push(p);
      } catch (e) {
        throw fail(e as Error);
      }
    }
    return data.length;
  }

  /** One line: blank (skipped), or an absolute path that exists and `user` may offer. */
  private async check(line: string, user: User): Promise<string | null> {
    if (line.trim() === '') return null;
    if (!isAbsolute(line)) throw p9err(Errno.EINVAL, `dnd/offer: not an absolute path: ${line}`);
    try {
      await this.dnd.checkPath(line, user);
    } catch (e) {
      throw pathError(e as Error, line) ?? p9err(Errno.EINVAL, `dnd/offer: ${line}: ${(e as Error).message}`);
    }
    return line;
  }

  override async clunk(fid: FidContext): Promise<void> {
    const a = fid.aux as OfferFid | undefined;
    if (!a?.paths) return;
    await this.commit(fid);
  }

  /** The fid's paths offered (or, none, the offer withdrawn): the offer made, if any. */
  private async commit(fid: FidContext): Promise<DndTreeOffer | undefined> {
    const a = fid.aux as OfferFid;
    const paths = a.paths!;
    a.paths = undefined;
    const last = await this.check(a.partial ?? '', fid.user);
    if (last !== null) paths.push(last);
    if (paths.length === 0) {
      this.dnd.withdraw();
      return undefined;
    }
    try {
      return await this.dnd.offer(paths, fid.user);
    } catch (e) {
      // A path gone or refused since its write: said as the write would have said it.
      throw pathError(e as Error) ?? hostError(e);
    }
  }
}

/** What a read of dnd/offer gives for an offer: `offer ID FILES BYTES`, then its paths. */
function offerText(o: DndTreeOffer): string {
  return `offer ${o.id} ${o.files} ${o.bytes}\n${o.paths.map((p) => `${p}\n`).join('')}`;
}

/**
 * A path's error as dnd/offer says it: ENOENT for a missing one, EACCES for one the writer may not
 * read (the message names the path refused); undefined for any other error.
 */
function pathError(e: Error, line?: string): Error | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  const errno =
    code === 'ENOENT' || code === 'ENOTDIR' ? Errno.ENOENT : code === 'EACCES' ? Errno.EACCES : undefined;
  if (errno === undefined) return undefined;
  const named = line === undefined || e.message.startsWith(line) ? e.message : `${line}: ${e.message}`;
  return p9err(errno, `dnd/offer: ${named}`);
}

/** dnd/ctl: `cancel`, `on`, `off`, `withdraw`; a read shows the switch, the state and the staging root. */
export class DndCtlFile extends CtlFile {
  constructor(dnd: DndTreeSource) {
    super(
      'ctl',
      [
        { name: 'cancel', args: 0, run: () => dnd.cancel() },
        { name: 'withdraw', args: 0, run: () => dnd.withdraw() },
        { name: 'on', args: 0, run: () => dnd.setEnabled(true) },
        { name: 'off', args: 0, run: () => dnd.setEnabled(false) },
      ],
      () => {
        const s = dnd.settings();
        return `dnd ${s.enabled ? 'on' : 'off'}\nstate ${s.state}\nstaging ${plan9Quote(s.staging)}\n`;
      },
      0o664,
    );
  }
}

/** `dnd/`, and what its records also post to the tree's `events` (each prefixed `dnd `). */
export class DndDir extends Dir {
  readonly events: EventFile;
  private readonly unsubscribe: () => void;

  constructor(dnd: DndTreeSource, eofmode: EofMode, onRecord?: (line: string) => void) {
    super('dnd', 0o555);
    this.events = new EventFile('events', 0o444, undefined, eofmode);
    this.add(this.events);
    // A status file (§1): the line is produced at a read at offset 0.
    this.add(new TextFile('status', () => `${dndStatusLine(dnd.status())}\n`));
    this.add(new DndOfferFile(dnd));
    this.add(new DndCtlFile(dnd));
    this.unsubscribe = dnd.subscribe((e) => {
      const line = dndEventLine(e);
      this.events.post(`${line}\n`);
      onRecord?.(line);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
