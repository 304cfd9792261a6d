/**
 * The host side of VMGuestLib (docs/protocol/guestlib.md §6): `guestlib.info.get 3|2` answered
 * with the statistics in the V3 or V2 layout (@vmw9/backdoor), every statistic settable or marked
 * invalid, the session id changeable (a vMotion); or, with the Guest API off (Workstation), the
 * `Unknown command` libguestlib turns into "VMware Guest API is not enabled on the host".
 */
import { randomBytes } from 'node:crypto';
import {
  encodeGuestLibV2,
  encodeGuestLibV3,
  GUESTLIB_INFO_COMMAND,
  GUESTLIB_STAT_COMMAND,
  GuestLibStat,
  type GuestLibStatName,
  type GuestLibStats,
  type GuestLibValue,
  guestLibStat,
  parseGuestLibValue,
  RPCI_FAILURE,
  RPCI_SUCCESS,
  RPCI_UNKNOWN_COMMAND,
} from '@vmw9/backdoor';
import type { HostFacts } from './facts.js';
import type { RpciHost } from './rpci.js';

export interface GuestLibHostOptions {
  /** False: a host with the Guest API off (Workstation): every guestlib request is `Unknown command`. Default true. */
  enabled?: boolean;
  /** The newest layout served: 3 (both 3 and 2), or 2 to play a host older than V3. Default 3. */
  maxVersion?: 2 | 3;
  /** Statistics over the defaults (defaultGuestLibStats). */
  stats?: GuestLibStats;
  /** Statistics sent marked invalid ("This value is not available on this host"). */
  invalid?: GuestLibStatName[];
  /** The session id; default a random non-zero one, as every power-on gets. */
  sessionId?: bigint;
}

/** ESX's answer for "no limit" in a uint32 limit statistic (-1). UNCONFIRMED as a default: see docs/protocol/guestlib.md §6. */
export const UNLIMITED = 0xffffffff;

/**
 * What an ESX-like host reports for a VM of `facts.memoryMB` and `facts.cpuMhz` with no
 * reservation, no limit, normal shares and no memory pressure (docs/protocol/guestlib.md §6 lists
 * them and why). The host-wide figures (ids 21–30) are absent: ESX sends them only to a VM whose
 * configuration enables host information.
 */
export function defaultGuestLibStats(facts: Pick<HostFacts, 'memoryMB' | 'cpuMhz'>): GuestLibStats {
  const mem = facts.memoryMB;
  return {
    CPU_RESERVATION_MHZ: 0,
    CPU_LIMIT_MHZ: UNLIMITED,
    CPU_SHARES: 1000,
    CPU_USED_MS: 0n,
    HOST_MHZ: facts.cpuMhz,
    MEM_RESERVATION_MB: 0,
    MEM_LIMIT_MB: UNLIMITED,
    MEM_SHARES: mem * 10,
    MEM_MAPPED_MB: mem,
    MEM_ACTIVE_MB: Math.floor(mem / 4),
    MEM_OVERHEAD_MB: 40,
    MEM_BALLOONED_MB: 0,
    MEM_SWAPPED_MB: 0,
    MEM_SHARED_MB: 0,
    MEM_SHARED_SAVED_MB: 0,
    MEM_USED_MB: mem,
    ELAPSED_MS: 0n,
    RESOURCE_POOL_PATH: '/',
    CPU_STOLEN_MS: 0n,
    MEM_TARGET_SIZE_MB: BigInt(mem),
    MEM_ZIPPED_MB: 0,
    MEM_ZIPSAVED_MB: 0,
    MEM_LLSWAPPED_MB: 0,
    MEM_SWAP_TARGET_MB: 0,
    MEM_BALLOON_TARGET_MB: 0,
    MEM_BALLOON_MAX_MB: Math.floor((mem * 65) / 100),
    RESOURCE_POOL_PATH_LONG: Buffer.from('/'),
    MEM_SHARES_64: BigInt(mem * 10),
  };
}

function randomSession(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64LE(0);
    if (id !== 0n) return id;
  }
}

export class GuestLibHost {
  enabled: boolean;
  maxVersion: 2 | 3;
  /** Valid statistics; a statistic absent here is sent marked invalid. */
  readonly stats: GuestLibStats;
  private session: bigint;
  /** Requests answered with statistics, by layout version. */
  readonly served = { 2: 0, 3: 0 };

  constructor(facts: Pick<HostFacts, 'memoryMB' | 'cpuMhz'>, opts: GuestLibHostOptions = {}) {
    this.enabled = opts.enabled ?? true;
    this.maxVersion = opts.maxVersion ?? 3;
    this.stats = { ...defaultGuestLibStats(facts) };
    for (const [name, v] of Object.entries(opts.stats ?? {})) this.set(name, v as GuestLibValue);
    for (const name of opts.invalid ?? []) this.invalidate(name);
    this.session = opts.sessionId ?? randomSession();
    if (this.session === 0n)
      throw new RangeError('a guestlib session id is never 0 (the guest reads 0 as "no info")');
  }

