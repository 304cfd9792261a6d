/**
 * The wire codec: `encode(msg, dialect)` → one frame, `decode(frame, dialect)` → a typed message.
 * Layouts come from messages.ts; the dialect decides the optional .u/.L fields and the stat
 * layout. Decoding is strict (every byte consumed, strings valid UTF-8 without NUL, the two stat
 * sizes agreeing) and throws nothing but DecodeError.
 */
import { isUtf8 } from 'node:buffer';
import { type Dialect, HEADER_SIZE, STATFIXLEN } from './constants.js';
import { DecodeError, EncodeError } from './errors.js';
import {
  type FieldSpec,
  fieldPresent,
  LAYOUT_BY_ID,
  LAYOUTS,
  type Message,
  messageAllowed,
  type Qid,
  type Stat,
} from './messages.js';

const U64_MAX = 0xffffffffffffffffn;

// ---------------------------------------------------------------------------------------
// Decoding

/** Reads fields from one frame; every failure names the field and its offset. */
export class FrameReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    /** Prefix of field names in errors, e.g. `Twalk`. */
    readonly where: string,
    readonly tag?: number,
  ) {
    this.pos = start;
  }

  fail(field: string, reason: string, at = this.pos): never {
    throw new DecodeError(reason, `${this.where}.${field}`, at, this.tag);
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.end) {
      this.fail(field, `needs ${n} bytes but the frame has ${this.end - this.pos} left`);
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  string(field: string): string {
    const at = this.pos;
    const len = this.u16(`${field}.len`);
    if (this.pos + len > this.end) {
      this.fail(
        field,
        `string of ${len} bytes runs past the end of the frame (${this.end - this.pos} left)`,
        at,
      );
    }
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    if (bytes.indexOf(0) >= 0) this.fail(field, 'string contains a NUL byte', at);
    if (!isUtf8(bytes)) this.fail(field, 'string is not valid UTF-8', at);
    this.pos += len;
    return bytes.toString('utf8');
  }
  qid(field: string): Qid {
    return {
      type: this.u8(`${field}.type`),
      version: this.u32(`${field}.version`),
      path: this.u64(`${field}.path`),
    };
  }
  bytes(field: string): Uint8Array {
    const at = this.pos;
    const count = this.u32(`${field}.count`);
    if (this.pos + count > this.end) {
      this.fail(field, `count ${count} runs past the end of the frame (${this.end - this.pos} left)`, at);
    }
    // A copy, so the caller may keep it after the receive buffer is reused.
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + count));
    this.pos += count;
    return out;
  }
}

/** Decodes one stat entry (its own size[2] first) that must end exactly at `r.end` when `exact`. */
export function readStat(r: FrameReader, dialect: Dialect, field = 'stat'): Stat {
  const at = r.pos;
  const size = r.u16(`${field}.size`);
  const end = r.pos + size;
  if (end > r.end)
    r.fail(`${field}.size`, `entry of ${size} bytes runs past the end (${r.end - r.pos} left)`, at);
  const sub = new FrameReader(r.buf, r.pos, end, r.where, r.tag);
  const st: Stat = {
    type: sub.u16(`${field}.type`),
    dev: sub.u32(`${field}.dev`),
    qid: sub.qid(`${field}.qid`),
    mode: sub.u32(`${field}.mode`),
    atime: sub.u32(`${field}.atime`),
    mtime: sub.u32(`${field}.mtime`),
    length: sub.u64(`${field}.length`),
    name: sub.string(`${field}.name`),
    uid: sub.string(`${field}.uid`),
    gid: sub.string(`${field}.gid`),
    muid: sub.string(`${field}.muid`),
  };
  if (dialect === '9P2000.u') {
    st.extension = sub.string(`${field}.extension`);
    st.nUid = sub.u32(`${field}.nUid`);
    st.nGid = sub.u32(`${field}.nGid`);
    st.nMuid = sub.u32(`${field}.nMuid`);
  }
  if (sub.pos !== end)
    sub.fail(`${field}.size`, `entry declares ${size} bytes but its fields take ${sub.pos - at - 2}`, at);
  r.pos = end;
  return st;
}

