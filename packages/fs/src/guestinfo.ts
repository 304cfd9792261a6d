/**
 * `guestinfo/`: one file per `guestinfo.KEY` variable, like Plan 9's /env (docs/protocol/tree.md
 * §13). Reading fetches the value at offset 0 (a per-fid snapshot); writes are buffered per fid
 * and set at clunk (one trailing newline dropped, so `echo v > KEY` sets `v`); create makes a
 * local entry; remove sets the value empty (VMware has no delete) and forgets it. VMware offers
 * no key enumeration, so the listing holds the keys this tree knows; walking to an unknown name
 * asks the host and finds it when its value is not empty.
 */
import { MAX_GUEST_MESSAGE } from '@vmw9/backdoor';
import { guestinfoGet, guestinfoSet, type RpcSender } from '@vmw9/rpc';
import {
  CommandError,
  CommandTable,
  canWrite,
  Dir,
  Errno,
  type FidContext,
  File,
  type Node,
  type OpenMode,
  p9err,
  readBuf,
} from 'ninep';
import { badArg, hostError, notFound, tooLarge } from './errors.js';
import type { Counters } from './stats.js';

/** A 9P name that can be a guestinfo key: no slash, NUL, blanks or control characters. */
export function checkKeyName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\0\s\x00-\x1f\x7f]/.test(name)) {
    throw badArg(
      `bad guestinfo key name ${JSON.stringify(name)}: no slash, NUL, blanks or control characters`,
    );
  }
}

interface KeyFid {
  snapshot?: Buffer;
  parts?: Buffer[];
  size: number;
  dirty: boolean;
}

export class GuestinfoFile extends File {
  /** The value as last read or written (for stat's length). */
  cached: Buffer | undefined;
  /** Just created here: the host learns the key at the creating fid's clunk, even if empty. */
  fresh = false;

  constructor(
    name: string,
    private readonly rpc: RpcSender,
    private readonly counters: Counters,
  ) {
    super(name, 0o664);
  }

  get key(): string {
    return `guestinfo.${this.name}`;
  }

  override get length(): number {
    return this.cached?.length ?? 0;
  }

  override open(fid: FidContext, mode: OpenMode): void {
    fid.aux = {
      size: 0,
      dirty: mode.truncate || this.fresh,
      ...(canWrite(mode) ? { parts: [] } : {}),
    } satisfies KeyFid;
    this.fresh = false;
  }

  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    const a = fid.aux as KeyFid;
    if (offset === 0 || !a.snapshot) {
      let v: string | null;
      try {
        this.counters.add('rpciRequests');
        v = await guestinfoGet(this.rpc, this.key);
      } catch (e) {
        this.counters.add('rpciErrors');
        throw hostError(e);
      }
      if (v === null) throw notFound();
      a.snapshot = Buffer.from(v);
      this.cached = a.snapshot;
    }
    return readBuf(a.snapshot, offset, count);
  }

  override write(fid: FidContext, _offset: number, data: Uint8Array): number {
    const a = fid.aux as KeyFid;
    if (!a.parts) throw p9err(Errno.EBADF, 'not open for writing');
    if (Buffer.from(data).includes(0)) throw badArg('a guestinfo value cannot contain NUL');
    // The whole `info-set KEY VALUE` request must fit one guest→host message.
    if (a.size + data.length + this.key.length + 10 > MAX_GUEST_MESSAGE)
      throw tooLarge('value too long for the host (64 KiB per message)');
    a.parts.push(Buffer.from(data));
    a.size += data.length;
    a.dirty = true;
    return data.length;
  }

  override setattr(changes: { length?: number }, fid: FidContext): void {
    // `>` redirection truncates with Twstat/Tsetattr length 0: the value is replaced at clunk.
    if (changes.length === 0) {
      const a = fid.aux as KeyFid | undefined;
      if (a?.parts) {
        a.parts = [];
        a.size = 0;
        a.dirty = true;
      }
      return;
    }
    super.setattr(changes, fid);
  }

  override async clunk(fid: FidContext): Promise<void> {
    const a = fid.aux as KeyFid | undefined;
    if (!a?.dirty) return;
    // A created key is set even when nothing was written (`touch` opens it for reading only).
    const value = Buffer.concat(a.parts ?? [])
      .toString('utf8')
      .replace(/\n$/, '');
    a.dirty = false;
    await this.set(value);
  }

  async set(value: string): Promise<void> {
    try {
      this.counters.add('rpciRequests');
      await guestinfoSet(this.rpc, this.key, value);
      this.cached = Buffer.from(value);
      this.touch();
    } catch (e) {
      this.counters.add('rpciErrors');
      throw hostError(e);
    }
  }
}

export class GuestinfoDir extends Dir {
  constructor(
    private readonly rpc: RpcSender,
    private readonly counters: Counters,
  ) {
    super('guestinfo', 0o775);
    this.add(new GuestinfoCtlFile(this));
  }

  /** Stops listing a key (the host keeps its value). */
  forget(name: string): void {
    const n = this.children.get(name);
    if (!(n instanceof GuestinfoFile)) throw new CommandError('no such key');
    this.detach(n);
  }

  /** Drops every cached value, so stat lengths come from the host again. */
  forgetValues(): void {
    for (const n of this.children.values()) if (n instanceof GuestinfoFile) n.cached = undefined;
  }

  /** Declares keys known in advance (configuration), so they are listed. */
  declare(names: string[]): void {
    for (const n of names) {
      checkKeyName(n);
      if (!this.children.has(n)) this.add(new GuestinfoFile(n, this.rpc, this.counters));
    }
  }

  override async lookup(name: string): Promise<Node | undefined> {
    const known = this.children.get(name);
    if (known) return known;
    try {
      checkKeyName(name);
    } catch {
      return undefined;
    }
    let v: string | null;
    try {
      v = await guestinfoGet(this.rpc, `guestinfo.${name}`);
    } catch {
      return undefined;
    }
    // VMware cannot delete a variable, so removing one here sets it empty: an empty value is how a
    // removed key looks, and a walk does not bring it back. (Keys created or declared here stay
    // listed even when empty.)
    if (v === null || v === '') return undefined;
    const f = this.add(new GuestinfoFile(name, this.rpc, this.counters));
    f.cached = Buffer.from(v);
    return f;
  }

  override create(name: string, perm: number): Node {
    if (perm & 0x80000000) throw p9err(Errno.EPERM, 'guestinfo holds no directories');
    checkKeyName(name);
    if (this.children.has(name)) throw p9err(Errno.EEXIST);
    const f = this.add(new GuestinfoFile(name, this.rpc, this.counters));
    f.fresh = true;
    this.touch();
    return f;
  }

  override async remove(child: Node): Promise<void> {
    if (!(child instanceof GuestinfoFile)) throw p9err(Errno.EPERM, 'remove prohibited');
    await child.set('');
    this.detach(child);
  }
}

/** `guestinfo/ctl`: `forget KEY` (stop listing it), `refresh` (forget cached values). */
class GuestinfoCtlFile extends File {
  private readonly commands = new CommandTable<void>([
    { name: 'forget', args: 1, run: ([key]) => this.dir.forget(key!) },
    { name: 'refresh', args: 0, run: () => this.dir.forgetValues() },
  ]);

  constructor(private readonly dir: GuestinfoDir) {
    super('ctl', 0o220);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLines(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }
}
