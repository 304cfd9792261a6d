/**
 * The share policy an HgfsServer is given: which names it serves and where they are. The server
 * asks it on every request; a policy turns a request's CPName components into a real location
 * confined to where it allows, or refuses the name (docs/protocol/hgfs.md, "Server role", "Names
 * and confinement"). HostShares (shares.ts) is a host's; GuestShares (guest.ts) the guest's.
 */

/** What a name resolves into: the unit a policy grants, and the unit the server closes handles by. */
export interface Share {
  /** The name the client sees: the first component of every HGFS path (`.host:/NAME` to vmhgfs-fuse). */
  readonly name: string;
  /** The confinement root: a real path (symlinks resolved); nothing outside it is served. */
  readonly root: string;
  /** True: the client may read but never change anything in it. */
  readonly readOnly: boolean;
  /** Counts, and may limit, the data WRITE_V3 puts under it (GuestShares' grantWrite). */
  readonly writes?: WriteAccount;
}

/** The data written into a share: how much more may be, and what was. */
export interface WriteAccount {
  /** Data bytes that may still be written (Infinity: no limit). A WRITE_V3 of more is NO_SPACE. */
  readonly remaining: number;
  /** A WRITE_V3 put `bytes` data bytes under the share. */
  wrote(bytes: number): void;
}

export type Location =
  /** The empty name: the virtual directory whose entries are the shares. */
  | { kind: 'root' }
  | {
      kind: 'path';
      share: Share;
      /** The real path to operate on: a confined parent, then the last component as given. */
      path: string;
      /** True when the name is the share itself (no component after the share name). */
      shareRoot: boolean;
    };

export interface ResolveOptions {
  /**
   * Follow a symlink in the last component and check where it points (default false: the last
   * component is left as it is, and the caller never follows it).
   */
  followFinal?: boolean;
}

/** The policy an HgfsServer is given: which names it serves, and where they are. */
export interface ShareTable {
  /** The share a first component names (the virtual root's entries), if any. */
  get(name: string): Share | undefined;
  /** The shares the virtual root lists, in the order it lists them. */
  list(): readonly Share[];
  /**
   * CPName components (share name first) to a real location, or a PathRefused (paths.ts) saying
   * why not. The empty name is the virtual root.
   */
  resolve(components: readonly string[], opts?: ResolveOptions): Location;
  /**
   * The server registers here to hear of a share being withdrawn: it then closes the files and
   * searches the client had open in it.
   */
  onWithdraw(listener: (share: Share) => void): void;
}
