// A tiny stand-in for the simulated host, for testing vmx-trap only: it speaks docs/protocol/sim-wire.md, records
// every call, and answers just enough for the tests and for open-vm-tools' GuestRPC:
//   GETVERSION (10)       eax=6, ebx=VMXh, ecx=2 (ESX)
//   MESSAGE (30)          a minimal GuestMsg host: OPEN/SENDSIZE/SENDPAYLOAD/RECVSIZE/RECVPAYLOAD/
//                         RECVSTATUS/CLOSE and HB transfers; RPCI requests are answered from `rpci`
//   97                    never answered (a stuck host)
//   98 / 99               status 2 (error, with a message) / status 1 (fault)
//   anything else         eax=0xffffffff, the "unsupported" answer
// HB transfers outside a GuestMsg send or receive are an echo: IN returns the bytes of the last OUT.
// Run alone: node fake-host.mjs /tmp/host.sock   (then: vmx-trap --host unix!/tmp/host.sock -- PROG)
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAGIC = 0x564d5868;
const RPCI = 0x49435052;
const SUCCESS = 0x0001;
const DORECV = 0x0002;
const HB = 0x0080;

/**
 * @typedef {{ op: number, flags: number, pid: number, regs: number[], count: number, data?: Buffer }} Call
 * @param {{ path?: string, rpci?: Record<string, string> }} [options]
 */
