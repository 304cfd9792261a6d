/**
 * Drag and drop with the host (docs/protocol/tree.md §18), as vmusr's dndcp and hgfsServer
 * plugins do it together on the user session's channel `toolbox-dnd`, without a display:
 *
 * - capabilities `tools.capability.dnd_version 4` and `tools.capability.hgfs_server toolbox-dnd 1`
 *   (the second with a trailing NUL, and `0` when the agent stops, as the hgfsServer plugin sends
 *   it: docs/protocol/hgfs.md, "Server role");
 * - `Set_Option enableDnD 1` negotiates (version query, PING), any other accepted value turns it
 *   off; the host's `dnd.transport` packets go to @vmw9/dndcp's DndGuest;
 * - the host's TCLO `f` goes to @vmw9/hgfs's HgfsServer over GuestShares, which serves nothing but
 *   what is granted: a drop's staging directory, writable up to the size its file list announced,
 *   from SRC_DROP_DONE until the drop ends; the offered paths, read-only, while offered;
 * - every HGFS request under the drop's directory (or the offer's paths) tells the engine there
 *   is activity (its idle timer, the bytes done); a request the host should not have made (a path
 *   outside the grant, a write past the announced size, a packet that does not decode) fails the
 *   drop;
 * - a drop that completes is renamed `drop.*` in the staging root and announced on dnd/events; a
 *   failed or cancelled one is removed and announced as failed, never as a drop.
 *
 * With [dnd] enabled = false it does nothing and registers nothing; the copypaste service then
 * takes `enableDnD` as vmusr does (accepted, nothing done).
 */
import { realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TCLO_UNKNOWN_COMMAND } from '@vmw9/backdoor';
import {
  CapabilityName,
  CpOption,
  DND_TRANSPORT,
  DNDCP_TCLO_APP,
  DNDCP_VERSION,
  DndCpDecodeError,
  type DndEndCode,
  DndGuest,
  type DndSetTimer,
  type DndStatus,
} from '@vmw9/dndcp';
import type { DndTreeEvent, DndTreeOffer, DndTreeSource, DndTreeStatus } from '@vmw9/fs';
import {
  type Grant,
  GuestShares,
  type HgfsOpRecord,
  HgfsServer,
  hgfsTcloResult,
  type RefusalKind,
} from '@vmw9/hgfs';
import { binaryTclo } from '@vmw9/rpc';
import type { User } from 'ninep';
import { isUnder, measure } from '../dnd-files.js';
import type { AgentService, OptionHandler, ServiceContext } from '../service.js';
import { defaultStagingRoot, prepareStagingRoot, StagingArea, StagingError } from '../staging.js';

/** The values vmusr accepts for `enableDnD`; only `1` enables (docs/protocol/guestrpc.md §9). */
const OPTION_VALUES = new Set(['0', '1', '2']);

/** The hgfsServer plugin's capability, on vmusr's channel (docs/protocol/hgfs.md, "Server role"). */
const HGFS_SERVER_CAPABILITY = `tools.capability.hgfs_server ${DNDCP_TCLO_APP}`;

/** Offer end codes that mean the guest took its offer back (`withdrawn`), not the host's drag ending. */
const WITHDRAWN: ReadonlySet<DndEndCode> = new Set<DndEndCode>(['local-cancel', 'replaced', 'disabled']);

/**
 * Why the agent ended a drop: the engine's words, and `outside` (the host named a path outside the
 * staging directory), which only the HGFS side sees.
 */
type FaultCode = DndEndCode | 'outside';

/** The drop being received: its directory and grant, once staged. */
interface Drop {
  id: number;
  items: number;
  announced: number;
  dir?: string;
  grant?: Grant;
  /** The fault the agent ended it for. */
  fault?: { code: FaultCode; reason: string };
  /**
   * Handles (`#N`, the records' path for handle operations) the host read through under dir: the
   * CLOSE_V3 of one is no file written (an empty file is written without a WRITE_V3).
   */
  reading: Set<string>;
}

interface OfferRecord extends DndTreeOffer {
  grants: Grant[];
  /**
   * Taken (DEST_DROP): the offer is used up, but its paths stay readable while the host goes on
   * reading them, until `[dnd] idle-timeout` passes with no request under them; this cancels that.
   */
  lingering?: () => void;
}

export interface DndService extends AgentService {
  readonly guest: DndGuest | null;
  readonly staging: StagingArea | null;
  readonly server: HgfsServer<GuestShares> | null;
  readonly tree: DndTreeSource | null;
}

