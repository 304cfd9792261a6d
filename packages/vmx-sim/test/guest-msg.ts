/**
 * A test-only GuestMsg guest that follows open-vm-tools lib/message/message.c step by step
 * (docs/protocol/backdoor.md §9–§11), including its restart-on-CPT rules, so the simulator can be
 * driven exactly as the real guest drives it, and also off the protocol's path on purpose.
 */
import {
  type BackdoorPort,
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_PORT,
  type Registers,
  MessageStatus as S,
  MessageType as T,
} from '@vmw9/backdoor';

export const RPCI = 0x49435052;
export const TCLO = 0x4f4c4354;

export interface Chan {
  id: number;
  hi: number;
  lo: number;
}

export function lb(sub: number, ch: Chan | null, ebx = 0): Registers {
  return {
    eax: BDOOR_MAGIC,
    ebx: ebx >>> 0,
    ecx: ((sub << 16) | 30) >>> 0,
    edx: (((ch?.id ?? 0) << 16) | BDOOR_PORT) >>> 0,
    esi: ch?.hi ?? 0,
    edi: ch?.lo ?? 0,
    ebp: 0,
  };
}

export const status = (r: Registers): number => r.ecx >>> 16;

export async function open(port: BackdoorPort, proto: number): Promise<Chan> {
  const r = await port.call(lb(T.OPEN, null, (proto | 0x80000000) >>> 0));
  if (!(status(r) & S.SUCCESS)) throw new Error(`OPEN failed: status 0x${status(r).toString(16)}`);
  return { id: r.edx >>> 16, hi: r.esi, lo: r.edi };
}

export async function close(port: BackdoorPort, ch: Chan): Promise<number> {
  return status(await port.call(lb(T.CLOSE, ch)));
}

export interface Counter {
  cpt: number;
}

/** message.c Message_Send: SENDSIZE, then HB OUT or 4-byte SENDPAYLOADs; CPT restarts from SENDSIZE. */
export async function send(
  port: BackdoorPort,
  ch: Chan,
  msg: Buffer,
  opts: { hb?: boolean; counter?: Counter } = {},
): Promise<void> {
  for (;;) {
    const sz = await port.call(lb(T.SENDSIZE, ch, msg.length));
    if (!(status(sz) & S.SUCCESS)) throw new Error(`SENDSIZE failed: status 0x${status(sz).toString(16)}`);
    if (msg.length === 0) return;
    let st: number;
    if (opts.hb !== false && status(sz) & S.HB) {
      const r = await port.hbOut(
        {
          eax: BDOOR_MAGIC,
          ebx: 0x00010000,
          ecx: msg.length,
          edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
          esi: 0,
          edi: ch.lo,
          ebp: ch.hi,
        },
        msg,
      );
      st = r.ebx >>> 16;
    } else {
      st = S.SUCCESS;
      for (let i = 0; i < msg.length && st & S.SUCCESS; i += 4) {
        const w = Buffer.alloc(4);
        msg.copy(w, 0, i, Math.min(i + 4, msg.length));
        st = status(await port.call(lb(T.SENDPAYLOAD, ch, w.readUInt32LE(0))));
      }
    }
    if (st & S.SUCCESS) return;
    if (st & S.CPT) {
      if (opts.counter) opts.counter.cpt++;
      continue;
    }
    throw new Error(`send failed: status 0x${st.toString(16)}`);
  }
}

/** message.c Message_Receive: RECVSIZE, payload by HB IN or RECVPAYLOADs, RECVSTATUS(1); CPT restarts from RECVSIZE. */
export async function receive(
  port: BackdoorPort,
  ch: Chan,
  opts: { hb?: boolean; counter?: Counter } = {},
): Promise<Buffer | null> {
  for (;;) {
    const sz = await port.call(lb(T.RECVSIZE, ch));
    if (!(status(sz) & S.SUCCESS)) throw new Error(`RECVSIZE failed: status 0x${status(sz).toString(16)}`);
    if (!(status(sz) & S.DORECV)) return null;
    if (sz.edx >>> 16 !== T.SENDSIZE) throw new Error('RECVSIZE: edx.hi is not SENDSIZE');
    const len = sz.ebx;
    const buf = Buffer.alloc(len);
    let st: number = S.SUCCESS;
    if (opts.hb !== false && status(sz) & S.HB && len > 0) {
      const r = await port.hbIn(
        {
          eax: BDOOR_MAGIC,
          ebx: 0x00010000,
          ecx: len,
          edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
          esi: ch.hi,
          edi: 0,
          ebp: ch.lo,
        },
        buf,
      );
      st = r.ebx >>> 16;
    } else {
      for (let i = 0; i < len && st & S.SUCCESS; i += 4) {
        const r = await port.call(lb(T.RECVPAYLOAD, ch, S.SUCCESS));
        st = status(r);
        if (st & S.SUCCESS) {
          if (r.edx >>> 16 !== T.SENDPAYLOAD) throw new Error('RECVPAYLOAD: edx.hi is not SENDPAYLOAD');
          const w = Buffer.alloc(4);
          w.writeUInt32LE(r.ebx, 0);
          w.copy(buf, i, 0, Math.min(4, len - i));
        }
      }
    }
    if (st & S.SUCCESS) st = status(await port.call(lb(T.RECVSTATUS, ch, S.SUCCESS)));
    if (st & S.SUCCESS) return buf;
    if (st & S.CPT) {
      if (opts.counter) opts.counter.cpt++;
      continue;
    }
    throw new Error(`receive failed: status 0x${st.toString(16)}`);
  }
}

/** One RPCI the way vmware-rpctool does it: OPEN, send, receive, CLOSE. */
export async function rpc(
  port: BackdoorPort,
  text: string | Buffer,
  opts: { hb?: boolean; counter?: Counter } = {},
): Promise<string> {
  const ch = await open(port, RPCI);
  try {
    await send(port, ch, Buffer.isBuffer(text) ? text : Buffer.from(text), opts);
    return (await receive(port, ch, opts))?.toString('latin1') ?? '';
  } finally {
    await close(port, ch);
  }
}
