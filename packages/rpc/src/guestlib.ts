/**
 * VMGuestLib: the host's resource view of this VM (reservations, limits, ballooned and swapped
 * memory, the session id), negotiated and decoded as open-vm-tools' libguestlib does
 * (docs/protocol/guestlib.md). The wire layouts are @vmw9/backdoor's.
 */
import {
  decodeGuestLibHeader,
  decodeGuestLibV2,
  decodeGuestLibV3,
  GUESTLIB_DATA_VERSION,
  GUESTLIB_INFO_COMMAND,
  GUESTLIB_STAT_COMMAND,
  type GuestLibReply,
  type GuestLibStatName,
  type GuestLibValue,
  GuestLibWireError,
  guestLibStat,
  RPCI_UNKNOWN_COMMAND,
} from '@vmw9/backdoor';

export type GuestLibErrorCode = 'not-enabled' | 'not-available' | 'unsupported-version' | 'bad-reply';

/** libguestlib's texts for these errors (VMGuestLib_GetErrorText), which vmware-toolbox-cmd prints. */
export const GUESTLIB_ERROR_TEXT: Readonly<Record<GuestLibErrorCode, string>> = Object.freeze({
  'not-enabled': 'VMware Guest API is not enabled on the host',
  'not-available': 'This value is not available on this host',
  'unsupported-version': 'Host does not support this request.',
  'bad-reply': 'Other error',
});

/**
 * A guestlib request that failed. `text` is libguestlib's text for the error, word for word;
 * `detail` is what the host did (its reply, the byte that did not decode).
 */
export class GuestLibError extends Error {
  override name = 'GuestLibError';
  readonly text: string;
  constructor(
    readonly code: GuestLibErrorCode,
    readonly detail: string,
  ) {
    super(`${GUESTLIB_ERROR_TEXT[code]} (${detail})`);
    this.text = GUESTLIB_ERROR_TEXT[code];
  }
}

export interface GuestLibInfo extends GuestLibReply {
  /** True when an earlier info() saw another session id: the VM moved (vMotion) or was restored. */
  sessionChanged: boolean;
}

/** What the client sends on: an RpciClient, a one-shot sender, a test double. */
export interface GuestLibSender {
  send(command: string): Promise<{ ok: boolean; reply: Buffer }>;
}

export class GuestLibClient {
  /** The version agreed with the host; 0 until the first info(). */
  version: 0 | 2 | 3 = 0;
  /** The last session id seen; 0n before any or after a failure. */
  sessionId = 0n;

  constructor(private readonly rpc: GuestLibSender) {}

  /**
   * `guestlib.info.get <v>`, v from 3 down as libguestlib's VMGuestLibUpdateInfo: the agreed
   * version, else 3; on a failure, `Unknown command` or a failed 2 means the Guest API is off
   * (not-enabled), a failed 3 falls back to 2.
   * A changed session id starts over from 3, the host perhaps being another one.
   */
  async info(): Promise<GuestLibInfo> {
    const previous = this.sessionId;
    try {
      const reply = await this.negotiate();
      this.sessionId = reply.sessionId;
      return { ...reply, sessionChanged: previous !== 0n && previous !== reply.sessionId };
    } catch (e) {
      // libguestlib forgets the session on any failure (VMGuestLib_UpdateInfo).
      this.sessionId = 0n;
      throw e;
    }
  }

  private async negotiate(): Promise<GuestLibReply> {
    let version: 2 | 3 = this.version || GUESTLIB_DATA_VERSION;
    for (;;) {
      const command = `${GUESTLIB_INFO_COMMAND} ${version}`;
      const r = await this.rpc.send(command);
      const text = r.reply.toString('utf8');
      if (r.ok) {
        const hdr = this.header(r.reply);
        if (hdr.version !== version)
          throw new GuestLibError('bad-reply', `asked version ${version}, the host answered ${hdr.version}`);
        if (this.sessionId !== 0n && hdr.sessionId !== this.sessionId) {
          // Start over from 3 (once: the session is forgotten): the new host may speak another version.
          this.sessionId = 0n;
          version = GUESTLIB_DATA_VERSION;
          continue;
        }
        const reply = this.decode(version, r.reply);
        this.version = reply.version;
        return reply;
      }
      if (version === 2 || text === RPCI_UNKNOWN_COMMAND)
        throw new GuestLibError('not-enabled', `"${command}" answered "${text}"`);
      // A failed 3 means a host of version 2 at least (a V2 host answers "Unsupported version").
      // Hosts past 3 name their version in the failure text ("<n>:…"), which matters only to a
      // guest asking for more than 3: this one never does.
      version = 2;
    }
  }

  private header(reply: Buffer): { version: number; sessionId: bigint } {
    try {
      return decodeGuestLibHeader(reply);
    } catch (e) {
      if (e instanceof GuestLibWireError) throw new GuestLibError('bad-reply', e.message);
      throw e;
    }
  }

  private decode(version: number, reply: Buffer): GuestLibReply {
    try {
      if (version === 2) return decodeGuestLibV2(reply);
      if (version === 3) return decodeGuestLibV3(reply);
    } catch (e) {
      if (e instanceof GuestLibWireError) throw new GuestLibError('bad-reply', e.message);
      throw e;
    }
    throw new GuestLibError('bad-reply', `version ${version} is not one this guest decodes`);
  }

  /**
   * `guestlib.stat.get <encoding> <stat> [param]`, the host's semi-structured form (what
   * `vmware-toolbox-cmd stat raw` prints). Without a stat the host lists what it has. A refusal is
   * not-available, as libguestlib's VMGuestLib_StatGet reports it.
   */
  async raw(encoding: 'text' | 'json' | 'xml' | 'yaml' | '' = '', stat = '', param = ''): Promise<string> {
    const command = `${GUESTLIB_STAT_COMMAND} ${encoding} ${stat} ${param}`;
    const r = await this.rpc.send(command);
    const text = r.reply.toString('utf8');
    if (!r.ok) throw new GuestLibError('not-available', `"${command.trimEnd()}" answered "${text}"`);
    return text;
  }
}

/**
 * A statistic of `info`, or the error libguestlib's getter returns: not-available when the host
 * marked it invalid, unsupported-version when the host did not send it (an older host, or V2).
 */
export function guestLibValue(info: GuestLibReply, name: GuestLibStatName): GuestLibValue {
  const stat = guestLibStat(name);
  if (!stat) throw new TypeError(`no guestlib statistic ${name}`);
  if (stat.id > info.statCount)
    throw new GuestLibError(
      'unsupported-version',
      `${name} is statistic ${stat.id}; the host sent ${info.statCount} (version ${info.version})`,
    );
  const v = info.stats[name];
  if (v === undefined) throw new GuestLibError('not-available', `the host marked ${name} invalid`);
  return v;
}
