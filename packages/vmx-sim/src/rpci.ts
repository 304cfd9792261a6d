/**
 * The host side of RPCI: guest→host requests, answered synchronously with `1 …` or `0 …`
 * (docs/protocol/guestrpc.md §2, §13). Parsing follows what real guests send: one optional trailing NUL
 * (vmtoolsd sends strlen+1), the command up to the first space, the rest raw (SetGuestInfo may be
 * binary). Anything unknown is `0 Unknown command`, the exact text VMGuestLib compares against
 * (tclodefs.h RPCI_UNKNOWN_COMMAND).
 */
import { EventEmitter } from 'node:events';
import {
  CAPABILITY_PREFIX,
  GUESTINFO_TYPES,
  type GuestInfoTypeName,
  guestInfoTypeName,
  RPCI_FAILURE,
  RPCI_SUCCESS,
  RPCI_UNKNOWN_COMMAND,
} from '@vmw9/backdoor';
import { CP_TRANSPORT, DND_TRANSPORT } from '@vmw9/dndcp';

export interface RpciRecord {
  /** The command word, e.g. `info-set`. */
  command: string;
  /** The raw request as received (without the trailing NUL). */
  request: Buffer;
  reply: Buffer;
}

/** SetGuestInfo type names by id: @vmw9/backdoor's table turned around, kept for existing callers. */
export const GuestInfoType: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(GUESTINFO_TYPES).map(([name, id]) => [id, name])),
);

/** The SetGuestInfo types whose value is text with a trailing NUL; the others are binary, kept byte for byte. */
const TEXT_GUESTINFO = new Set<GuestInfoTypeName>([
  'DNS_NAME',
  'BUILD_NUMBER',
  'OS_NAME_FULL',
  'OS_NAME',
  'UPTIME',
]);

/**
 * Commands whose request is binary: kept byte for byte, no trailing NUL removed. The DnD/CP
 * transports carry a packet whose last header field is often 0 (docs/protocol/dndcp.md §2.1).
 */
const BINARY_COMMANDS = new Set(['SetGuestInfo', 'f', CP_TRANSPORT, DND_TRANSPORT]);

/** The RPCI history keeps at most this many records and this many request+reply bytes. */
const HISTORY_RECORDS = 10_000;
const HISTORY_BYTES = 32 * 1024 * 1024;

export type RpciHandler = (args: Buffer, rpci: RpciHost) => string | Buffer;

const ok = (text = ''): string => `${RPCI_SUCCESS}${text}`;
const OK = Buffer.from(RPCI_SUCCESS);
const fail = (text: string): string => `${RPCI_FAILURE}${text}`;

export class RpciHost extends EventEmitter {
  /**
   * guestinfo store: host-set (.vmx / vSphere) and guest-set keys, values kept byte for byte.
   * Keys compare case-insensitively.
   */
  readonly guestinfo = new Map<string, Buffer>();
  /** `log` lines, in order. */
  readonly logs: string[] = [];
  /** tools.capability.* as last set (name → value; '' for NOVAL capabilities). */
  readonly capabilities = new Map<string, string>();
  /** SetGuestInfo payloads by type name (latest wins); text types are strings. */
  readonly guestInfo = new Map<string, Buffer>();
  /** tools.os.statechange.status reports: { success, state }. */
  readonly stateChanges: Array<{ success: boolean; state: number }> = [];
  /** Unified-loop apps registered. */
  readonly unifiedLoop = new Set<string>();
  toolsVersion: { version: number; type?: number } | null = null;
  /**
   * Every request and reply, for tests. Bounded by count and by bytes (HGFS packets are up to
   * half a megabyte each), oldest dropped first.
   */
  readonly history: RpciRecord[] = [];
  private historyBytes = 0;
  private readonly handlers = new Map<string, RpciHandler>();

  constructor() {
    super();
    this.register('info-get', (a) => this.infoGet(a.toString('utf8').trim()));
    this.register('info-set', (a) => this.infoSet(a));
    this.register('log', (a) => {
      const line = a.toString('utf8');
      this.logs.push(line);
      if (this.logs.length > 10_000) this.logs.shift();
      this.emit('log', line);
      return ok();
    });
    this.register('tools.set.version', (a) => {
      const v = Number(a.toString('latin1').trim());
      if (!Number.isInteger(v)) return fail('Invalid version');
      this.toolsVersion = { version: v };
      return ok();
    });
    this.register('tools.set.versiontype', (a) => {
      const [v, t] = a.toString('latin1').trim().split(/\s+/).map(Number);
      if (!Number.isInteger(v) || !Number.isInteger(t)) return fail('Invalid version');
      this.toolsVersion = { version: v!, type: t! };
      return ok();
    });
    this.register('vmx.capability.unified_loop', (a) => {
      this.unifiedLoop.add(a.toString('latin1').trim());
      return ok();
    });
    this.register('tools.os.statechange.status', (a) => {
      const m = /^\s*([01])\s+(\d+)\s*$/.exec(a.toString('latin1'));
      if (!m) return fail('Invalid arguments');
      const rec = { success: m[1] === '1', state: Number(m[2]) };
      this.stateChanges.push(rec);
      this.emit('statechange', rec);
      return ok();
    });
    this.register('SetGuestInfo', (a) => this.setGuestInfo(a));
    this.register('SetGuestDiskInfo', (a) => {
      this.guestInfo.set('DISK_INFO_JSON', Buffer.from(a));
      return ok();
    });
  }