function readField(r: FrameReader, [name, kind]: FieldSpec, dialect: Dialect): unknown {
  switch (kind) {
    case 'u8':
      return r.u8(name);
    case 'u16':
      return r.u16(name);
    case 'u32':
      return r.u32(name);
    case 'u64':
      return r.u64(name);
    case 's':
      return r.string(name);
    case 'qid':
      return r.qid(name);
    case 'data':
      return r.bytes(name);
    case 'wnames': {
      const n = r.u16('nwname');
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(r.string(`wname[${i}]`));
      return out;
    }
    case 'qids': {
      const n = r.u16('nwqid');
      const out: Qid[] = [];
      for (let i = 0; i < n; i++) out.push(r.qid(`qid[${i}]`));
      return out;
    }
    case 'stat': {
      const at = r.pos;
      const n = r.u16('n');
      if (r.pos + n > r.end) r.fail('n', `stat of ${n} bytes runs past the end of the frame`, at);
      const sub = new FrameReader(r.buf, r.pos, r.pos + n, r.where, r.tag);
      const st = readStat(sub, dialect);
      if (sub.pos !== sub.end) r.fail('n', `n is ${n} but the stat entry takes ${sub.pos - at - 2}`, at);
      r.pos = sub.end;
      return st;
    }
  }
}

/** Size, type and tag of a frame whose first 7 bytes are present. */
export function readHeader(buf: Buffer, at = 0): { size: number; type: number; tag: number } {
  return { size: buf.readUInt32LE(at), type: buf[at + 4]!, tag: buf.readUInt16LE(at + 5) };
}

/**
 * Decodes one whole frame (size[4] included). Throws DecodeError when the frame is malformed:
 * short, wrong size field, unknown or out-of-dialect type, a field that does not fit, trailing bytes.
 */
export function decode(frame: Buffer, dialect: Dialect): Message {
  if (frame.length < HEADER_SIZE) {
    throw new DecodeError(
      `frame of ${frame.length} bytes is shorter than the 7-byte header`,
      'header.size',
      0,
    );
  }
  const { size, type, tag } = readHeader(frame);
  if (size !== frame.length) {
    throw new DecodeError(
      `size field says ${size} but the frame has ${frame.length} bytes`,
      'header.size',
      0,
      tag,
    );
  }
  const layout = LAYOUT_BY_ID.get(type);
  if (!layout || !messageAllowed(layout, dialect)) {
    throw new DecodeError(`unknown message type ${type} in ${dialect}`, `type ${type}`, 4, tag);
  }
  const r = new FrameReader(frame, HEADER_SIZE, size, layout.name, tag);
  const msg: Record<string, unknown> = { type: layout.name, tag };
  for (const f of layout.fields) if (fieldPresent(f[2], dialect)) msg[f[0]] = readField(r, f, dialect);
  if (r.pos !== size) r.fail('(end)', `${size - r.pos} bytes left over after the last field`);
  return msg as unknown as Message;
}

// ---------------------------------------------------------------------------------------
// Encoding

function strLen(v: unknown, field: string): number {
  if (typeof v !== 'string') throw new EncodeError(`expected a string, got ${typeof v}`, field);
  const n = Buffer.byteLength(v);
  if (n > 0xffff) throw new EncodeError(`string of ${n} bytes exceeds 65535`, field);
  return 2 + n;
}

/** Encoded size of a stat entry including its size[2]. */
export function statSize(st: Stat, dialect: Dialect): number {
  let n = STATFIXLEN - 8;
  n += strLen(st.name, 'stat.name') + strLen(st.uid, 'stat.uid') + strLen(st.gid, 'stat.gid');
  n += strLen(st.muid, 'stat.muid');
  if (dialect === '9P2000.u') n += strLen(st.extension ?? '', 'stat.extension') + 12;
  return n;
}

