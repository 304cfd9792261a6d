/** Encoding of the socket wire format (docs/protocol/sim-wire.md), shared by the server and the client. */
import type { Registers } from '@vmw9/backdoor';

export const HELLO_MAGIC = Buffer.from('VMW9SIM\0', 'latin1');
export const PROTOCOL_VERSION = 1;
export const HELLO_SIZE = 16;
export const HEADER_SIZE = 44;
/** Largest request or response payload (an HB transfer), 16 MiB. */
export const MAX_PAYLOAD = 16 * 1024 * 1024;

export const Op = { LB: 1, HB_OUT: 2, HB_IN: 3 } as const;
export const Status = { DONE: 0, FAULT: 1, ERROR: 2 } as const;

export function hello(pid: number): Buffer {
  const b = Buffer.alloc(HELLO_SIZE);
  HELLO_MAGIC.copy(b, 0);
  b.writeUInt16LE(PROTOCOL_VERSION, 8);
  b.writeUInt32LE(pid >>> 0, 12);
  return b;
}

export function parseHello(b: Buffer): { version: number; pid: number } | null {
  if (b.length < HELLO_SIZE || !b.subarray(0, 8).equals(HELLO_MAGIC)) return null;
  return { version: b.readUInt16LE(8), pid: b.readUInt32LE(12) };
}

const REGS = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'] as const;

function writeRegs(b: Buffer, off: number, r: Registers): void {
  for (const [i, n] of REGS.entries()) b.writeUInt32LE(r[n] >>> 0, off + 4 * i);
}

function readRegs(b: Buffer, off: number): Registers {
  const r = {} as Registers;
  REGS.forEach((n, i) => {
    r[n] = b.readUInt32LE(off + 4 * i);
  });
  return r;
}

export interface Request {
  op: number;
  flags: number;
  pid: number;
  regs: Registers;
  count: number;
  payload: Buffer;
}

export function encodeRequest(q: Omit<Request, 'flags'> & { flags?: number }): Buffer {
  const b = Buffer.alloc(HEADER_SIZE + q.payload.length);
  b.writeUInt32LE(b.length - 4, 0);
  b.writeUInt8(q.op, 4);
  b.writeUInt8(q.flags ?? 0, 5);
  b.writeUInt32LE(q.pid >>> 0, 8);
  writeRegs(b, 12, q.regs);
  b.writeUInt32LE(q.count >>> 0, 40);
  q.payload.copy(b, HEADER_SIZE);
  return b;
}

/** Decodes one request frame (the whole frame, length prefix included). */
export function decodeRequest(b: Buffer): Request {
  return {
    op: b.readUInt8(4),
    flags: b.readUInt8(5),
    pid: b.readUInt32LE(8),
    regs: readRegs(b, 12),
    count: b.readUInt32LE(40),
    payload: b.subarray(HEADER_SIZE),
  };
}

export interface Response {
  status: number;
  regs: Registers;
  payload: Buffer;
}

export function encodeResponse(r: Response): Buffer {
  const b = Buffer.alloc(40 + r.payload.length);
  b.writeUInt32LE(b.length - 4, 0);
  b.writeUInt8(r.status, 4);
  writeRegs(b, 8, r.regs);
  b.writeUInt32LE(r.payload.length, 36);
  r.payload.copy(b, 40);
  return b;
}

export function decodeResponse(b: Buffer): Response {
  return { status: b.readUInt8(4), regs: readRegs(b, 8), payload: b.subarray(40) };
}

/**
 * Splits a byte stream into length-prefixed frames. Rejects a frame announcing more than `max`
 * bytes, so a broken or hostile peer cannot make us buffer without bound.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  /** Whether part of a frame is held, waiting for the rest. */
  get partial(): boolean {
    return this.size > 0;
  }

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.size < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32LE(0);
      if (len > this.max) throw new Error(`frame of ${len} bytes is over the ${this.max}-byte limit`);
      if (this.size < 4 + len) break;
      frames.push(this.take(4 + len));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}