export async function startFakeHost(options = {}) {
  const dir = options.path ? null : mkdtempSync(join(tmpdir(), 'vmx-fake-'));
  const path = options.path ?? join(/** @type {string} */ (dir), 'host.sock');
  const rpci = options.rpci ?? { 'info-get guestinfo.foo': '1 bar' };
  /** @type {Call[]} */
  const calls = [];
  /** @type {number[]} */
  const hellos = [];
  /** @type {string[]} */
  const rpciLog = [];
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();

  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let helloDone = false;
    let echo = Buffer.alloc(0);
    /** @type {Map<number, {proto: number, send: Buffer, sendLen: number, reply: Buffer | null, pos: number}>} */
    const chans = new Map();

    const finishSend = (/** @type {any} */ ch) => {
      if (ch.send.length < ch.sendLen) return;
      if (ch.proto !== RPCI) return; // TCLO: nothing to say
      const text = ch.send.toString('latin1').replace(/\0$/, '');
      rpciLog.push(text);
      ch.reply = Buffer.from(rpci[text] ?? '0 Unknown command', 'latin1');
      ch.pos = 0;
    };

    /** @returns {{status: number, regs: number[], data?: Buffer} | null} */
    const answer = (/** @type {Call} */ c) => {
      const r = c.regs.slice();
      const [, ebx, ecx, edx] = r;
      if (c.op === 1) {
        const cmd = ecx & 0xffff;
        if (cmd === 10) return { status: 0, regs: [6, MAGIC, 2, edx, r[4], r[5], r[6]] };
        if (cmd === 97) return null;
        if (cmd === 98) return { status: 2, regs: r, data: Buffer.from('fake: command 98 is an error') };
        if (cmd === 99) return { status: 1, regs: r };
        if (cmd !== 30) return { status: 0, regs: [0xffffffff, ...r.slice(1)] };
        const type = ecx >>> 16;
        const id = edx >>> 16;
        const ch = chans.get(id);
        const ok = (/** @type {number} */ st) => (st << 16) >>> 0;
        if (type === 0) {
          let n = 0;
          while (chans.has(n)) n++;
          chans.set(n, { proto: ebx & 0x7fffffff, send: Buffer.alloc(0), sendLen: 0, reply: null, pos: 0 });
          return {
            status: 0,
            regs: [0, ebx, ok(SUCCESS), ((n << 16) | (edx & 0xffff)) >>> 0, 0x1111, 0x2222, r[6]],
          };
        }
        if (!ch) return { status: 0, regs: [r[0], ebx, 0, edx, r[4], r[5], r[6]] };
        let status = SUCCESS;
        if (type === 1) {
          ch.sendLen = ebx;
          ch.send = Buffer.alloc(0);
          finishSend(ch);
          status |= HB;
        } else if (type === 2) {
          const w = Buffer.alloc(4);
          w.writeUInt32LE(ebx);
          ch.send = Buffer.concat([ch.send, w.subarray(0, Math.min(4, ch.sendLen - ch.send.length))]);
          finishSend(ch);
        } else if (type === 3) {
          if (ch.reply) {
            return {
              status: 0,
              regs: [
                r[0],
                ch.reply.length,
                ok(SUCCESS | DORECV | HB),
                ((1 << 16) | (edx & 0xffff)) >>> 0,
                r[4],
                r[5],
                r[6],
              ],
            };
          }
        } else if (type === 4) {
          const w = Buffer.alloc(4);
          ch.reply?.copy(w, 0, ch.pos, ch.pos + 4);
          ch.pos += 4;
          return {
            status: 0,
            regs: [r[0], w.readUInt32LE(), ok(SUCCESS), ((2 << 16) | (edx & 0xffff)) >>> 0, r[4], r[5], r[6]],
          };
        } else if (type === 5) {
          ch.reply = null;
        } else if (type === 6) {
          chans.delete(id);
        }
        return { status: 0, regs: [r[0], ebx, ok(status), edx, r[4], r[5], r[6]] };
      }
      const ch = chans.get(edx >>> 16);
      if (c.op === 2) {
        if (ch && ch.send.length < ch.sendLen) {
          ch.send = Buffer.concat([ch.send, /** @type {Buffer} */ (c.data)]);
          finishSend(ch);
        } else {
          echo = Buffer.from(/** @type {Buffer} */ (c.data));
        }
        return { status: 0, regs: [r[0], 0x10000, ...r.slice(2)] };
      }
      const data = ch?.reply ? ch.reply : echo;
      return { status: 0, regs: [r[0], 0x10000, ...r.slice(2)], data: data.subarray(0, c.count) };
    };

    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!helloDone) {
        if (buf.length < 16) return;
        if (buf.subarray(0, 8).toString('latin1') !== 'VMW9SIM\0' || buf.readUInt16LE(8) !== 1) {
          sock.destroy();
          return;
        }
        hellos.push(buf.readUInt32LE(12));
        const h = Buffer.alloc(16);
        h.write('VMW9SIM\0', 'latin1');
        h.writeUInt16LE(1, 8);
        sock.write(h);
        buf = buf.subarray(16);
        helloDone = true;
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const len = buf.readUInt32LE(0);
        const f = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        /** @type {Call} */
        const c = {
          op: f[0] ?? 0,
          flags: f[1] ?? 0,
          pid: f.readUInt32LE(4),
          regs: [0, 1, 2, 3, 4, 5, 6].map((i) => f.readUInt32LE(8 + 4 * i)),
          count: f.readUInt32LE(36),
        };
        if (c.op === 2) c.data = Buffer.from(f.subarray(40, 40 + c.count));
        calls.push(c);
        const a = answer(c);
        if (!a) continue;
        const data = a.data ?? Buffer.alloc(0);
        const out = Buffer.alloc(40 + data.length);
        out.writeUInt32LE(36 + data.length, 0);
        out[4] = a.status;
        for (const [i, v] of a.regs.entries()) out.writeUInt32LE(v >>> 0, 8 + 4 * i);
        out.writeUInt32LE(c.op === 3 && a.status === 0 ? data.length : 0, 36);
        data.copy(out, 40);
        sock.write(out);
      }
    });
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res(undefined));
  });
  return {
    address: `unix!${path}`,
    path,
    calls,
    hellos,
    rpci: rpciLog,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((res) => server.close(() => res(undefined)));
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const host = await startFakeHost({ path: process.argv[2] });
  console.log(`fake host listening at ${host.address}`);
}