function fieldSize([name, kind]: FieldSpec, v: unknown, dialect: Dialect, where: string): number {
  switch (kind) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
      return 4;
    case 'u64':
      return 8;
    case 's':
      return strLen(v, `${where}.${name}`);
    case 'qid':
      return 13;
    case 'data':
      return 4 + (v as Uint8Array).length;
    case 'wnames':
      return 2 + (v as string[]).reduce((a, w, i) => a + strLen(w, `${where}.wname[${i}]`), 0);
    case 'qids':
      return 2 + 13 * (v as Qid[]).length;
    case 'stat':
      return 2 + statSize(v as Stat, dialect);
  }
}

/** Writes fields into a preallocated frame; range errors name the field. */
export class FrameWriter {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly where: string,
  ) {}
  private int(v: unknown, max: number, field: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw new EncodeError(`${String(v)} is not an integer in 0..${max}`, `${this.where}.${field}`);
    }
    return v;
  }
  u8(v: unknown, field: string): void {
    this.buf[this.pos++] = this.int(v, 0xff, field);
  }
  u16(v: unknown, field: string): void {
    this.pos = this.buf.writeUInt16LE(this.int(v, 0xffff, field), this.pos);
  }
  u32(v: unknown, field: string): void {
    // Mode words built with JS bit operators (DMDIR | 0o755) are negative int32s: take their bits.
    if (typeof v === 'number' && v < 0 && v >= -0x80000000 && Number.isInteger(v)) v = v >>> 0;
    this.pos = this.buf.writeUInt32LE(this.int(v, 0xffffffff, field), this.pos);
  }
  u64(v: unknown, field: string): void {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
      throw new EncodeError(`${String(v)} is not a bigint in 0..2^64-1`, `${this.where}.${field}`);
    }
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
  }
  string(v: string): void {
    const n = this.buf.write(v, this.pos + 2, 'utf8');
    this.buf.writeUInt16LE(n, this.pos);
    this.pos += 2 + n;
  }
  qid(q: Qid, field: string): void {
    if (!q || typeof q !== 'object') throw new EncodeError('expected a qid', `${this.where}.${field}`);
    this.u8(q.type, `${field}.type`);
    this.u32(q.version, `${field}.version`);
    this.u64(q.path, `${field}.path`);
  }
  stat(st: Stat, dialect: Dialect): void {
    const size = statSize(st, dialect);
    this.u16(size - 2, 'stat.size');
    this.u16(st.type, 'stat.type');
    this.u32(st.dev, 'stat.dev');
    this.qid(st.qid, 'stat.qid');
    this.u32(st.mode, 'stat.mode');
    this.u32(st.atime, 'stat.atime');
    this.u32(st.mtime, 'stat.mtime');
    this.u64(st.length, 'stat.length');
    this.string(st.name);
    this.string(st.uid);
    this.string(st.gid);
    this.string(st.muid);
    if (dialect === '9P2000.u') {
      this.string(st.extension ?? '');
      this.u32(st.nUid ?? 0xffffffff, 'stat.nUid');
      this.u32(st.nGid ?? 0xffffffff, 'stat.nGid');
      this.u32(st.nMuid ?? 0xffffffff, 'stat.nMuid');
    }
  }
}

/** Defaults for optional dialect fields a caller left out. */
function optionalDefault(name: string): unknown {
  switch (name) {
    case 'nUname':
      return 0xffffffff;
    case 'errno':
      return 0;
    case 'extension':
      return '';
    default:
      return undefined;
  }
}

/**
 * Encodes one message as a complete frame for the given dialect. Throws EncodeError. `tag`, when
 * given, replaces `msg.tag`: a server encodes a handler's reply body without copying it to add one.
 */
