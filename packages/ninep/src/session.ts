/**
 * What a request handler (operations.ts) sees of the conversation it serves: the negotiated
 * dialect and sizes, the fid table and the server's configuration. A connection is one; keeping
 * the handlers on this interface keeps them from importing the connection that calls them.
 */
import type { Dialect } from './constants.js';
import type { ExclusiveUse, Fid } from './fid.js';
import type { ResolvedServerOptions } from './options.js';

export interface Session {
  readonly dialect: Dialect;
  readonly fids: Map<number, Fid>;
  /** New fids that walks and attaches still running will make: they count against maxFids too. */
  reservedFids: number;
  readonly options: ResolvedServerOptions;
  /** The server's exclusive-use table (DMEXCL). */
  readonly exclusive: ExclusiveUse;
  /** The most data one Rread/Twrite/Rreaddir may carry. */
  readonly iounit: number;
  /** Fids held and reserved by every connection of the server (counted against maxTotalFids). */
  serverFids(): number;
}
