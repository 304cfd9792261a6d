/**
 * A 9P server: a file tree (or a function choosing one per attach) served on TCP, Unix sockets
 * or any already-open stream. Safe by default: a Unix socket with mode 0600 in a private runtime
 * directory; TCP only when asked and on loopback unless given an address; per-connection caps.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Connection } from './connection.js';
import { DIALECTS } from './constants.js';
import { type DialAddress, formatDial, parseDial } from './dial.js';
import { ExclusiveUse } from './fid.js';
import type { ResolvedServerOptions, ServerOptions } from './options.js';
import { listenPrivately, runtimeDir, unixSocketState } from './runtime.js';

export type { AttachInfo, ServerOptions } from './options.js';

export interface ListenOptions {
  /** Unix socket mode (default 0o600). */
  mode?: number;
  /** Socket file name in the runtime directory when no address is given (default `ninep.<pid>.sock`). */
  name?: string;
}

export interface Listener {
  /** The address as a dial string (with the real port when 0 was asked). */
  readonly address: string;
  readonly dial: DialAddress;
  close(): Promise<void>;
}

export class NinepServer {
  readonly options: ResolvedServerOptions;
  readonly connections = new Set<Connection>();
  /** DMEXCL files open through this server's fids (another server serving the same tree has its own). */
  readonly exclusive = new ExclusiveUse();
  private readonly listeners = new Set<Server>();

  constructor(options: ServerOptions) {
    this.options = {
      msize: 1 << 20,
      maxOutstanding: 1024,
      maxFids: 65536,
      maxTotalFids: 131072,
      frameTimeoutMs: 30_000,
      maxConnections: 256,
      maxNameBytes: 255,
      flushGraceMs: 2000,
      dialects: [...DIALECTS],
      ...options,
    };
  }

  /** Serves one already-open stream (a socket, a pipe pair, stdin/stdout). */
  serve(input: Readable, output: Writable = input as unknown as Writable): Connection {
    const c = new Connection(this.options, input, output, this.exclusive, () => this.fidsHeld());
    this.connections.add(c);
    this.options.observer?.connection?.();
    c.onClose(() => this.connections.delete(c));
    return c;
  }

  /** Fids held or being made by every connection (bounded by maxTotalFids). */
  fidsHeld(): number {
    let n = 0;
    for (const c of this.connections) n += c.fids.size + c.reservedFids;
    return n;
  }

  /**
   * Listens on a dial string: `unix!PATH`, `tcp!HOST!PORT`, `tcp!PORT` (loopback). Without one,
   * a Unix socket in the runtime directory.
   */
  async listen(addr?: string, opts: ListenOptions = {}): Promise<Listener> {
    const dial: DialAddress = addr
      ? parseDial(addr)
      : { net: 'unix', path: join(runtimeDir(), opts.name ?? `ninep.${process.pid}.sock`) };
    const srv = createServer((sock: Socket) => {
      if (this.connections.size >= this.options.maxConnections) {
        this.options.log?.(
          `ninep: refusing a connection: ${this.connections.size} are open (maxConnections ${this.options.maxConnections})`,
        );
        sock.destroy();
        return;
      }
      sock.setNoDelay?.(true);
      this.serve(sock);
    });
    if (dial.net === 'unix') await removeStaleSocket(dial.path);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      if (dial.net === 'unix') listenPrivately(srv, dial.path, resolve);
      else srv.listen(dial.port, dial.host, resolve);
    });
    if (dial.net === 'unix') chmodSync(dial.path, opts.mode ?? 0o600);
    this.listeners.add(srv);
    const bound: DialAddress =
      dial.net === 'tcp' ? { ...dial, port: (srv.address() as { port: number }).port } : dial;
    return {
      address: formatDial(bound),
      dial: bound,
      close: () =>
        new Promise<void>((resolve) => {
          this.listeners.delete(srv);
          srv.close(() => resolve());
        }),
    };
  }

  /** Stops listening and drops every connection (pending requests are aborted, fids clunked). */
  async close(): Promise<void> {
    const closing = [...this.listeners].map((s) => new Promise<void>((r) => s.close(() => r())));
    this.listeners.clear();
    for (const c of this.connections) c.close();
    await Promise.all(closing);
  }
}

/** A socket file nobody answers on is left over from a dead server: remove it; a live one is EADDRINUSE. */
async function removeStaleSocket(path: string): Promise<void> {
  const state = await unixSocketState(path);
  if (state === 'absent') return;
  if (state === 'not-socket') throw new Error(`${path} exists and is not a socket`);
  if (state === 'live') throw new Error(`${path}: a server is already listening there`);
  if (state === 'denied') throw new Error(`${path}: permission denied`);
  unlinkSync(path);
}
