/**
 * Serves a VmxHost to other processes over a Unix socket (docs/protocol/sim-wire.md). Each connection is one caller
 * (a vmx-trap launcher, a SocketBackdoorPort); requests are answered in order. A malformed frame
 * or an unknown op closes that connection and logs why; it never disturbs the host or other callers.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { listenPrivately } from 'ninep/runtime';
import type { VmxHost } from './host.js';
import {
  decodeRequest,
  encodeResponse,
  FrameReader,
  HEADER_SIZE,
  HELLO_SIZE,
  hello,
  MAX_PAYLOAD,
  Op,
  PROTOCOL_VERSION,
  parseHello,
  Status,
} from './wire.js';

export interface SimServer {
  server: Server;
  path: string;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Called with a sentence when a connection is dropped for a protocol error. */
  onError?: (message: string) => void;
  /** Callers served at once; more are closed at accept (default 64). */
  maxConnections?: number;
  /**
   * How long a request may take to arrive once its first bytes have (default 30 s); a caller whose
   * request stalls longer is dropped with what it sent. Time between requests is not limited.
   */
  frameTimeoutMs?: number;
}

/** Listens on a Unix socket path (mode 0600; a stale socket file is replaced). */
export async function serveHost(host: VmxHost, path: string, opts: ServeOptions = {}): Promise<SimServer> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket())
      throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    unlinkSync(path);
  }
  const sockets = new Set<Socket>();
  const onError = opts.onError ?? (() => {});
  const maxConnections = opts.maxConnections ?? 64;
  const server = createServer((sock) => {
    if (sockets.size >= maxConnections) {
      onError(`vmx-sim: refusing a caller: ${sockets.size} are connected (at most ${maxConnections})`);
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    handleConnection(host, sock, onError, opts.frameTimeoutMs ?? 30_000);
  });
  // The socket is made 0600 at bind (ninep/runtime), never wider for an instant.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    listenPrivately(server, path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    path,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          if (existsSync(path)) unlinkSync(path);
          resolve();
        });
      }),
  };
}

function handleConnection(
  host: VmxHost,
  sock: Socket,
  onError: (m: string) => void,
  frameTimeoutMs: number,
): void {
  const reader = new FrameReader(HEADER_SIZE - 4 + MAX_PAYLOAD);
  let greeted = false;
  let pid = 0;
  const drop = (why: string) => {
    clearTimeout(stall);
    onError(`vmx-sim: dropping a connection: ${why}`);
    sock.destroy();
  };
  // A request that has begun must be complete within frameTimeoutMs (a trickle does not restart it).
  let stall: NodeJS.Timeout | undefined;
  const watchStall = () => {
    if (!reader.partial && greeted) {
      clearTimeout(stall);
      stall = undefined;
    } else if (!stall) {
      stall = setTimeout(() => drop(`a request stalled for ${frameTimeoutMs} ms`), frameTimeoutMs);
      stall.unref();
    }
  };
  sock.on('close', () => clearTimeout(stall));
  sock.on('error', () => sock.destroy());
  let before = Buffer.alloc(0); // bytes received before the hello was complete
  sock.on('data', (chunk) => {
    try {
      let frames: Buffer[];
      if (!greeted) {
        before = Buffer.concat([before, chunk]);
        if (before.length < HELLO_SIZE) return;
        const parsed = parseHello(before.subarray(0, HELLO_SIZE));
        if (!parsed) return drop('bad hello (not a vmx-sim client)');
        if (parsed.version !== PROTOCOL_VERSION)
          return drop(`protocol version ${parsed.version}, this host speaks ${PROTOCOL_VERSION}`);
        greeted = true;
        pid = parsed.pid;
        sock.write(hello(0));
        frames = reader.push(before.subarray(HELLO_SIZE));
        before = Buffer.alloc(0);
      } else {
        frames = reader.push(chunk);
      }
      for (const f of frames) {
        if (f.length < HEADER_SIZE) return drop(`a ${f.length}-byte frame is shorter than a request header`);
        const q = decodeRequest(f);
        const who = q.pid || pid;
        let r: ReturnType<VmxHost['lowBandwidth']>;
        if (q.op === Op.LB) r = host.lowBandwidth(q.regs, who);
        else if (q.op === Op.HB_OUT) {
          if (q.payload.length !== q.count)
            return drop(`HB OUT announces ${q.count} bytes but carries ${q.payload.length}`);
          r = host.hbOut(q.regs, q.payload, who);
        } else if (q.op === Op.HB_IN) {
          if (q.count > MAX_PAYLOAD) return drop(`HB IN of ${q.count} bytes is over the limit`);
          r = host.hbIn(q.regs, q.count, who);
        } else return drop(`unknown op ${q.op}`);
        if (r.kind === 'silent') continue; // the host never answers: the caller stays blocked
        if (r.kind === 'fault')
          sock.write(encodeResponse({ status: Status.FAULT, regs: q.regs, payload: Buffer.alloc(0) }));
        else
          sock.write(
            encodeResponse({ status: Status.DONE, regs: r.regs, payload: r.data ?? Buffer.alloc(0) }),
          );
      }
      watchStall();
    } catch (e) {
      drop((e as Error).message);
    }
  });
}
