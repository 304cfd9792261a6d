/**
 * The floor for a 9P server written in Node, measured beside ninep-ramfs and diod in the bench: it
 * answers the small-op sequence (Tversion, Tattach, Twalk, Tlopen, Tread, Tclunk) with canned
 * 9P2000.L replies, with no codec, no fid table and no file tree — only `net`, framing and one
 * corked write per batch, the same I/O path ninep's server uses. Whatever rate this reaches is the
 * most any Node server can get from the same client on this machine.
 *
 * Usage: node bare-node-server.mjs SOCKET_PATH  (prints one line once it listens)
 */
import { rmSync } from 'node:fs';
import net from 'node:net';

const path = process.argv[2];
if (!path) throw new Error('usage: bare-node-server.mjs SOCKET_PATH');
rmSync(path, { force: true });

const DATA = Buffer.alloc(1024, 's');

function frame(type, tag, body) {
  const b = Buffer.allocUnsafe(7 + body.length);
  b.writeUInt32LE(b.length, 0);
  b[4] = type;
  b.writeUInt16LE(tag, 5);
  body.copy(b, 7);
  return b;
}

function reply(f) {
  const type = f[4];
  const tag = f.readUInt16LE(5);
  switch (type) {
    case 100: {
      // Rversion: msize[4] version[s]
      const body = Buffer.alloc(4 + 2 + 8);
      body.writeUInt32LE(Math.min(f.readUInt32LE(7), 131072), 0);
      body.writeUInt16LE(8, 4);
      body.write('9P2000.L', 6);
      return frame(101, tag, body);
    }
    case 104: // Rattach: qid[13]
      return frame(105, tag, Buffer.alloc(13, 0x80).fill(0, 1));
    case 110: {
      // Rwalk: nwqid[2] qid[13]*nwqid, nwname at offset 15
      const n = f.readUInt16LE(15);
      const body = Buffer.alloc(2 + 13 * n);
      body.writeUInt16LE(n, 0);
      return frame(111, tag, body);
    }
    case 12: // Rlopen: qid[13] iounit[4]
      return frame(13, tag, Buffer.alloc(17));
    case 116: {
      // Rread: count[4] data — always the 1 KiB the bench reads
      const body = Buffer.allocUnsafe(4 + DATA.length);
      body.writeUInt32LE(DATA.length, 0);
      DATA.copy(body, 4);
      return frame(117, tag, body);
    }
    case 120: // Rclunk
      return frame(121, tag, Buffer.alloc(0));
    default: {
      // Rlerror EOPNOTSUPP
      const body = Buffer.alloc(4);
      body.writeUInt32LE(95, 0);
      return frame(7, tag, body);
    }
  }
}

net
  .createServer((sock) => {
    let pending = null;
    let corked = false;
    const uncork = () => {
      corked = false;
      sock.uncork();
    };
    sock.on('data', (chunk) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      while (buf.length >= 4 && buf.length >= buf.readUInt32LE(0)) {
        const size = buf.readUInt32LE(0);
        if (!corked) {
          corked = true;
          sock.cork();
          process.nextTick(uncork);
        }
        sock.write(reply(buf.subarray(0, size)));
        buf = buf.subarray(size);
      }
      if (buf.length) pending = buf;
    });
    sock.on('error', () => sock.destroy());
  })
  .listen(path, () => console.log(`bare node 9P server on ${path}`));
