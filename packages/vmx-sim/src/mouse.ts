/**
 * The vmmouse device as QEMU hw/i386/vmmouse.c implements it (the only public host): a queue of
 * 32-bit words, READ_ID queues the version id, packets are 4 words, the queue holds 1024 words and
 * a packet is dropped when more than 1020 are queued. Absolute positions are 0..0xFFFF.
 */
import { VmMouse } from '@vmw9/backdoor';

export interface MouseEvent {
  /** Absolute 0..0xFFFF (or a signed delta in relative mode). */
  x: number;
  y: number;
  left?: boolean;
  right?: boolean;
  middle?: boolean;
  /** Signed wheel motion as the device reports it (negative = up). */
  wheel?: number;
}

export class MouseDevice {
  private readonly queue: number[] = [];
  /** 0 = enabled; 0xFFFF = disabled or in error (what STATUS reports in its high half). */
  status = 0xffff;
  absolute = false;
  dropped = 0;

  command(sub: number): boolean {
    switch (sub >>> 0) {
      case VmMouse.CMD_READ_ID:
        this.queue.length = 0;
        this.queue.push(VmMouse.VERSION_ID);
        this.status = 0;
        return true;
      case VmMouse.CMD_DISABLE:
        this.queue.length = 0;
        this.status = 0xffff;
        return true;
      case VmMouse.CMD_REQUEST_ABSOLUTE:
        this.absolute = true;
        return true;
      case VmMouse.CMD_REQUEST_RELATIVE:
        this.absolute = false;
        return true;
      default:
        // QEMU logs and ignores unknown sub-commands.
        return false;
    }
  }

  statusWord(): number {
    return ((this.status << 16) | (this.status ? 0 : this.queue.length)) >>> 0;
  }

  /** DATA(n): n words off the queue. An impossible n puts the device in its error state, as QEMU does. */
  data(n: number): number[] | null {
    if (n === 0 || n > 6 || n > this.queue.length) {
      this.status = 0xffff;
      this.queue.length = 0;
      return null;
    }
    return this.queue.splice(0, n);
  }

  /** Queues one packet from the host side (a pointer move or button change). */
  event(e: MouseEvent): boolean {
    if (this.status !== 0) return false;
    if (this.queue.length > 1020) {
      this.dropped++;
      return false;
    }
    const flags =
      (e.left ? VmMouse.LEFT : 0) |
      (e.right ? VmMouse.RIGHT : 0) |
      (e.middle ? VmMouse.MIDDLE : 0) |
      (this.absolute ? 0 : VmMouse.RELATIVE_PACKET);
    this.queue.push(flags >>> 0, e.x >>> 0, e.y >>> 0, (e.wheel ?? 0) & 0xff);
    return true;
  }

  get queued(): number {
    return this.queue.length;
  }
}