export function dndService(ctx: ServiceContext): DndService {
  const c = ctx.config.dnd;
  if (!c.enabled) return { name: 'dnd', guest: null, staging: null, server: null, tree: null };
  const log = ctx.logger;
  const root = c.dir ?? defaultStagingRoot().root;
  // Made safe now, while the agent starts. A root that cannot be used turns drag and drop off,
  // said in the log: the agent's other services go on (a read-only home under systemd, say).
  try {
    const { repaired } = prepareStagingRoot(root);
    if (repaired) log.warn({ dir: root, repaired }, 'the drag-and-drop staging directory was not private');
  } catch (e) {
    if (!(e instanceof StagingError)) throw e;
    log.error({ dir: root, err: e.reason }, `drag and drop is off: ${e.message}`);
    return unavailable(ctx);
  }
  const staging = new StagingArea({
    root,
    keepMs: c.keepMs,
    ...(ctx.startOptions.now ? { now: ctx.startOptions.now } : {}),
    log: (msg, fields) => log.info(fields, msg),
  });
  const shares = new GuestShares();
  const listeners = new Set<(e: DndTreeEvent) => void>();
  const publish = (e: DndTreeEvent) => {
    for (const l of [...listeners]) l(e);
  };

  let drop: Drop | undefined;
  let offer: OfferRecord | undefined;
  /** The guest's own switch (dnd/ctl on|off). */
  let enabled = true;
  /** The host's last `enableDnD` value. */
  let hostValue: string | undefined;
  /** Version 4 was negotiated at least once: vmusr's transport handler exists from then on. */
  let negotiatedOnce = false;
  let capsRegistered = false;
  let enabling: Promise<void> | undefined;
  /** Work on drops still running (writing data files, renames, removals). */
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const guest = new DndGuest({
    rpc: {
      async send(request) {
        const r = await ctx.rpc.send(request);
        return { ok: r.ok, reply: r.reply };
      },
    },
    staging: {
      create: (dropId) => staging.create(dropId),
      // The engine discards a failed drop's directory: it is closed to HGFS before it goes.
      discard: async (dir) => {
        if (drop?.dir === dir) drop.grant?.revoke();
        await staging.discard(dir);
      },
    },
    timeouts: { idleTransferMs: c.idleTimeoutMs },
    ...(ctx.startOptions.dndSetTimer ? { setTimer: ctx.startOptions.dndSetTimer } : {}),
    ...(ctx.startOptions.now ? { now: ctx.startOptions.now } : {}),
  });

  /**
   * Ends the drop in progress for a fault the agent saw (on the HGFS side, or a packet): the engine
   * ends it as a local cancel, and its `failed` line says the agent's word for why.
   */
  const failDrop = (code: FaultCode, reason: string) => {
    if (!drop || drop.fault) return;
    drop.fault = { code, reason };
    log.info({ dropId: drop.id, code }, `drag and drop: ${reason}; the drop fails`);
    guest.cancel(reason);
  };

  guest.on('error', (e: Error) => {
    const detail =
      e instanceof DndCpDecodeError
        ? { err: e.message, field: e.field, ...(e.offset === undefined ? {} : { offset: e.offset }) }
        : { err: e.message };
    log.info(detail, `drag and drop: ${e.message}`);
    // A packet that does not decode in the middle of a drop is that drop's end: nothing of a
    // transfer the host got wrong is announced.
    if (drop && e instanceof DndCpDecodeError)
      failDrop('protocol', `a bad packet from the host: ${e.message}`);
  });
  guest.on('drop-begin', (b) => {
    const items = b.fileList?.relNames.length ?? 0;
    const announced = Number(b.fileList?.totalSize ?? 0n);
    drop = { id: b.dropId, items, announced, reading: new Set() };
    publish({ type: 'begin', id: b.dropId, items, bytes: announced });
  });
  guest.on('drop-staged', (s) => {
    if (drop?.id !== s.dropId) return;
    drop.dir = s.dir;
    // Writable up to what the file list announced (a u64: past 2^53 bytes, no limit a disk could
    // reach); nothing else of the guest is reachable. A directory that cannot be granted fails the
    // drop before SRC_DROP_DONE goes out.
    try {
      drop.grant = shares.grantWrite(s.dir, {
        maxBytes: Math.min(drop.announced, Number.MAX_SAFE_INTEGER),
      });
    } catch (e) {
      failDrop('staging', `the staging directory cannot be opened to the host: ${(e as Error).message}`);
    }
  });
  guest.on('drop-done', (d) => {
    const current = drop?.id === d.dropId ? drop : undefined;
    drop = undefined;
    current?.grant?.revoke();
    track(
      (async () => {
        try {
          for (const f of d.data ?? []) await writeFile(join(d.dir, f.name), f.data, { mode: 0o600 });
          const m = await measure([d.dir]);
          const path = await staging.complete(d.dir);
          publish({ type: 'drop', id: d.dropId, files: m.files, bytes: m.bytes, path });
          log.info(
            { dropId: d.dropId, files: m.files, bytes: m.bytes, path },
            'drag and drop: a drop arrived',
          );
        } catch (e) {
          await staging.discard(d.dir).catch(() => undefined);
          publish({ type: 'failed', id: d.dropId, reason: `staging ${(e as Error).message}` });
          log.warn(
            { dropId: d.dropId, err: (e as Error).message },
            'drag and drop: a drop could not be kept',
          );
        }
      })(),
    );
  });
  guest.on('drop-failed', (f) => {
    const fault = drop?.id === f.dropId ? drop.fault : undefined;
    if (drop?.id === f.dropId) {
      drop.grant?.revoke();
      drop = undefined;
    }
    const code = f.code === 'local-cancel' && fault ? fault.code : f.code;
    publish({ type: 'failed', id: f.dropId, reason: `${code} ${f.reason}` });
    log.info({ dropId: f.dropId, code: f.code, reason: f.reason }, 'drag and drop: a drop failed');
  });
  const setTimer: DndSetTimer =
    ctx.startOptions.dndSetTimer ??
    ((fire, ms) => {
      const t = setTimeout(fire, ms);
      t.unref();
      return () => clearTimeout(t);
    });
  /** The offer's grants revoked: nothing of it is served any more. */
  const dropOffer = () => {
    if (!offer) return;
    offer.lingering?.();
    for (const g of offer.grants) g.revoke();
    offer = undefined;
  };
  const endOffer = (offerId: number) => {
    if (offer?.id === offerId) dropOffer();
  };
  /**
   * Whether a VMware host reads an offer's files before or after its DEST_DROP is not known
   * (docs/protocol/tree.md §18): after it, the paths stay served while the host keeps reading.
   */
  const linger = (o: OfferRecord) => {
    o.lingering?.();
    o.lingering = setTimer(() => {
      o.lingering = undefined;
      if (offer === o) dropOffer();
    }, c.idleTimeoutMs);
  };
  guest.on('offer-entered', (o) =>
    log.info({ offerId: o.offerId }, 'drag and drop: the host is dragging the offer'),
  );
  guest.on('offer-taken', (o) => {
    if (offer?.id === o.offerId) linger(offer);
    publish({ type: 'taken', id: o.offerId });
    log.info({ offerId: o.offerId }, 'drag and drop: the host took the offer');
  });
  guest.on('offer-cancelled', (o) => {
    endOffer(o.offerId);
    publish(
      WITHDRAWN.has(o.code)
        ? { type: 'withdrawn', id: o.offerId }
        : { type: 'cancelled', id: o.offerId, reason: `${o.code} ${o.reason}` },
    );
  });

  /** Every HGFS request the host made: activity of the drop or the offer it concerns, or a fault. */
  const observe = (rec: HgfsOpRecord) => {
    const d = drop;
    if (d?.dir && rec.realPath !== undefined && isUnder(rec.realPath, d.dir)) {
      const refused = rec.refusal !== undefined ? hostFault(rec) : undefined;
      if (rec.status === 'NO_SPACE')
        failDrop('over-size', `the host wrote past the ${d.announced} bytes its file list announced`);
      // A name inside that leads out (a symlink made to outside): as a path named outside.
      else if (refused) failDrop(refused.code, refused.reason);
      else {
        // Only data written counts toward the announced total, and only a file written to is a
        // file done: a host may read back what it wrote (activity all the same).
        const handle = rec.path ?? '';
        if (rec.op === 'READ_V3') d.reading.add(handle);
        const closed = rec.op === 'CLOSE_V3' && rec.status === 'SUCCESS';
        const fileDone = closed && !d.reading.has(handle);
        if (closed) d.reading.delete(handle);
        guest.transferActivity(rec.op === 'WRITE_V3' ? (rec.bytes ?? 0) : 0, { fileDone });
      }
      return;
    }
    const fault = d?.dir ? hostFault(rec) : undefined;
    if (fault) {
      failDrop(fault.code, fault.reason);
      return;
    }
    if (offer && rec.realPath !== undefined && offer.paths.some((p) => isUnder(rec.realPath!, p))) {
      if (offer.lingering) linger(offer);
      else guest.transferActivity(rec.bytes ?? 0);
    }
  };
  const server = new HgfsServer({ shares, observe });

  const enable = (): Promise<void> => {
    enabling = guest.enable().then((version) => {
      if (guest.active) {
        negotiatedOnce = true;
        log.info({ version, caps: guest.hostCaps }, 'drag and drop version 4 negotiated');
      } else log.info({ version }, 'the host does not offer drag and drop version 4');
    });
    return enabling;
  };

  const onOption: OptionHandler = async (value) => {
    if (!OPTION_VALUES.has(value)) throw new Error('Unknown or invalid option');
    hostValue = value;
    // As vmusr, inside the Set_Option handler: the version query and the PING go out before the
    // host has the answer.
    if (value === '1' && enabled) return enable();
    guest.disable();
    if (value !== '1') log.info({ value }, 'the host turned drag and drop off');
  };

  const tree: DndTreeSource = {
    subscribe(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    status: () => treeStatus(guest.status(), offer?.lingering ? undefined : offer),
    settings: () => ({
      enabled,
      state: !enabled ? 'off' : guest.active ? guest.state : 'not-negotiated',
      staging: staging.root,
    }),
    offered: () =>
      offer && !offer.lingering
        ? { id: offer.id, files: offer.files, bytes: offer.bytes, paths: offer.paths }
        : undefined,
    async checkPath(path, user) {
      await measure([path], readerOf(user));
    },
    async offer(named, user) {
      if (!enabled) throw new Error('drag and drop is off (write on to dnd/ctl)');
      // What the host is told and reads: the real paths (the HGFS server serves only where a name
      // really leads, so a path through a symlink would be refused).
      const paths = await Promise.all(named.map((p) => realpath(p)));
      // Checked again at the commit: what the writer may read then is what the host is given.
      const m = await measure(paths, readerOf(user));
      const grants: Grant[] = [];
      let id: number;
      try {
        // One path gone since it was measured fails the grant: those made before it go too.
        for (const p of paths) grants.push(shares.grantRead(p));
        id = guest.offer(
          paths.map((path) => ({ path })),
          { totalBytes: m.bytes },
        );
      } catch (e) {
        for (const g of grants) g.revoke();
        throw e;
      }
      // A taken offer still being read is replaced by the new one (the engine's offer is already gone).
      if (offer?.lingering) dropOffer();
      offer = { id, files: m.files, bytes: m.bytes, paths: [...paths], grants };
      publish({ type: 'offer', id, files: m.files, bytes: m.bytes });
      log.info({ offerId: id, files: m.files, bytes: m.bytes }, 'drag and drop: files offered to the host');
      return { id, files: m.files, bytes: m.bytes, paths: [...paths] };
    },
    withdraw: () => {
      if (offer?.lingering) dropOffer();
      guest.withdraw();
    },
    cancel: () => guest.cancel('cancelled in the guest (dnd/ctl)'),
    async setEnabled(on) {
      if (on === enabled) return;
      enabled = on;
      if (!on) {
        if (offer?.lingering) dropOffer();
        guest.withdraw();
        guest.disable();
        log.info('drag and drop switched off in the guest');
      } else if (hostValue === '1') await enable();
    },
  };

  return {
    name: 'dnd',
    app: DNDCP_TCLO_APP,
    guest,
    staging,
    server,
    tree,
    capabilities: { [CapabilityName.guestDndVersion]: DNDCP_VERSION },
    // A READ_V3 reply of a host that negotiated large packets (docs/protocol/hgfs.md "Packet sizes").
    tcloReplyMax: server.maxPacketSize,
    async onCapabilities() {
      // As the hgfsServer plugin: with its NUL, and a failure only logged (an old host lacks it).
      const r = await ctx.rpc
        .send(Buffer.from(`${HGFS_SERVER_CAPABILITY} 1\0`, 'latin1'))
        .catch((e: Error) => e);
      if (r instanceof Error || !r.ok)
        log.info(
          { err: r instanceof Error ? r.message : r.text },
          'the host refused the hgfs_server capability',
        );
      else capsRegistered = true;
    },
    options: { [CpOption.enableDnd]: onOption },
    commands: {
      // Binary: the packet is the bytes after the command word's space.
      [DND_TRANSPORT]: binaryTclo(async (request) => {
        if (!guest.active) {
          // vmusr has no handler until version 4 is first negotiated (docs/protocol/dndcp.md §2.1).
          if (!negotiatedOnce) throw new Error(TCLO_UNKNOWN_COMMAND);
          return '';
        }
        if (request.args.length === 0) throw new Error('invalid arg size');
        await guest.handleTransport(request.args);
        return '';
      }),
      // The host's HGFS requests: the guest's server (docs/protocol/hgfs.md, "Server role").
      // The whole message: `f` alone and `f ` with nothing after it are answered differently.
      f: binaryTclo((request) => hgfsTcloResult(server, request.raw)),
    },
    treeHooks: { dnd: tree },
    start() {
      track(
        staging.cleanup().then(({ removed }) => {
          if (removed.length)
            log.info({ removed: removed.length }, 'drag and drop: old staged drops removed');
        }),
      );
    },
    onReset() {
      // The host sends its options again after a reset; a drag in progress ends with it.
      guest.disable();
      server.reset();
    },
    stop() {
      dropOffer();
      guest.withdraw();
      guest.disable();
      staging.stop();
    },
    async settle() {
      await enabling;
      await guest.settled();
      while (pending.size > 0) await Promise.all([...pending]);
      if (capsRegistered) {
        // The hgfsServer plugin unregisters at unload.
        await ctx.rpc.send(Buffer.from(`${HGFS_SERVER_CAPABILITY} 0\0`, 'latin1')).catch(() => undefined);
      }
    },
  };
}

/**
 * The service when its staging directory cannot be used: nothing registered, no dnd/, and the
 * host's `enableDnD` accepted as vmusr accepts it (the option must have an owner on toolbox-dnd).
 */
function unavailable(ctx: ServiceContext): DndService {
  const accept: OptionHandler = (value) => {
    if (!OPTION_VALUES.has(value)) throw new Error('Unknown or invalid option');
    ctx.logger.debug({ value }, 'the host set drag and drop, which is off: no usable staging directory');
  };
  return {
    name: 'dnd',
    app: DNDCP_TCLO_APP,
    guest: null,
    staging: null,
    server: null,
    tree: null,
    options: { [CpOption.enableDnd]: accept },
  };
}

/**
 * Whose access an offer is checked against (docs/protocol/tree.md §18): the agent's own when the
 * 9P user who wrote dnd/offer is the agent's effective uid (undefined), else that user's uid by
 * the mode bits. dnd/offer is writable by any local user, and the agent may read more than they.
 */
function readerOf(user: User | undefined): number | undefined {
  const euid = process.geteuid?.();
  if (!user || (euid !== undefined && user.nUname === euid)) return undefined;
  return user.nUname;
}

/** Refusals that mean the name leads outside what is granted (not a missing directory inside). */
const OUTSIDE: ReadonlySet<RefusalKind> = new Set<RefusalKind>(['escape', 'no-share', 'invalid-name']);

/**
 * A request of the host's that no well-behaved host makes during a drop, by the server's record of
 * it (docs/protocol/hgfs.md, "The guest's shares"): a name the share policy refused as outside
 * every grant, or one the decoder refused (a `..` component: INVALID_NAME), is `outside`; any
 * other packet that did not decode is `protocol`.
 */
function hostFault(rec: HgfsOpRecord): { code: FaultCode; reason: string } | undefined {
  const refusedName = rec.refusal !== undefined && OUTSIDE.has(rec.refusal);
  const undecodableName = rec.malformed === true && rec.status === 'INVALID_NAME';
  if (refusedName || undecodableName)
    return {
      code: 'outside',
      reason: `the host named ${rec.path ?? 'a path'} outside the staging directory (${rec.op} ${rec.status})`,
    };
  if (rec.malformed)
    return { code: 'protocol', reason: `an HGFS request that does not decode (${rec.detail ?? rec.op})` };
  return undefined;
}

/** dnd/status from the engine's status and the offer's counts. */
function treeStatus(s: DndStatus, offer: OfferRecord | undefined): DndTreeStatus {
  if (s.dropId !== undefined && s.bytes)
    // The engine's file total counts a folder as one: how many files a drop holds is not announced.
    return { kind: 'receiving', id: s.dropId, files: { done: s.files?.done ?? 0 }, bytes: { ...s.bytes } };
  if (offer) return { kind: 'offering', id: offer.id, files: offer.files, bytes: offer.bytes };
  return { kind: 'idle' };
}
