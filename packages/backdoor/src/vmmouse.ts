/**
 * The vmmouse absolute pointer (ABSPOINTER_* = 39/40/41/86), as Linux drivers/input/mouse/vmmouse.c
 * drives it and QEMU hw/i386/vmmouse.c answers it. Packets are 4 words: buttons/flags, x, y, wheel.
 */
import { backdoorCall, requireSupported } from './call.js';
import { Cmd, VmMouse as M } from './constants.js';
import { ProtocolError } from './errors.js';
import { exclusive } from './exclusive.js';
import type { BackdoorPort, Registers } from './port.js';

export interface MouseStatus {
  /** The device is disabled or hit a protocol error (status 0xFFFF in the high half); reset it. */
  error: boolean;
  /** Words waiting in the host's queue. */
  queued: number;
  raw: number;
}

export interface MousePacket {
  /** Raw flag word: LEFT 0x20, RIGHT 0x10, MIDDLE 0x08, RELATIVE 0x10000. */
  flags: number;
  left: boolean;
  right: boolean;
  middle: boolean;
  /** Relative packet: x and y are signed deltas, not positions. */
  relative: boolean;
  /** Absolute: 0..0xFFFF across the screen. Relative: a signed delta. */
  x: number;
  y: number;
  /** Signed wheel motion as the device reports it (negative = up/away, Linux reports -z). */
  wheel: number;
}

/** Decodes a 4-word packet answered by ABSPOINTER_DATA(4) in eax, ebx, ecx, edx. */
export function decodePacket(r: Pick<Registers, 'eax' | 'ebx' | 'ecx' | 'edx'>): MousePacket {
  const flags = r.eax >>> 0;
  const relative = (flags & M.RELATIVE_PACKET) !== 0;
  return {
    flags,
    left: (flags & M.LEFT) !== 0,
    right: (flags & M.RIGHT) !== 0,
    middle: (flags & M.MIDDLE) !== 0,
    relative,
    x: relative ? r.ebx | 0 : r.ebx >>> 0,
    y: relative ? r.ecx | 0 : r.ecx >>> 0,
    wheel: ((r.edx & 0xff) << 24) >> 24,
  };
}

/**
 * Driver for the vmmouse over any BackdoorPort. The host keeps one device and one queue per VM, so
 * each public method is one turn of the port (exclusive.ts): a status and the data it counted, or
 * the whole enable handshake, are never split by another caller's calls.
 */
export class VmMouseDevice {
  constructor(private readonly port: BackdoorPort) {}

  /** ABSPOINTER_COMMAND (41) with a sub-command in ebx. */
  command(sub: number): Promise<void> {
    return exclusive(this.port, () => this.commandNow(sub));
  }

  /** ABSPOINTER_STATUS (40): eax = (error status << 16) | queued words. */
  status(): Promise<MouseStatus> {
    return exclusive(this.port, () => this.statusNow());
  }

  /** ABSPOINTER_DATA (39): takes `words` (1..4) queued words off the host's queue. */
  async data(words: number): Promise<Registers> {
    if (!Number.isInteger(words) || words < 1 || words > 4) {
      throw new TypeError(`words must be an integer in 1..4, got ${String(words)}`);
    }
    return exclusive(this.port, () => this.dataNow(words));
  }

  /**
   * Enables the device and checks its identity: READ_ID, a queued word, and that word equal to
   * 0x3442554A (the Linux driver's order). Leaves the device disabled on failure.
   * Returns the version id.
   */
  enable(): Promise<number> {
    return exclusive(this.port, async () => {
      await this.commandNow(M.CMD_READ_ID);
      const st = await this.statusNow();
      if (st.error || st.queued < 1) {
        await this.commandNow(M.CMD_DISABLE);
        throw new ProtocolError(`vmmouse did not answer READ_ID (status 0x${st.raw.toString(16)})`);
      }
      const id = (await this.dataNow(1)).eax >>> 0;
      if (id !== M.VERSION_ID) {
        await this.commandNow(M.CMD_DISABLE);
        throw new ProtocolError(
          `vmmouse answered id 0x${id.toString(16)}, expected 0x${M.VERSION_ID.toString(16)}`,
        );
      }
      return id;
    });
  }

  requestAbsolute(): Promise<void> {
    return this.command(M.CMD_REQUEST_ABSOLUTE);
  }

  requestRelative(): Promise<void> {
    return this.command(M.CMD_REQUEST_RELATIVE);
  }

  disable(): Promise<void> {
    return this.command(M.CMD_DISABLE);
  }

  /** ABSPOINTER_RESTRICT (86). QEMU does not implement it (UnsupportedCommand). */
  async restrict(level: 0 | 1 | 2): Promise<void> {
    requireSupported(
      Cmd.ABSPOINTER_RESTRICT,
      await backdoorCall(this.port, Cmd.ABSPOINTER_RESTRICT, { ebx: level }),
    );
  }

  /** Reads one packet if a whole one is queued, else null. */
  readPacket(): Promise<MousePacket | null> {
    return exclusive(this.port, async () => {
      const st = await this.statusNow();
      if (st.error)
        throw new ProtocolError(
          'vmmouse is in its error state (disabled or reset by the host); enable it again',
        );
      if (st.queued === 0) return null;
      if (st.queued % M.PACKET_WORDS !== 0) {
        throw new ProtocolError(`vmmouse queued ${st.queued} words, not a whole number of 4-word packets`);
      }
      return decodePacket(await this.dataNow(M.PACKET_WORDS));
    });
  }

  /** Reads every whole packet queued now (at most 255, as the Linux driver does per interrupt). */
  async readPackets(): Promise<MousePacket[]> {
    const packets: MousePacket[] = [];
    for (let i = 0; i < 255; i++) {
      const p = await this.readPacket();
      if (!p) break;
      packets.push(p);
    }
    return packets;
  }

  // The calls themselves, for use inside a turn the caller already holds.

  private async commandNow(sub: number): Promise<void> {
    requireSupported(
      Cmd.ABSPOINTER_COMMAND,
      await backdoorCall(this.port, Cmd.ABSPOINTER_COMMAND, { ebx: sub }),
    );
  }

  private async statusNow(): Promise<MouseStatus> {
    const out = requireSupported(Cmd.ABSPOINTER_STATUS, await backdoorCall(this.port, Cmd.ABSPOINTER_STATUS));
    const error = (out.eax & M.ERROR) >>> 0 === M.ERROR;
    return { error, queued: error ? 0 : out.eax & 0xffff, raw: out.eax };
  }

  private dataNow(words: number): Promise<Registers> {
    return backdoorCall(this.port, Cmd.ABSPOINTER_DATA, { ebx: words });
  }
}
