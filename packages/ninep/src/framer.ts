/**
 * Reassembles frames from a byte stream: one `data` chunk may hold part of a frame or several.
 * Memory is bounded by the size limit: a size field below 7 or above `maxSize` is reported at once,
 * before its body is buffered.
 */
import { HEADER_SIZE } from './constants.js';

export type FrameSink = (frame: Buffer) => void;

export class FrameTooLarge extends Error {
  override readonly name = 'FrameTooLarge';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      size < HEADER_SIZE
        ? `frame size ${size} is below the 7-byte minimum`
        : `frame size ${size} exceeds msize ${limit}`,
    );
  }
}

export class Framer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    /** Largest frame accepted (the negotiated msize); may change after Tversion. */
    public maxSize: number,
    private readonly sink: FrameSink,
  ) {}

  /** Whether part of a frame is held, waiting for the rest. */
  get partial(): boolean {
    return this.buffered > 0;
  }

  /** Feeds bytes; calls the sink for each whole frame. Throws FrameTooLarge on a bad size field. */
  push(chunk: Buffer): void {
    if (this.buffered === 0 && chunk.length >= HEADER_SIZE) {
      // Fast path: frames that start at the chunk's beginning need no copy.
      let at = 0;
      while (chunk.length - at >= 4) {
        const size = chunk.readUInt32LE(at);
        this.check(size);
        if (chunk.length - at < size) break;
        this.sink(chunk.subarray(at, at + size));
        at += size;
      }
      if (at < chunk.length) this.keep(chunk.subarray(at));
      return;
    }
    this.keep(chunk);
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const size = head.readUInt32LE(0);
      this.check(size);
      if (this.buffered < size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
      this.push(all);
      return;
    }
  }

  private check(size: number): void {
    if (size < HEADER_SIZE || size > this.maxSize) throw new FrameTooLarge(size, this.maxSize);
  }
  private keep(b: Buffer): void {
    this.chunks.push(b);
    this.buffered += b.length;
  }
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }
}