  get sessionId(): bigint {
    return this.session;
  }

  /** A new session (a vMotion, a resume): `id`, or a fresh random one. Returns it. */
  newSession(id?: bigint): bigint {
    if (id === 0n) throw new RangeError('a guestlib session id is never 0 (the guest reads 0 as "no info")');
    let next = id ?? randomSession();
    while (id === undefined && next === this.session) next = randomSession();
    this.session = next;
    return next;
  }

  /** Sets a statistic (valid from now on); a value as text is parsed by the statistic's type. */
  set(name: string, value: GuestLibValue | string): void {
    const stat = known(name);
    const v = typeof value === 'string' && stat.type !== 'string' ? parseGuestLibValue(stat, value) : value;
    // encode checks range and type; check now so a bad value is refused here, not on the next request.
    encodeGuestLibV3({ sessionId: 1n, stats: { [stat.name]: v }, count: stat.id });
    this.stats[stat.name] = v;
  }

  /** Marks a statistic invalid: the guest's getter answers "This value is not available on this host". */
  invalidate(name: string): void {
    delete this.stats[known(name).name];
  }

  /** Registers the two guestlib commands on `rpci`. */
  install(rpci: RpciHost): void {
    rpci.register(GUESTLIB_INFO_COMMAND, (args) => this.info(args.toString('latin1').trim()));
    rpci.register(GUESTLIB_STAT_COMMAND, (args) => this.statGet(args.toString('latin1')));
  }

  /** `guestlib.info.get <version>`. */
  info(version: string): Buffer | string {
    if (!this.enabled) return `${RPCI_FAILURE}${RPCI_UNKNOWN_COMMAND}`;
    const v = /^\d+$/.test(version) ? Number(version) : Number.NaN;
    if (v === 3 && this.maxVersion >= 3) {
      this.served[3]++;
      return Buffer.concat([
        Buffer.from(RPCI_SUCCESS),
        encodeGuestLibV3({ sessionId: this.session, stats: this.stats }),
      ]);
    }
    if (v === 2) {
      this.served[2]++;
      return Buffer.concat([
        Buffer.from(RPCI_SUCCESS),
        encodeGuestLibV2({ sessionId: this.session, stats: this.stats }),
      ]);
    }
    // A V2 host answers "Unsupported version" (libguestlib's comment); a V3 host names its
    // highest version before a ':' (libguestlib parses that number). The rest of the text is UNCONFIRMED.
    return this.maxVersion >= 3
      ? `${RPCI_FAILURE}${this.maxVersion}:Unsupported version`
      : `${RPCI_FAILURE}Unsupported version`;
  }

  /**
   * `guestlib.stat.get <encoding> <stat> [param]`. UNCONFIRMED beyond the text encoding's
   * `key = value` lines (VMware's Guest SDK guide): this host answers the list of its categories
   * (`session`) when asked for none, and `text session` as `id = <session id>`; anything else is
   * refused, which libguestlib reports as "This value is not available on this host".
   */
  statGet(args: string): string {
    if (!this.enabled) return `${RPCI_FAILURE}${RPCI_UNKNOWN_COMMAND}`;
    const [encoding = '', stat = ''] = args.trim().split(/\s+/);
    if (stat === '') return `${RPCI_SUCCESS}session\n`;
    if (encoding === 'text' && stat === 'session') return `${RPCI_SUCCESS}id = ${this.session}\n`;
    return `${RPCI_FAILURE}No such statistic`;
  }

  /** One line per statistic, in id order: `NAME value` or `NAME (invalid)`; what the console shows. */
  describe(): string[] {
    const lines = [
      `guest API ${this.enabled ? `on, versions 2${this.maxVersion >= 3 ? ' and 3' : ''}` : 'off (Workstation): Unknown command'}; session 0x${this.session.toString(16)}; served v3 ${this.served[3]}, v2 ${this.served[2]}`,
    ];
    for (const s of GuestLibStat) {
      const v = this.stats[s.name];
      lines.push(`${s.id} ${s.name} ${v === undefined ? '(invalid)' : formatValue(v)}`);
    }
    return lines;
  }
}

function known(name: string) {
  const stat = guestLibStat(name);
  if (!stat)
    throw new Error(`no guestlib statistic "${name}" (names as in guestlibV3.x, e.g. MEM_BALLOONED_MB)`);
  return stat;
}

function formatValue(v: GuestLibValue): string {
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('utf8'));
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