export function encode(msg: Message | Omit<Message, 'tag'>, dialect: Dialect, tag?: number): Buffer {
  const layout = LAYOUTS.get(msg.type);
  if (!layout) throw new EncodeError(`unknown message type "${String(msg.type)}"`, 'type');
  const m = msg as unknown as Record<string, unknown>;
  let size = HEADER_SIZE;
  for (const f of layout.fields) {
    if (!fieldPresent(f[2], dialect)) continue;
    const v = m[f[0]] ?? optionalDefault(f[0]);
    if (v === undefined) throw new EncodeError('missing', `${layout.name}.${f[0]}`);
    size += fieldSize(f, v, dialect, layout.name);
  }
  const buf = Buffer.allocUnsafe(size);
  const w = new FrameWriter(buf, 0, layout.name);
  w.u32(size, 'size');
  w.u8(layout.id, 'type');
  w.u16(tag ?? (msg as Message).tag, 'tag');
  for (const [name, kind, only] of layout.fields) {
    if (!fieldPresent(only, dialect)) continue;
    const v = m[name] ?? optionalDefault(name);
    switch (kind) {
      case 'u8':
        w.u8(v, name);
        break;
      case 'u16':
        w.u16(v, name);
        break;
      case 'u32':
        w.u32(v, name);
        break;
      case 'u64':
        w.u64(v, name);
        break;
      case 's':
        w.string(v as string);
        break;
      case 'qid':
        w.qid(v as Qid, name);
        break;
      case 'data': {
        const d = v as Uint8Array;
        w.u32(d.length, `${name}.count`);
        buf.set(d, w.pos);
        w.pos += d.length;
        break;
      }
      case 'wnames': {
        const names = v as string[];
        w.u16(names.length, 'nwname');
        for (const n of names) w.string(n);
        break;
      }
      case 'qids': {
        const qids = v as Qid[];
        w.u16(qids.length, 'nwqid');
        for (const [i, q] of qids.entries()) w.qid(q, `qid[${i}]`);
        break;
      }
      case 'stat': {
        const st = v as Stat;
        w.u16(statSize(st, dialect), 'n');
        w.stat(st, dialect);
        break;
      }
    }
  }
  return buf;
}

/** Encodes one stat entry on its own (the bytes a 9P2000/.u directory read returns). */
export function encodeStat(st: Stat, dialect: Dialect): Buffer {
  const buf = Buffer.allocUnsafe(statSize(st, dialect));
  new FrameWriter(buf, 0, 'stat').stat(st, dialect);
  return buf;
}

/** Decodes the stat entries of a 9P2000/.u directory read. */
export function decodeStats(data: Uint8Array, dialect: Dialect): Stat[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const r = new FrameReader(buf, 0, buf.length, 'dirread');
  const out: Stat[] = [];
  while (r.pos < r.end) out.push(readStat(r, dialect, `stat[${out.length}]`));
  return out;
}

/** One 9P2000.L directory entry (Rreaddir data). */
export interface Dirent {
  qid: Qid;
  /** Cookie: where the next Treaddir resumes after this entry. */
  offset: bigint;
  /** Linux d_type. */
  type: number;
  name: string;
}

export function direntSize(d: Dirent): number {
  return 24 + Buffer.byteLength(d.name);
}

export function encodeDirent(d: Dirent, buf: Buffer, at: number): number {
  const w = new FrameWriter(buf, at, 'dirent');
  w.qid(d.qid, 'qid');
  w.u64(d.offset, 'offset');
  w.u8(d.type, 'type');
  w.string(d.name);
  return w.pos;
}

export function decodeDirents(data: Uint8Array): Dirent[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const r = new FrameReader(buf, 0, buf.length, 'Rreaddir');
  const out: Dirent[] = [];
  for (let i = 0; r.pos < r.end; i++) {
    out.push({
      qid: r.qid(`dirent[${i}].qid`),
      offset: r.u64(`dirent[${i}].offset`),
      type: r.u8(`dirent[${i}].type`),
      name: r.string(`dirent[${i}].name`),
    });
  }
  return out;
}