  /** Adds or replaces a command handler (tests and extensions). */
  register(command: string, h: RpciHandler): void {
    this.handlers.set(command, h);
  }

  /** Answers one request: the message the guest sent on an RPCI channel. */
  handle(raw: Buffer): Buffer {
    const sp0 = raw.indexOf(0x20);
    const word = (sp0 < 0 ? raw : raw.subarray(0, sp0)).toString('latin1').replace(/\0$/, '');
    // Text requests may end in one NUL (vmtoolsd sends strlen+1); binary payloads have an exact
    // length and may end in zero bytes, so their handler decides: SetGuestInfo (XDR NIC info,
    // memory structs; guestInfoServer.c sends them without a NUL), `f` (an HGFS packet after
    // "f ", hgfsBd.c) and the two DnD/CP transports.
    const binary = BINARY_COMMANDS.has(word);
    const req =
      !binary && raw.length > 0 && raw[raw.length - 1] === 0 ? raw.subarray(0, raw.length - 1) : raw;
    const sp = req.indexOf(0x20);
    const command = (sp < 0 ? req : req.subarray(0, sp)).toString('latin1');
    const args = sp < 0 ? Buffer.alloc(0) : req.subarray(sp + 1);
    let reply: string | Buffer;
    const h = this.handlers.get(command);
    if (h) reply = h(args, this);
    else if (command.startsWith(CAPABILITY_PREFIX))
      reply = this.capability(command.slice(CAPABILITY_PREFIX.length), args);
    else reply = fail(RPCI_UNKNOWN_COMMAND);
    const out = typeof reply === 'string' ? Buffer.from(reply, 'utf8') : reply;
    this.remember({ command, request: Buffer.from(req), reply: out });
    this.emit('rpci', { command, request: req, reply: out });
    return out;
  }

  private remember(r: RpciRecord): void {
    this.history.push(r);
    this.historyBytes += r.request.length + r.reply.length;
    while (
      this.history.length > HISTORY_RECORDS ||
      (this.historyBytes > HISTORY_BYTES && this.history.length > 1)
    ) {
      const old = this.history.shift()!;
      this.historyBytes -= old.request.length + old.reply.length;
    }
  }

  private findKey(key: string): string | undefined {
    // UNCONFIRMED: VMware documents guestinfo keys as case-insensitive (KB); exact rules unknown.
    const lower = key.toLowerCase();
    for (const k of this.guestinfo.keys()) if (k.toLowerCase() === lower) return k;
    return undefined;
  }

  /** A value as UTF-8 text (what the console shows and most tests compare). */
  getGuestinfo(key: string): string | undefined {
    return this.getGuestinfoBytes(key)?.toString('utf8');
  }

  /** A value's bytes, exactly as set. */
  getGuestinfoBytes(key: string): Buffer | undefined {
    const k = this.findKey(key);
    return k === undefined ? undefined : this.guestinfo.get(k);
  }

  /** Sets a value: text as UTF-8, bytes as they are. */
  setGuestinfo(key: string, value: string | Uint8Array): void {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.guestinfo.delete(this.findKey(key) ?? key);
    this.guestinfo.set(key, bytes);
    this.emit('guestinfo', { key, value: bytes.toString('utf8') });
  }

  deleteGuestinfo(key: string): boolean {
    const k = this.findKey(key);
    if (k === undefined) return false;
    this.guestinfo.delete(k);
    this.emit('guestinfo', { key: k, value: undefined });
    return true;
  }

  private infoGet(key: string): Buffer {
    const v = this.getGuestinfoBytes(key);
    // UNCONFIRMED text; guests (govmomi, OpenBSD, rpctool) only test the 0/1 prefix.
    return v === undefined ? Buffer.from(fail('No value found')) : Buffer.concat([OK, v]);
  }

  /** `info-set KEY VALUE`: the key is text up to the first space, the value every byte after it. */
  private infoSet(args: Buffer): string {
    const sp = args.indexOf(0x20);
    // VMware's answer to a missing value or key (seen from vmware-rpctool on ESX/Workstation).
    if (sp <= 0) return fail('Two and exactly two arguments expected');
    const key = args.subarray(0, sp).toString('utf8');
    // Guests may only set guestinfo.* (UNCONFIRMED reply text).
    if (!key.toLowerCase().startsWith('guestinfo.')) return fail('Permission denied');
    this.setGuestinfo(key, args.subarray(sp + 1));
    return ok();
  }

  private capability(name: string, args: Buffer): string {
    if (!name) return fail(RPCI_UNKNOWN_COMMAND);
    this.capabilities.set(name, args.toString('latin1').trimEnd());
    return ok();
  }

  private setGuestInfo(args: Buffer): string {
    // "SetGuestInfo  <type> <value>": two spaces, so args begins with a space.
    const m = /^ (\d+) /.exec(args.subarray(0, 16).toString('latin1'));
    if (!m) return fail('Invalid arguments');
    const type = Number(m[1]);
    const name = guestInfoTypeName(type);
    if (!name) return fail('Invalid guest info type');
    let value = args.subarray(m[0].length);
    if (TEXT_GUESTINFO.has(name) && value.length > 0 && value[value.length - 1] === 0)
      value = value.subarray(0, value.length - 1);
    this.guestInfo.set(name, Buffer.from(value));
    this.emit('guestInfo', { type, name, value });
    return ok();
  }
}
