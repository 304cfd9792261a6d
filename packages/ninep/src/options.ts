/**
 * What a server is configured with, shared by the server, its connections and the request
 * handlers (a leaf module: it imports only types, so none of those modules import each other for it).
 */
import type { Dialect } from './constants.js';
import type { Message, MessageFields, TMessage } from './messages.js';
import type { Dir } from './tree.js';

export interface AttachInfo {
  uname: string;
  aname: string;
  nUname: number;
}

export interface ServerOptions {
  /** The tree served to every attach, or a function choosing (or refusing, by throwing) one per attach. */
  root: Dir | ((a: AttachInfo) => Dir | Promise<Dir>);
  /** Largest msize granted (default 1 MiB; a client asking for less gets what it asked). */
  msize?: number;
  /** Dialects offered (default all three). */
  dialects?: Dialect[];
  /** Requests in flight per connection before new ones get EAGAIN (default 1024; Tflush never counts). */
  maxOutstanding?: number;
  /** Fids one connection may hold; a walk or attach past it fails with EMFILE (default 65536). */
  maxFids?: number;
  /**
   * Fids all connections together may hold (default 131072, about 130 MB): without it, a flood
   * spread over many connections would pass any per-connection cap.
   */
  maxTotalFids?: number;
  /**
   * How long a frame may take to arrive once its first bytes have (default 30 s); a connection
   * whose frame stalls longer is dropped. Time between frames (an idle mount) is never limited.
   */
  frameTimeoutMs?: number;
  /** Connections served at once; more are closed at accept (default 256). */
  maxConnections?: number;
  /** The longest name a create or rename may give, in bytes (default 255, Linux's NAME_MAX). */
  maxNameBytes?: number;
  /** How long a flushed request may take to notice its AbortSignal before the Rflush goes out anyway. */
  flushGraceMs?: number;
  /** Plan 9 permission checks against the attach user (default true). */
  permissions?: boolean;
  /** Figures for Rstatfs (`df`). */
  statfs?: () => Partial<MessageFields['Rstatfs']>;
  /** Diagnostics (malformed frames, dropped connections). */
  log?: (line: string) => void;
  /** Every message in and out, for debugging and golden traces. */
  trace?: (dir: '<-' | '->', msg: Message) => void;
  /** Told of each connection served and each well-formed request received (e.g. for statistics). */
  observer?: ServerObserver;
}

/** What a server reports as it works; every method is optional and must not throw. */
export interface ServerObserver {
  /** A client connected (or a stream began to be served). */
  connection?(): void;
  /** A request arrived and was decoded (Tversion and Tflush included). */
  request?(type: TMessage['type']): void;
}

/**
 * The largest frame accepted before a Tversion is agreed: Tversion itself is a few dozen bytes, so
 * a client cannot make the server buffer a megabyte before it has even said it speaks 9P.
 */
export const VERSION_FRAME_MAX = 8192;

/** Server options with their defaults filled in, as a connection sees them. */
export type ResolvedServerOptions = ServerOptions & {
  msize: number;
  maxOutstanding: number;
  maxFids: number;
  maxTotalFids: number;
  frameTimeoutMs: number;
  maxConnections: number;
  maxNameBytes: number;
  flushGraceMs: number;
  dialects: Dialect[];
};
